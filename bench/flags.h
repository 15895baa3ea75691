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
  bool benchmark_out_given = false;  // --benchmark_out=... was given (even empty)
  bool list_tests = false;           // --benchmark_list_tests: names only, nothing runs
  // Google Benchmark's flags the profile would otherwise set, when the command line gives them.
  bool min_time_given = false;     // --benchmark_min_time
  bool repetitions_given = false;  // --benchmark_repetitions
  // --benchmark_format (not given: bench's own console; given: Google Benchmark's reporter).
  std::string benchmark_format;
  // Why no default results file is written ("" when one is, or --benchmark_out was given).
  std::string no_results_file;
};

// Where bench writes its JSON when --benchmark_out is not given (in the current directory).
inline constexpr std::string_view kDefaultResultsFile = "parbench-run.json";

// The Google Benchmark flags bench adds to the command line: the profile's minimum time and
// repetitions unless given, and --benchmark_out=parbench-run.json (JSON) unless an output was
// given or nothing runs (--help, --benchmark_list_tests). Also sets parsed->benchmark_out.
[[nodiscard]] std::vector<std::string> AddedBenchmarkFlags(ParsedFlags* parsed);

// Removes the suite's and families' flags from argv (shifting the rest down and updating
// argc) and returns them validated; Google Benchmark's own flags are left in place. Throws
// FlagError naming the flag and what it allows. `cpus` is the number of CPUs the run can use
// (the default worker counts follow it).
[[nodiscard]] ParsedFlags ParseFlags(int* argc, char** argv, int cpus);

// Checks, before anything runs, that the files written after the run can be written: the
// trace (--timeline_out, or next to --benchmark_out) exists or can be created, and is not the
// results file. Throws FlagError with the reason.
void CheckOutputs(const ParsedFlags& parsed);

// The worker counts of --workers, and whether the user gave them; not given, the profile's
// defaults (ParseFlags sets them: quick, 1 and the usable CPUs; full, 1, 2, 4, 8 and the CPUs).
[[nodiscard]] SuiteWorkers WorkersFlag(const Options& options);

// The defaults alone, as ParseFlags with no arguments would give them (tests start here).
[[nodiscard]] Options DefaultOptions(int cpus);

// The help text: every flag with its default and limits, the executors and the families.
[[nodiscard]] std::string FlagsHelp(int cpus);

}  // namespace parbench
