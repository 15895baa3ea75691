// bench: the parbench suite on Google Benchmark, and (with --worker) a process-pool worker.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <ctime>
#include <exception>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "bench/console.h"
#include "bench/context.h"
#include "bench/flags.h"
#include "bench/machine.h"
#include "bench/probes.h"
#include "bench/profile.h"
#include "bench/suite.h"
#include "common/cleanup.h"
#include "common/resources.h"
#include "executors/mpi/session.h"
#include "executors/park.h"
#include "executors/process/worker_main.h"

namespace {

// The time now in UTC, ISO 8601 ("2026-11-25T20:11:25Z"): when the run ended.
std::string UtcNow() {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  char text[32] = {};
  if (::gmtime_r(&now, &utc) == nullptr) return "unknown";
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

// Runs the noise probe on `cpus` threads; warns when the machine was busy `when`. Returns the
// figure as the context records it ("not measured" when a thread could not start).
std::string NoiseProbeWithWarning(int cpus, const char* when) {
  try {
    const double noise = parbench::NoiseProbe(cpus, 0.25);
    if (noise < 0.9) {
      std::fprintf(stderr,
                   "bench: warning: the noise probe %s the run ran %d threads at %.0f%% "
                   "efficiency:\n  the machine is busy or a core is taken; speedups will read "
                   "low\n",
                   when, cpus, noise * 100);
    }
    return std::to_string(noise);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench: warning: %s; the run has no noise figure %s it\n", e.what(), when);
    return "not measured";
  }
}

// After the run: what is known only then goes into the results file. Returns false (having
// said why) when the file cannot be amended.
bool FinishResults(const parbench::ParsedFlags& flags, int cpus) {
  // A core taken during the run shows here (each benchmark also has its own counters).
  const std::string noise_after = NoiseProbeWithWarning(cpus, "after");
  if (flags.benchmark_out.empty() || !flags.benchmark_out_json) return true;
  try {
    parbench::AddToWrittenContext(flags.benchmark_out, "parbench_noise_efficiency_end",
                                  noise_after);
    parbench::AddToWrittenContext(flags.benchmark_out, "parbench_end_time", UtcNow());
    return true;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench: %s\n", e.what());
    return false;
  }
}

// Google Benchmark's settings as the command line (with what bench added) gives them.
struct GbSettings {
  std::string min_time = "0.5";  // Google Benchmark's defaults
  std::string repetitions = "1";
  std::string filter;
};

GbSettings ReadGbSettings(const std::vector<char*>& args) {
  GbSettings s;
  for (const char* a : args) {
    const std::string_view arg = a == nullptr ? "" : a;
    const std::string_view value = arg.substr(arg.find('=') + 1);
    if (arg.starts_with("--benchmark_min_time=")) s.min_time = value;
    if (arg.starts_with("--benchmark_repetitions=")) s.repetitions = value;
    if (arg.starts_with("--benchmark_filter=")) s.filter = value;
  }
  return s;
}

// Hands the command line and the flags bench added to Google Benchmark (which prints its own
// help and exits on --help); returns its settings, or nothing when it found an argument it
// does not know (it said which).
std::optional<GbSettings> InitializeBenchmark(int argc, char** argv,
                                              std::vector<std::string> added) {
  std::vector<char*> args(argv, argv + argc);
  for (std::string& flag : added) args.push_back(flag.data());
  int count = static_cast<int>(args.size());
  GbSettings gb = ReadGbSettings(args);
  args.push_back(nullptr);
  benchmark::Initialize(&count, args.data());
  if (benchmark::ReportUnrecognizedArguments(count, args.data())) return std::nullopt;
  return gb;
}

// The profile's settings as they apply and what the profile left out of the registered
// families, in the context; the same in a few lines for the console's header.
std::string AddProfileContext(const parbench::SuiteEnv& env, const GbSettings& gb) {
  benchmark::AddCustomContext("parbench_benchmark_min_time", gb.min_time);
  benchmark::AddCustomContext("parbench_benchmark_repetitions", gb.repetitions);
  std::set<std::string> families;  // those the filter selects
  for (const parbench::Registered* r : parbench::Selected(env.registered, gb.filter)) {
    families.insert(r->family);
  }
  benchmark::AddCustomContext("parbench_profile_left_out",
                              parbench::LeftOutJson(env.options(), env.cpus(), families));
  const std::string& profile = env.options().String("profile");
  return "profile " + profile + ": " + gb.repetitions +
         (gb.repetitions == "1" ? " repetition" : " repetitions") + " of >= " + gb.min_time +
         " s each" +
         (profile == "quick" ? " (--profile=full measures every point, for published numbers)"
                             : "") +
         "\n" + parbench::LeftOutText(env.options(), env.cpus(), families);
}

// How to call parbench-tools from the current directory: beside bench (installed), or in the
// source tree above the build directory; else by name.
std::string ToolsCommand() {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path exe_dir = fs::read_symlink("/proc/self/exe", ec).parent_path();
  for (const fs::path& candidate :
       {exe_dir / "parbench-tools", exe_dir / ".." / "tools" / "parbench-tools"}) {
    if (!ec && fs::exists(candidate, ec)) {
      const fs::path relative = fs::relative(candidate, fs::current_path(ec), ec);
      // From far away (more than one level up), the absolute path reads better.
      const bool far = relative.string().starts_with("../..");
      return ec || relative.empty() || far ? fs::canonical(candidate, ec).string()
                                           : relative.string();
    }
  }
  return "parbench-tools";
}

// bench's own console (the default): a few lines of context, a row per benchmark, a summary.
// nullptr when --benchmark_format asks for one of Google Benchmark's (console: every counter
// and the whole context).
std::unique_ptr<parbench::SuiteConsole> MakeConsole(
    const parbench::SuiteEnv& env, const parbench::ParsedFlags& flags, const GbSettings& gb,
    const std::string& profile_text, const parbench::CpuBudget& budget, const std::string& noise) {
  if (!flags.benchmark_format.empty() || flags.list_tests) return nullptr;
  const nlohmann::json machine = nlohmann::json::parse(parbench::MachineJson(budget));
  std::string header = profile_text + "machine: " + machine.value("cpu_model", "?") + ", " +
                       std::to_string(budget.machine) + " CPUs, " + std::to_string(env.cpus()) +
                       " usable; noise probe " + noise.substr(0, 4) + " (1.00 is quiet); bench " +
                       std::string(parbench::BuildRevision()) + "\n";
  if (!flags.benchmark_out.empty()) {
    const std::string& trace = env.options().String("timeline_out");
    header += "results: " + flags.benchmark_out + (trace.empty() ? "" : ", trace " + trace) +
              " (every repetition, every counter, the context)\n";
  }
  return std::make_unique<parbench::SuiteConsole>(env, header + "\n", ToolsCommand(),
                                                  flags.benchmark_out, gb.filter);
}

// Ctrl-C, a CI timeout, a closed terminal or Ctrl-\: stop and reap every worker, remove temp
// dirs, exit 130/143/129/131.
void InstallInterruptHandlerOrWarn() {
  if (const std::string why = parbench::cleanup::InstallInterruptHandler(); !why.empty()) {
    std::fprintf(stderr,
                 "bench: warning: %s; an interrupt will end bench without removing its "
                 "temp dirs\n",
                 why.c_str());
  }
}

// bench's flags (and the benchmark flags the profile adds); false, after a one-line error, when
// they are wrong.
bool ParseSuiteFlags(int* argc, char** argv, int cores, parbench::ParsedFlags& flags,
                     std::vector<std::string>& added) {
  try {
    flags = parbench::ParseFlags(argc, argv, cores);
    added = parbench::AddedBenchmarkFlags(&flags);  // the profile's, the default output
    parbench::CheckOutputs(flags);
  } catch (const parbench::FlagError& e) {
    std::fprintf(stderr, "bench: %s\n", e.what());
    return false;
  }
  if (flags.help) std::fputs(parbench::FlagsHelp(cores).c_str(), stdout);
  if (!flags.no_results_file.empty()) {
    std::fprintf(stderr, "bench: warning: %s\n", flags.no_results_file.c_str());
  }
  return true;
}

// After the run (`ran` benchmarks): the results file, the trace, the exit status.
int FinishRun(parbench::SuiteEnv& env, const parbench::ParsedFlags& flags, int cores,
              std::size_t ran) {
  if (ran == 0 && !flags.list_tests) {
    // A filter that matches nothing is a mistake, not a pass (a CI gate would read an empty
    // results file as "nothing regressed"); leave no empty file behind.
    if (!flags.benchmark_out.empty()) std::remove(flags.benchmark_out.c_str());
    std::fprintf(stderr, "bench: no benchmark matched --benchmark_filter; nothing was run\n");
    return 2;
  }
  if (!FinishResults(flags, cores)) return 1;
  if (const std::string& trace = env.options().String("timeline_out"); !trace.empty()) {
    try {
      env.timeline.Write(trace);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "bench: %s\n", e.what());
      return 1;
    }
  }
  if (env.failures > 0) {
    std::fprintf(stderr, "bench: %d benchmark(s) failed; see error_message in the output\n",
                 env.failures);
    return 1;
  }
  return 0;
}

}  // namespace

