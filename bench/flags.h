// The suite's own flags (--workers, --tasks, --cpu_n, ...), parsed and validated before
// Google Benchmark sees the command line.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace parbench {

// A bad suite flag. what() is the one line the user sees.
class FlagError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Defaults are the suite's defaults; --help prints them from here.
struct SuiteOptions {
  std::vector<int> workers;                  // worker counts, sorted, no duplicates
  std::int64_t tasks = 16;                   // tasks per iteration (strong scaling: fixed work)
  std::int64_t cpu_n = 12'000'000;           // cpu: loop steps per task (about 20 ms here)
  std::int64_t api_latency_ms = 20;          // api: the loopback server's wait per request
  std::int64_t api_bytes = 64 * 1024;        // api: the loopback server's body size
  std::int64_t api_timeout_ms = 10'000;      // api: curl's limit per request
  std::string api_url;                       // api: a real endpoint instead of the server
  std::int64_t io_bytes = 16 << 20;          // io: bytes each task writes
  std::string io_dir;                        // io: where the private temp dir goes
  std::int64_t dot_n = 1024;                 // dot: matrix order
  std::int64_t overhead_tasks = 10'000;      // overhead: empty tasks per iteration
  std::int64_t transfer_tasks = 8;           // transfer: round trips per iteration
  std::vector<std::int64_t> transfer_sizes = {4 << 10, 1 << 20, 16 << 20, 64 << 20};
  std::int64_t task_timeout_s = 300;         // a longer task fails its benchmark
  std::string timeline_out;                  // the Chrome trace file ("" = none)
  bool help = false;                         // --help was given: print and exit
};

// Removes the suite flags from argv (shifting the rest down and updating argc) and returns
// them validated; Google Benchmark's own flags are left in place. Throws FlagError naming the
// flag and what it allows. `hardware_threads` is the machine's core count (a default worker
// count).
[[nodiscard]] SuiteOptions ParseSuiteFlags(int* argc, char** argv, int hardware_threads);

// The suite flags' help text, with their defaults and limits.
[[nodiscard]] std::string SuiteFlagsHelp(int hardware_threads);

// "4KiB", "16MiB", "1GiB", "1000B": a byte count as a benchmark name shows it.
[[nodiscard]] std::string FormatBytes(std::int64_t bytes);

}  // namespace parbench
