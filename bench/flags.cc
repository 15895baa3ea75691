#include "bench/flags.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <string_view>

namespace parbench {
namespace {

// Limits, shown in --help and in every error message.
constexpr std::int64_t kMaxWorkers = 256;  // beyond this a pool is a fork bomb, not a benchmark
constexpr std::int64_t kMaxTasks = 1'000'000;
constexpr std::int64_t kMaxCpuN = 100'000'000'000;  // about 3 minutes of one core per task
constexpr std::int64_t kMaxTimeoutS = 86'400;

// Parses a whole integer; accepts "1e6" style only when it is an exact integer.
std::optional<std::int64_t> ParseInteger(std::string_view text) {
  if (text.empty()) return std::nullopt;
  std::int64_t value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec == std::errc() && ptr == text.data() + text.size()) return value;
  double d = 0;
  auto [dptr, dec] = std::from_chars(text.data(), text.data() + text.size(), d);
  if (dec != std::errc() || dptr != text.data() + text.size() || !std::isfinite(d) ||
      d != std::floor(d) || std::fabs(d) > 9e18) {
    return std::nullopt;
  }
  return static_cast<std::int64_t>(d);
}

std::int64_t ParseInRange(std::string_view flag, std::string_view text, std::int64_t lo,
                          std::int64_t hi) {
  const auto value = ParseInteger(text);
  if (!value || *value < lo || *value > hi) {
    throw FlagError("--" + std::string(flag) + "='" + std::string(text) +
                    "' is invalid: allowed is an integer from " + std::to_string(lo) + " to " +
                    std::to_string(hi));
  }
  return *value;
}

std::vector<int> ParseWorkerList(std::string_view text) {
  const std::string allowed = "allowed is a comma-separated list of integers from 1 to " +
                              std::to_string(kMaxWorkers);
  if (text.empty()) throw FlagError("--workers is empty: " + allowed);
  std::vector<int> out;
  while (true) {
    const std::size_t comma = text.find(',');
    const std::string_view item = text.substr(0, comma);
    const auto value = ParseInteger(item);
    if (!value || *value < 1 || *value > kMaxWorkers) {
      throw FlagError("--workers: '" + std::string(item) + "' is invalid: " + allowed);
    }
    out.push_back(static_cast<int>(*value));
    if (comma == std::string_view::npos) break;
    text = text.substr(comma + 1);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace

SuiteOptions ParseSuiteFlags(int* argc, char** argv, int hardware_threads) {
  SuiteOptions options;
  options.workers = {1, 2, 4, 8, std::clamp(hardware_threads, 1, static_cast<int>(kMaxWorkers))};
  std::sort(options.workers.begin(), options.workers.end());
  options.workers.erase(std::unique(options.workers.begin(), options.workers.end()),
                        options.workers.end());
  std::string benchmark_out;

  int kept = 1;
  for (int i = 1; i < *argc; ++i) {
    const std::string_view arg = argv[i];
    const std::size_t eq = arg.find('=');
    const std::string_view name = arg.substr(0, eq);
    const std::string_view value = eq == std::string_view::npos ? "" : arg.substr(eq + 1);
    const bool has_value = eq != std::string_view::npos;
    auto need_value = [&] {
      if (!has_value) throw FlagError(std::string(name) + " needs a value: " + std::string(name) + "=...");
    };
    if (name == "--workers") {
      need_value();
      options.workers = ParseWorkerList(value);
    } else if (name == "--tasks") {
      need_value();
      options.tasks = static_cast<std::uint32_t>(ParseInRange("tasks", value, 1, kMaxTasks));
    } else if (name == "--cpu_n") {
      need_value();
      options.cpu_n = ParseInRange("cpu_n", value, 1, kMaxCpuN);
    } else if (name == "--task_timeout_s") {
      need_value();
      options.task_timeout_s = ParseInRange("task_timeout_s", value, 1, kMaxTimeoutS);
    } else if (name == "--timeline_out") {
      need_value();
      if (value.empty()) throw FlagError("--timeline_out is empty: allowed is a file path");
      options.timeline_out = value;
    } else {
      if (name == "--help" || name == "-h") options.help = true;
      if (name == "--benchmark_out") benchmark_out = value;
      argv[kept++] = argv[i];  // not ours: Google Benchmark's (or unknown, reported by it)
    }
  }
  *argc = kept;
  argv[kept] = nullptr;

  // The trace goes next to the JSON by default: results/run.json -> results/run.trace.json.
  if (options.timeline_out.empty() && !benchmark_out.empty()) {
    const std::size_t dot = benchmark_out.rfind('.');
    const std::size_t slash = benchmark_out.rfind('/');
    const bool has_ext = dot != std::string::npos && (slash == std::string::npos || dot > slash);
    options.timeline_out = (has_ext ? benchmark_out.substr(0, dot) : benchmark_out) + ".trace.json";
  }
  return options;
}

std::string SuiteFlagsHelp(int hardware_threads) {
  const SuiteOptions defaults;
  return "parbench: when do threads, processes, or neither pay off? Every workload runs under\n"
         "the serial, threads and processes executors at each worker count.\n"
         "\n"
         "Suite flags (parsed before Google Benchmark's; a bad value exits with status 2):\n"
         "  --workers=LIST         worker counts, comma-separated, each 1.." +
         std::to_string(kMaxWorkers) + " (default: 1,2,4,8," + std::to_string(hardware_threads) +
         ")\n"
         "  --tasks=N              tasks per iteration, 1.." + std::to_string(kMaxTasks) +
         " (default: " + std::to_string(defaults.tasks) + ")\n"
         "  --cpu_n=N              loop steps per cpu task, 1.." + std::to_string(kMaxCpuN) +
         " (default: " + std::to_string(defaults.cpu_n) + ")\n"
         "  --task_timeout_s=N     a task running longer fails its benchmark, 1.." +
         std::to_string(kMaxTimeoutS) + " (default: " + std::to_string(defaults.task_timeout_s) + ")\n"
         "  --timeline_out=FILE    Chrome trace of every benchmark's last iteration\n"
         "                         (default: next to --benchmark_out as NAME.trace.json)\n"
         "\n"
         "Google Benchmark flags:\n";
}

}  // namespace parbench