// The suite on rank 0 (or without mpirun): flags, registration, the run, the results.
int RunSuite(int argc, char** argv, const parbench::CpuBudget& budget) {
  InstallInterruptHandlerOrWarn();
  const int cores = budget.usable;
  parbench::ParsedFlags flags;
  std::vector<std::string> added;
  if (!ParseSuiteFlags(&argc, argv, cores, flags, added)) return 2;
  const std::optional<GbSettings> settings = InitializeBenchmark(argc, argv, std::move(added));
  if (!settings) return 2;
  const GbSettings& gb = *settings;
  if (parbench::BuildRevision() == "unknown") {
    std::fprintf(stderr,
                 "bench: warning: this bench was built without a known revision (no .git, not a "
                 "git archive, no PARBENCH_REVISION at build time): its results cannot be placed "
                 "in a history\n");
  }

  // Soft descriptor limit up to the hard one: each api worker and the server's side of its
  // connection take one (workers inherit the limit). What was done goes in the context.
  benchmark::AddCustomContext("parbench_descriptor_limit",
                              parbench::resources::RaiseDescriptorLimit().Describe());
  parbench::SuiteEnv env(std::move(flags.options), cores, budget.affinity);
  if (const parbench::mpi::Session* mpi = parbench::mpi::Current())
    env.timeline.SetHosts(mpi->hosts);
  parbench::RegisterSuite(env);
  parbench::AddMachineContext(env, budget);
  const std::string profile_text = AddProfileContext(env, gb);
  // Before anything runs: is every core ours? A stolen core looks like a slow executor.
  const std::string noise = NoiseProbeWithWarning(cores, "before");
  benchmark::AddCustomContext("parbench_noise_efficiency", noise);

  const auto console = MakeConsole(env, flags, gb, profile_text, budget, noise);
  const std::size_t ran = benchmark::RunSpecifiedBenchmarks(console.get());
  benchmark::Shutdown();
  env.Release();  // stop and reap every worker, stop the server, remove temp dirs
  return FinishRun(env, flags, cores, ran);
}

int main(int argc, char** argv) {
  // The process pool re-executes this binary as its workers.
  if (parbench::IsWorkerInvocation(argc, argv)) return parbench::WorkerMain(argc, argv);
  // The partner of the roundtrip/raw_shm floor.
  if (parbench::IsShmEchoInvocation(argc, argv)) return parbench::ShmEchoMain(argc, argv);
  // The CPUs this run may use (affinity mask, cgroup quota): default worker counts, the noise
  // probe, efficiencies and the thread pool's spin throttle follow them, not the core count.
  const parbench::CpuBudget budget = parbench::ReadCpuBudget();
  parbench::park::SetUsableCpus(budget.usable);
  // Under mpirun every rank runs this binary: rank 0 runs the suite, the others serve it. MPI
  // is started (and its module loaded) only then.
  if (parbench::mpi::UnderMpirun()) {
    try {
      const parbench::mpi::Session& session = parbench::mpi::Start(parbench::MachineJson(budget));
      if (session.rank != 0) return parbench::mpi::WorkerLoop();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "bench: %s\n", e.what());
      return 1;
    }
  }
  const int status = RunSuite(argc, argv, budget);
  parbench::mpi::Finish(status);  // stops the worker ranks and finalises MPI, if any
  return status;
}
