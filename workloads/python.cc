#include "workloads/python.h"

#include <unistd.h>

#include <filesystem>
#include <map>
#include <memory>
#include <mutex>

#include "workloads/family.h"
#include "workloads/modules.h"

namespace parbench::python {

std::uint64_t CpuHeavySum(std::int64_t n) {
  const auto un = static_cast<std::uint64_t>(n);
  return un * (un - 1) / 2;  // exact below 2^32 steps; --py_n stops well short of that
}

Config LoopConfig(std::int64_t n) { return Config().Set("n", n); }

Config CallConfig(const std::string& path, const std::string& module, const std::string& function) {
  return Config().Set("path", path).Set("module", module).Set("function", function);
}

TaskSpec ParseTask(const std::string& text) {
  const std::size_t colon = text.find(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size() ||
      text.find(':', colon + 1) != std::string::npos) {
    throw WorkloadError("'" + text + "' is not MODULE:FUNCTION");
  }
  return {text.substr(0, colon), text.substr(colon + 1)};
}

constexpr Workload kLoopWorkload = {
    .name = "py_cpu",
    .summary =
        "the article's pure-Python loop cpu_heavy(--py_n) per task, on embedded CPython "
        "(threads share one GIL; process workers each have an interpreter)",
    .make_runner = [](const Config& config) { return Python().make_loop_runner(config); },
};

constexpr Workload kCallWorkload = {
    .name = "py",
    .summary = "your own Python FUNCTION(index, payload) from --py_task=MODULE:FUNCTION",
    .make_runner = [](const Config& config) { return Python().make_call_runner(config); },
};

constexpr Workload kStartupWorkload = {
    .name = "py_startup",
    .summary = "start an interpreter in each worker, run one expression",
    .make_runner = [](const Config& config) { return Python().make_startup_runner(config); },
};

namespace {

// FlagSpec checks: one line naming the flag.
void CheckTask(std::string_view name, const std::string& value) {
  if (value.empty()) return;  // not given: no py family
  try {
    (void)ParseTask(value);
  } catch (const WorkloadError& e) {
    throw FlagError("--" + std::string(name) + "='" + value + "' is invalid: it is not " +
                    "MODULE:FUNCTION (a module on sys.path or in --py_path, and a function in it)");
  }
}

void CheckDirectory(std::string_view name, const std::string& value) {
  if (value.empty()) return;
  std::error_code ec;
  if (!std::filesystem::is_directory(value, ec) || ::access(value.c_str(), R_OK | X_OK) != 0) {
    throw FlagError("--" + std::string(name) + "='" + value +
                    "' is invalid: allowed is an existing readable directory");
  }
}

// Before anything runs: the module imports and has the function, in bench's own interpreter
// (which serial and threads use; process workers import it again in theirs).
void ValidateTask(const Options& options) {
  const std::string& task = options.String("py_task");
  if (task.empty()) {
    if (options.WasSet("py_path") || options.WasSet("py_payload_bytes")) {
      throw FlagError("--py_path and --py_payload_bytes need --py_task=MODULE:FUNCTION");
    }
    return;
  }
  const TaskSpec spec = ParseTask(task);
  try {
    Python().check_function(options.String("py_path"), spec.module, spec.function);
  } catch (const WorkloadError& e) {
    throw FlagError(std::string("--py_task: ") + e.what());
  }
}

// A user's function is not known to bench, so its proofs are checked for agreement: the first
// value each task returns under this point (the serial run comes first) is recorded, and every
// later run, under any executor, must return the same. A function whose result depends on
// timing or shared state shows up here instead of in a silently wrong table.
std::function<std::string(std::uint32_t, const TaskOutput&)> AgreesWithFirstRun() {
  struct Seen {
    std::mutex mu;
    std::map<std::uint32_t, std::uint64_t> values;
  };
  auto seen = std::make_shared<Seen>();
  return [seen](std::uint32_t task, const TaskOutput& out) -> std::string {
    std::lock_guard lock(seen->mu);
    const auto [it, first] = seen->values.emplace(task, out.value);
    if (first || it->second == out.value) return "";
    return "returned " + std::to_string(out.value) + ", but " + std::to_string(it->second) +
           " in its first run (the function must be deterministic)";
  };
}

// Not a family's workload (startup runs it), so registered here for process workers to find.
const bool kStartupRegistered = [] {
  RegisterWorkload(kStartupWorkload);
  return true;
}();

const bool kPyCpu = RegisterFamily({
    .workload = &kLoopWorkload,
    .flags = {{.name = "py_n",
               .lo = 1,
               .hi = 1'000'000'000,
               .default_value = "1000000",
               .help = "py_cpu: steps of the article's cpu_heavy(n) loop per task (~30 ms here)"}},
    .prepare =
        [](const Point&, Fixtures& f) {
          const std::int64_t n = f.options().Int("py_n");
          return Prepared{.job = {"py_cpu", LoopConfig(n)},
                          .payload = {},
                          .tasks = static_cast<std::uint32_t>(f.options().Int("tasks")),
                          .check = ExpectValue(CpuHeavySum(n), " as cpu_heavy's sum")};
        },
});

// Registered under every executor only when --py_task is given (an axis without values is
// no benchmark): `py/threads/workers:2`.
const bool kPy = RegisterFamily({
    .workload = &kCallWorkload,
    .flags = {{.name = "py_task",
               .type = FlagType::kString,
               .help = "py: run your Python FUNCTION(index, payload) as the family py",
               .allowed = "MODULE:FUNCTION",
               .default_help = "none: no py family",
               .check = CheckTask},
              {.name = "py_path",
               .type = FlagType::kString,
               .help = "py: a directory put first on sys.path to find --py_task's module",
               .allowed = "an existing readable directory",
               .default_help = "none",
               .check = CheckDirectory},
              {.name = "py_payload_bytes",
               .lo = 0,
               .hi = kMaxPayloadBytes,
               .default_value = "0",
               .help = "py: size of the bytes payload every call gets (sent to process workers)"}},
    .axes =
        [](const Options& o, int) {
          Axis task{"task", {}};
          if (!o.String("py_task").empty()) task.values.emplace_back("");  // left out of names
          return std::vector<Axis>{task};
        },
    .prepare =
        [](const Point&, Fixtures& f) {
          const TaskSpec spec = ParseTask(f.options().String("py_task"));
          std::vector<std::byte> payload(
              static_cast<std::size_t>(f.options().Int("py_payload_bytes")));
          for (std::size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<std::byte>(i);
          return Prepared{
              .job = {"py", CallConfig(f.options().String("py_path"), spec.module, spec.function)},
              .payload = std::move(payload),
              .tasks = static_cast<std::uint32_t>(f.options().Int("tasks")),
              .check = AgreesWithFirstRun()};
        },
    .validate = ValidateTask,
});

}  // namespace
}  // namespace parbench::python
