// bench's command line: the suite's own flags and every family's, parsed and validated before
// Google Benchmark sees the command line.
#pragma once

#include <string>
#include <vector>

#include "workloads/family.h"
#include "workloads/options.h"

namespace parbench {

// Every flag bench accepts besides Google Benchmark's: the suite's own (workers, executors,
// tasks, task_timeout_s, timeline_out), then each family's in table order.
[[nodiscard]] std::vector<FlagSpec> AllFlags();

// What the command line asked for.
struct ParsedFlags {
  Options options;    // every flag in AllFlags(), set or default
  bool help = false;  // --help was given: print and exit
  // Google Benchmark's --benchmark_out (left in argv for it), and whether it writes JSON.
  std::string benchmark_out;
  bool benchmark_out_json = true;
  bool list_tests = false;  // --benchmark_list_tests: names only, nothing runs
};

// Removes the suite's and families' flags from argv (shifting the rest down and updating
// argc) and returns them validated; Google Benchmark's own flags are left in place. Throws
// FlagError naming the flag and what it allows. `cpus` is the number of CPUs the run can use
// (the default worker counts follow it).
[[nodiscard]] ParsedFlags ParseFlags(int* argc, char** argv, int cpus);

// Checks, before anything runs, that the files written after the run can be written: the
// trace (--timeline_out, or next to --benchmark_out) exists or can be created, and is not the
// results file. Throws FlagError with the reason.
void CheckOutputs(const ParsedFlags& parsed);

// The worker counts of --workers, and whether the user gave them.
[[nodiscard]] SuiteWorkers WorkersFlag(const Options& options);

// The defaults alone, as ParseFlags with no arguments would give them (tests start here).
[[nodiscard]] Options DefaultOptions(int cpus);

// The help text: every flag with its default and limits, the executors and the families.
[[nodiscard]] std::string FlagsHelp(int cpus);

}  // namespace parbench
