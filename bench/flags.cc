#include "bench/flags.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "bench/profile.h"
#include "executors/executor.h"

namespace parbench {
namespace {

// The default profile's (quick): 1 and the CPU count. ParseFlags sets the full profile's.
std::string DefaultWorkers(int cpus) {
  return JoinCounts(QuickWorkerCounts(std::clamp(cpus, 1, kDefaultMaxWorkers)));
}

// Every executor that can run here, in registry order.
std::string DefaultExecutors(int) {
  std::string out;
  for (const ExecutorInfo& e : Executors()) {
    if (e.available != nullptr && !e.available()) continue;
    if (!out.empty()) out += ',';
    out += e.name;
  }
  return out;
}

void CheckExecutors(std::string_view flag, const std::string& list) {
  std::string bad;
  try {
    for (const ExecutorInfo* info : ParseExecutorList(list)) {
      if (info->available != nullptr && !info->available()) {
        bad = std::string(info->name);
        break;
      }
    }
  } catch (const UnknownExecutor& e) {
    bad = e.item();
  }
  if (!bad.empty() || list.empty()) {
    throw FlagError("--" + std::string(flag) + ": '" + bad +
                    "' is invalid: allowed is a comma-separated list of " + DefaultExecutors(0));
  }
}

void CheckPath(std::string_view flag, const std::string& path) {
  if (path.empty()) throw FlagError("--" + std::string(flag) + " is empty: allowed is a file path");
}

// The trace is written after the whole run: find out now whether it can be, by creating the
// file (and removing it again if it did not exist), and refuse a path that would overwrite
// the results.
void CheckTimelineOut(const std::string& trace, const std::string& benchmark_out, bool given) {
  // Name what the user typed: the trace's own flag, or the results file it goes next to.
  const std::string what =
      given ? "--timeline_out='" + trace + "' is invalid"
            : "--benchmark_out='" + benchmark_out + "': the trace next to it, '" + trace + "',";
  std::error_code ec;
  if (!benchmark_out.empty() && std::filesystem::weakly_canonical(trace, ec) ==
                                    std::filesystem::weakly_canonical(benchmark_out, ec)) {
    throw FlagError(what + ": it is --benchmark_out, whose results the trace would replace");
  }
  const bool existed = std::filesystem::exists(trace, ec);
  const int fd = ::open(trace.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    throw FlagError(what + ": cannot be written: " + std::strerror(errno));
  }
  ::close(fd);
  if (!existed) ::unlink(trace.c_str());
}

// The flag whose counts every executor runs at (SuiteFlags()).
constexpr std::string_view kWorkersFlag = "workers";

// The suite's own flags; the families' follow in AllFlags().
std::vector<FlagSpec> SuiteFlags() {
  return {
      {.name = "profile",
       .type = FlagType::kString,
       .default_value = "quick",
       .help = "quick: every family and executor at fewer points, 3 repetitions of >= 0.05 s; "
               "full: every point, 5 repetitions of >= 0.2 s (published numbers)",
       .allowed = "quick or full",
       .check = CheckProfile},
      // The limit is the largest any executor takes (an event loop's tasks in flight); a
      // count above an executor's own limit is left out for that executor.
      {.name = kWorkersFlag,
       .type = FlagType::kIntList,
       .lo = 1,
       .hi = MaxWorkersOfAnyExecutor(),
       .help = "worker counts for every executor with workers (counts above an executor's "
               "limit are left out for it)",
       .default_help = "quick: 1 and the CPU count, and for api and io 1,2,4,8 too; full: "
                       "1,2,4,8 and the CPU count; an executor may have its own",
       .machine_default = DefaultWorkers},
      {.name = "executors",
       .type = FlagType::kString,
       .help = "the executors to run (the baseline is needed for speedups)",
       .allowed = "a comma-separated list of registered executor names",
       .default_help = "every executor that can run here, each in the families its row "
                       "names, if any",
       .check = CheckExecutors,
       .machine_default = DefaultExecutors},
      {.name = "tasks",
       .lo = 1,
       .hi = 1'000'000,
       .default_value = "16",
       .help = "tasks per iteration (cpu, api, io, dot)"},
      {.name = "task_timeout_s",
       .lo = 1,
       .hi = 86'400,
       .default_value = "300",
       .help = "a task running longer fails its benchmark (its process worker is killed)"},
      {.name = "timeline_out",
       .type = FlagType::kString,
       .help = "Chrome trace of every benchmark's last iteration",
       .allowed = "a file path",
       .default_help = "next to --benchmark_out, as NAME.trace.json",
       .check = CheckPath},
  };
}

std::string DefaultText(const FlagSpec& spec, int cpus) {
  return spec.machine_default != nullptr ? spec.machine_default(cpus)
                                         : std::string(spec.default_value);
}

// Sets every flag to its default. String defaults are taken as they are ("" is "not given").
void SetDefaults(Options& options, int cpus) {
  for (const FlagSpec& spec : AllFlags()) {
    const std::string text = DefaultText(spec, cpus);
    Options::Value value =
        spec.type == FlagType::kString ? Options::Value(text) : ParseFlagValue(spec, text);
    options.Set(spec.name, std::move(value), text, /*was_set=*/false);
  }
}

// The full profile measures at every default worker count (the flag's default is quick's).
void SetProfileWorkers(Options& options, const std::vector<FlagSpec>& specs, int cpus) {
  if (IsQuick(options) || options.WasSet(kWorkersFlag)) return;
  const std::string full = JoinCounts(FullWorkerCounts(std::clamp(cpus, 1, kDefaultMaxWorkers)));
  const auto workers = std::find_if(specs.begin(), specs.end(),
                                    [](const FlagSpec& f) { return f.name == kWorkersFlag; });
  options.Set(kWorkersFlag, ParseFlagValue(*workers, full), full, /*was_set=*/false);
}

// results/run.json -> results/run.trace.json: the trace goes next to the JSON by default.
std::string TraceNextTo(const std::string& benchmark_out) {
  const std::size_t dot = benchmark_out.rfind('.');
  const std::size_t slash = benchmark_out.rfind('/');
  const bool has_ext = dot != std::string::npos && (slash == std::string::npos || dot > slash);
  return (has_ext ? benchmark_out.substr(0, dot) : benchmark_out) + ".trace.json";
}

}  // namespace

std::vector<FlagSpec> AllFlags() {
  std::vector<FlagSpec> all = SuiteFlags();
  for (const Family& family : Families()) {
    all.insert(all.end(), family.flags.begin(), family.flags.end());
  }
  return all;
}

SuiteWorkers WorkersFlag(const Options& options) {
  SuiteWorkers out{.counts = {}, .given = options.WasSet(kWorkersFlag)};
  for (std::int64_t w : options.IntList(kWorkersFlag)) out.counts.push_back(static_cast<int>(w));
  return out;
}

Options DefaultOptions(int cpus) {
  Options options;
  SetDefaults(options, cpus);
  return options;
}

ParsedFlags ParseFlags(int* argc, char** argv, int cpus) {
  const std::vector<FlagSpec> specs = AllFlags();
  ParsedFlags parsed;
  SetDefaults(parsed.options, cpus);
  int kept = 1;
  for (int i = 1; i < *argc; ++i) {
    const std::string_view arg = argv[i];
    const std::size_t eq = arg.find('=');
    const std::string_view name =
        arg.rfind("--", 0) == 0 ? arg.substr(2, eq == std::string_view::npos ? eq : eq - 2) : "";
    const auto spec = std::find_if(specs.begin(), specs.end(), [&](const FlagSpec& f) {
      return !name.empty() && f.name == name;
    });
    if (spec == specs.end()) {
      if (name == "help") parsed.help = true;
      if (eq != std::string_view::npos && name == "benchmark_out") {
        parsed.benchmark_out = arg.substr(eq + 1);
        parsed.benchmark_out_given = true;
      }
      if (eq != std::string_view::npos && name == "benchmark_format") {
        parsed.benchmark_format = arg.substr(eq + 1);
      }
      parsed.min_time_given = parsed.min_time_given || name == "benchmark_min_time";
      parsed.repetitions_given = parsed.repetitions_given || name == "benchmark_repetitions";
      if (name == "benchmark_list_tests") {
        parsed.list_tests = eq == std::string_view::npos || arg.substr(eq + 1) != "false";
      }
      if (eq != std::string_view::npos && name == "benchmark_out_format") {
        parsed.benchmark_out_json = arg.substr(eq + 1) == "json";
      }
      argv[kept++] = argv[i];  // Google Benchmark's (an unknown flag is reported by it)
      continue;
    }
    if (eq == std::string_view::npos) {
      throw FlagError("--" + std::string(name) + " needs a value: --" + std::string(name) + "=...");
    }
    std::string value(arg.substr(eq + 1));
    if (spec->repeatable && parsed.options.WasSet(name)) {
      if (value.empty()) throw FlagError("--" + std::string(name) + " is empty");
      value = parsed.options.Text(name) + "," + value;
    }
    parsed.options.Set(name, ParseFlagValue(*spec, value), value);
  }
  *argc = kept;
  argv[kept] = nullptr;

  SetProfileWorkers(parsed.options, specs, cpus);
  // What only the flags together can tell (a --py_task's module imports, a --plugin is one).
  for (const Family& family : Families()) {
    if (family.validate) family.validate(parsed.options);
  }

  if (!parsed.options.WasSet("timeline_out") && !parsed.benchmark_out.empty()) {
    const std::string trace = TraceNextTo(parsed.benchmark_out);
    parsed.options.Set("timeline_out", trace, trace, /*was_set=*/false);
  }
  return parsed;
}

std::vector<std::string> AddedBenchmarkFlags(ParsedFlags* parsed) {
  std::vector<std::string> added;
  const Profile& profile = ProfileNamed(parsed->options.String("profile"));
  if (!parsed->min_time_given) {
    char text[32];
    std::snprintf(text, sizeof text, "%g", profile.min_time_s);
    added.push_back("--benchmark_min_time=" + std::string(text));
  }
  if (!parsed->repetitions_given) {
    added.push_back("--benchmark_repetitions=" + std::to_string(profile.repetitions));
  }
  if (!parsed->benchmark_out_given && !parsed->help && !parsed->list_tests &&
      ::access(".", W_OK) != 0) {
    parsed->no_results_file = "the current directory is not writable, so this run leaves no " +
                              std::string(kDefaultResultsFile) + " (give --benchmark_out=FILE)";
  } else if (!parsed->benchmark_out_given && !parsed->help && !parsed->list_tests) {
    // Results the tools can read, whatever the command line said (json is the only format
    // they take).
    parsed->benchmark_out = kDefaultResultsFile;
    parsed->benchmark_out_json = true;
    added.push_back("--benchmark_out=" + parsed->benchmark_out);
    added.push_back("--benchmark_out_format=json");
    if (!parsed->options.WasSet("timeline_out")) {
      const std::string trace = TraceNextTo(parsed->benchmark_out);
      parsed->options.Set("timeline_out", trace, trace, /*was_set=*/false);
    }
  }
  return added;
}

void CheckOutputs(const ParsedFlags& parsed) {
  if (const std::string& trace = parsed.options.String("timeline_out");
      !trace.empty() && !parsed.list_tests && !parsed.help) {
    CheckTimelineOut(trace, parsed.benchmark_out, parsed.options.WasSet("timeline_out"));
  }
}

std::string FlagsHelp(int cpus) {
  auto line = [](std::string flag, std::string_view help, const std::string& limits) {
    flag.resize(std::max<std::size_t>(flag.size() + 1, 24), ' ');
    return "  " + flag + std::string(help) + "\n  " + std::string(24, ' ') + limits + "\n";
  };
  std::string out =
      "parbench: when do threads, processes, or neither pay off? Every family runs under each\n"
      "executor at each worker count.\n\n"
      "Flags (parsed before Google Benchmark's; a bad value exits with status 2):\n";
  for (const FlagSpec& spec : AllFlags()) {
    const char* metavar = spec.type == FlagType::kInt       ? "=N"
                          : spec.type == FlagType::kIntList ? "=LIST"
                                                            : "=VALUE";
    std::string limits = DescribeAllowed(spec);
    const std::string def = DefaultText(spec, cpus);
    if (!spec.default_help.empty()) {
      limits += " (default: " + std::string(spec.default_help);
      if (!def.empty()) limits += "; here " + def;
      limits += ")";
    } else if (!def.empty()) {
      limits += " (default: " + def + ")";
    }
    out += line("--" + std::string(spec.name) + metavar, spec.help, limits);
  }
  out += "\nExecutors (--executors):\n";
  for (const ExecutorInfo& e : Executors()) {
    std::string name(e.name);
    name.resize(std::max<std::size_t>(name.size() + 1, 12), ' ');
    out += "  " + name + std::string(e.summary) + "\n";
    if (e.max_workers != kDefaultMaxWorkers || !e.default_workers.empty()) {
      std::string counts;
      for (int w : e.default_workers) {
        if (!counts.empty()) counts += ',';
        counts += std::to_string(w);
      }
      out += std::string(14, ' ') + "workers: up to " + std::to_string(e.max_workers) +
             (counts.empty() ? "" : "; without --workers: " + counts) + "\n";
    }
  }
  out += "\nFamilies (the first part of every benchmark name):\n";
  for (const Family& f : Families()) {
    std::string name(f.display_name());
    name.resize(std::max<std::size_t>(name.size() + 1, 12), ' ');
    out += "  " + name + std::string(f.display_summary()) + "\n";
  }
  out += "\nGoogle Benchmark flags:\n";
  return out;
}

}  // namespace parbench
