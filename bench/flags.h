// The suite's own flags (--workers, --tasks, --cpu_n, ...), parsed and validated before
// Google Benchmark sees the command line.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace parbench {

// A bad suite flag. what() is the one line the user sees.
class FlagError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct SuiteOptions {
  std::vector<int> workers;            // worker counts to register, sorted, no duplicates
  std::uint32_t tasks = 16;            // tasks per iteration (strong scaling: fixed work)
  std::int64_t cpu_n = 12'000'000;     // loop steps per cpu task (about 20 ms here)
  std::int64_t task_timeout_s = 300;   // a task running longer is reported and its worker killed
  std::string timeline_out;            // the Chrome trace file ("" = none)
  bool help = false;                   // --help was given: print and exit
};

// Removes the suite flags from argv (shifting the rest down and updating argc) and returns
// them validated; Google Benchmark's own flags are left in place. Throws FlagError naming the
// flag and what it allows. `hardware_threads` is the machine's core count (a default worker
// count).
[[nodiscard]] SuiteOptions ParseSuiteFlags(int* argc, char** argv, int hardware_threads);

// The suite flags' help text, with their defaults and limits.
[[nodiscard]] std::string SuiteFlagsHelp(int hardware_threads);

}  // namespace parbench
