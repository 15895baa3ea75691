#include "bench/flags.h"

#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string_view>

#include "executors/frame.h"
#include "workloads/api_server.h"
#include "workloads/workload.h"

namespace parbench {
namespace {

constexpr std::int64_t kMaxWorkers = 256;  // beyond this a pool is a fork bomb, not a benchmark
constexpr std::int64_t kMaxPayload = static_cast<std::int64_t>(wire::kMaxPayload);

// An integer flag: where it goes, its limits and its help line.
struct IntFlag {
  std::string_view name;
  std::int64_t SuiteOptions::*field;
  std::int64_t lo;
  std::int64_t hi;
  std::string_view help;
};

constexpr IntFlag kIntFlags[] = {
    {"tasks", &SuiteOptions::tasks, 1, 1'000'000, "tasks per iteration (cpu, api, io, dot)"},
    {"cpu_n", &SuiteOptions::cpu_n, 1, 100'000'000'000, "cpu: loop steps per task"},
    {"api_latency_ms", &SuiteOptions::api_latency_ms, 0, 60'000,
     "api: the loopback server's wait before answering"},
    {"api_bytes", &SuiteOptions::api_bytes, 0, api::kMaxBytes,
     "api: the loopback server's body size in bytes"},
    {"api_timeout_ms", &SuiteOptions::api_timeout_ms, 1, 600'000, "api: limit per request"},
    {"io_bytes", &SuiteOptions::io_bytes, 1, kMaxPayload, "io: bytes each task writes"},
    {"dot_n", &SuiteOptions::dot_n, 1, 8192, "dot: order of the float64 matrices"},
    {"overhead_tasks", &SuiteOptions::overhead_tasks, 1, 10'000'000,
     "overhead: empty tasks per iteration"},
    {"transfer_tasks", &SuiteOptions::transfer_tasks, 1, 100'000,
     "transfer: round trips per iteration"},
    {"task_timeout_s", &SuiteOptions::task_timeout_s, 1, 86'400,
     "a task running longer fails its benchmark (its process worker is killed)"},
};

// Parses a whole integer; "1e6" style is accepted when it is an exact integer.
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

std::string Range(std::int64_t lo, std::int64_t hi) {
  return "an integer from " + std::to_string(lo) + " to " + std::to_string(hi);
}

std::int64_t ParseInRange(std::string_view flag, std::string_view text, std::int64_t lo,
                          std::int64_t hi) {
  const auto value = ParseInteger(text);
  if (!value || *value < lo || *value > hi) {
    throw FlagError("--" + std::string(flag) + "='" + std::string(text) +
                    "' is invalid: allowed is " + Range(lo, hi));
  }
  return *value;
}

// A comma-separated list, sorted and without duplicates.
std::vector<std::int64_t> ParseList(std::string_view flag, std::string_view text,
                                    std::int64_t lo, std::int64_t hi) {
  const std::string allowed =
      "allowed is a comma-separated list of integers from " + std::to_string(lo) + " to " +
      std::to_string(hi);
  if (text.empty()) throw FlagError("--" + std::string(flag) + " is empty: " + allowed);
  std::vector<std::int64_t> out;
  for (;;) {
    const std::size_t comma = text.find(',');
    const std::string_view item = text.substr(0, comma);
    const auto value = ParseInteger(item);
    if (!value || *value < lo || *value > hi) {
      throw FlagError("--" + std::string(flag) + ": '" + std::string(item) +
                      "' is invalid: " + allowed);
    }
    out.push_back(*value);
    if (comma == std::string_view::npos) break;
    text = text.substr(comma + 1);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::string DefaultTempDir() {
  const char* tmp = std::getenv("TMPDIR");
  return tmp != nullptr && *tmp != '\0' ? tmp : "/tmp";
}

void CheckApiUrl(const std::string& url) {
  const bool scheme = url.rfind("http://", 0) == 0 || url.rfind("https://", 0) == 0;
  if (!scheme || url.find_first_of("; \t\n") != std::string::npos) {
    throw FlagError("--api_url='" + url +
                    "' is invalid: allowed is an http:// or https:// URL without ';' or spaces");
  }
}

void CheckIoDir(const std::string& dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec) || ::access(dir.c_str(), W_OK | X_OK) != 0) {
    throw FlagError("--io_dir='" + dir + "' is invalid: allowed is an existing writable directory");
  }
}

// 1, 2, 4, 8 and the core count, sorted, without duplicates.
std::vector<int> DefaultWorkers(int hardware_threads) {
  std::vector<int> out = {1, 2, 4, 8, std::clamp(hardware_threads, 1, static_cast<int>(kMaxWorkers))};
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace

SuiteOptions ParseSuiteFlags(int* argc, char** argv, int hardware_threads) {
  SuiteOptions options;
  options.workers = DefaultWorkers(hardware_threads);
  std::string benchmark_out;

  int kept = 1;
  for (int i = 1; i < *argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg.rfind("--", 0) != 0) {
      argv[kept++] = argv[i];
      continue;
    }
    const std::size_t eq = arg.find('=');
    const std::string_view name = arg.substr(2, eq == std::string_view::npos ? eq : eq - 2);
    const std::string_view value = eq == std::string_view::npos ? "" : arg.substr(eq + 1);
    auto need_value = [&] {
      if (eq == std::string_view::npos) {
        throw FlagError("--" + std::string(name) + " needs a value: --" + std::string(name) + "=...");
      }
    };
    const auto int_flag = std::find_if(std::begin(kIntFlags), std::end(kIntFlags),
                                       [&](const IntFlag& f) { return f.name == name; });
    if (int_flag != std::end(kIntFlags)) {
      need_value();
      options.*(int_flag->field) = ParseInRange(name, value, int_flag->lo, int_flag->hi);
    } else if (name == "workers") {
      need_value();
      options.workers.clear();
      for (std::int64_t w : ParseList(name, value, 1, kMaxWorkers)) {
        options.workers.push_back(static_cast<int>(w));
      }
    } else if (name == "transfer_sizes") {
      need_value();
      options.transfer_sizes = ParseList(name, value, 0, kMaxPayload);
    } else if (name == "api_url") {
      need_value();
      options.api_url = value;
      CheckApiUrl(options.api_url);
    } else if (name == "io_dir") {
      need_value();
      options.io_dir = value;
      CheckIoDir(options.io_dir);
    } else if (name == "timeline_out") {
      need_value();
      if (value.empty()) throw FlagError("--timeline_out is empty: allowed is a file path");
      options.timeline_out = value;
    } else {
      if (name == "help") options.help = true;
      if (name == "benchmark_out") benchmark_out = value;
      argv[kept++] = argv[i];  // Google Benchmark's (an unknown flag is reported by it)
    }
  }
  *argc = kept;
  argv[kept] = nullptr;

  if (options.io_dir.empty()) options.io_dir = DefaultTempDir();
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
  auto line = [](std::string flag, std::string_view help, const std::string& limits) {
    flag.resize(std::max<std::size_t>(flag.size() + 1, 24), ' ');
    return "  " + flag + std::string(help) + "\n  " + std::string(24, ' ') + limits + "\n";
  };
  std::string out =
      "parbench: when do threads, processes, or neither pay off? Every workload runs under\n"
      "the serial, threads and processes executors at each worker count.\n\n"
      "Suite flags (parsed before Google Benchmark's; a bad value exits with status 2):\n";
  std::string workers;
  for (int w : DefaultWorkers(hardware_threads)) workers += (workers.empty() ? "" : ",") + std::to_string(w);
  out += line("--workers=LIST", "worker counts for threads and processes",
              "comma-separated, each 1.." + std::to_string(kMaxWorkers) + " (default: 1,2,4,8 and the " +
                  "core count: " + workers + ")");
  for (const IntFlag& f : kIntFlags) {
    out += line("--" + std::string(f.name) + "=N", f.help,
                std::to_string(f.lo) + ".." + std::to_string(f.hi) +
                    " (default: " + std::to_string(defaults.*(f.field)) + ")");
  }
  std::string sizes;
  for (std::int64_t s : defaults.transfer_sizes) sizes += (sizes.empty() ? "" : ",") + std::to_string(s);
  out += line("--transfer_sizes=LIST", "transfer: payload sizes in bytes",
              "comma-separated, each 0.." + std::to_string(kMaxPayload) + " (default: " + sizes + ")");
  out += line("--api_url=URL", "api: GET this URL instead of the loopback server",
              "http:// or https://, no ';' (default: the suite's own server on 127.0.0.1)");
  out += line("--io_dir=DIR", "io: where the private temp directory is made",
              "an existing writable directory (default: $TMPDIR or /tmp)");
  out += line("--timeline_out=FILE", "Chrome trace of every benchmark's last iteration",
              "(default: next to --benchmark_out, as NAME.trace.json)");
  out += "\nWorkloads (each under serial, threads and processes):\n";
  for (const Workload& w : Workloads()) {
    std::string name(w.name);
    name.resize(std::max<std::size_t>(name.size() + 1, 10), ' ');
    out += "  " + name + std::string(w.summary) + "\n";
  }
  out += "\nGoogle Benchmark flags:\n";
  return out;
}

std::string FormatBytes(std::int64_t bytes) {
  for (auto [unit, size] : {std::pair{"GiB", std::int64_t{1} << 30}, {"MiB", std::int64_t{1} << 20},
                            {"KiB", std::int64_t{1} << 10}}) {
    if (bytes >= size && bytes % size == 0) return std::to_string(bytes / size) + unit;
  }
  return std::to_string(bytes) + "B";
}

}  // namespace parbench
