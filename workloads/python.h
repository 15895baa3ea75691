// Python tasks on embedded CPython: the article's experiment (py_cpu) and a user's own function
// (py, from --py_task=MODULE:FUNCTION). The interpreter lives in libparbench_python.so, loaded
// on the first Python task (see modules.h): a worker that runs none never loads it.
// Question it answers: what do threads and processes buy pure-Python code, GIL and all?
#pragma once

#include <cstdint>
#include <string>

#include "workloads/workload.h"

namespace parbench::python {

// What the article's cpu_heavy(n) returns: 0 + 1 + ... + (n - 1).
[[nodiscard]] std::uint64_t CpuHeavySum(std::int64_t n);

// The config of a py_cpu job: cpu_heavy(n) per task.
[[nodiscard]] Config LoopConfig(std::int64_t n);

// The config of a py job: FUNCTION(index, payload) of MODULE, with `path` first on sys.path.
[[nodiscard]] Config CallConfig(const std::string& path, const std::string& module,
                                const std::string& function);

// "MODULE:FUNCTION" split in two; throws WorkloadError unless both parts are there.
struct TaskSpec {
  std::string module;
  std::string function;
};
[[nodiscard]] TaskSpec ParseTask(const std::string& text);

extern const Workload kLoopWorkload;     // "py_cpu"
extern const Workload kCallWorkload;     // "py"
extern const Workload kStartupWorkload;  // "py_startup": startup's interpreter variant

}  // namespace parbench::python
