// bench: the parbench suite on Google Benchmark, and (with --worker) a process-pool worker.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <exception>
#include <string>
#include <utility>

#include "bench/context.h"
#include "bench/flags.h"
#include "bench/machine.h"
#include "bench/probes.h"
#include "bench/suite.h"
#include "common/cleanup.h"
#include "common/resources.h"
#include "executors/mpi/session.h"
#include "executors/park.h"
#include "executors/process/worker_main.h"

namespace {

// Runs the noise probe on `cpus` threads; warns when the machine was busy `when`. Returns the
// figure as the context records it ("not measured" when a thread could not start).
std::string NoiseProbeWithWarning(int cpus, const char* when) {
  try {
    const double noise = parbench::NoiseProbe(cpus, 0.25);
    if (noise < 0.9) {
      std::fprintf(stderr,
                   "bench: warning: the noise probe %s the run ran %d threads at %.0f%% "
                   "efficiency: the machine is busy or a core is taken; speedups will read low\n",
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
    return true;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench: %s\n", e.what());
    return false;
  }
}

}  // namespace

// The suite on rank 0 (or without mpirun): flags, registration, the run, the results.
int RunSuite(int argc, char** argv, const parbench::CpuBudget& budget) {
  // Ctrl-C, a CI timeout, a closed terminal or Ctrl-\: stop and reap every worker, remove temp
  // dirs, exit 130/143/129/131.
  if (const std::string why = parbench::cleanup::InstallInterruptHandler(); !why.empty()) {
    std::fprintf(stderr,
                 "bench: warning: %s; an interrupt will end bench without removing its "
                 "temp dirs\n",
                 why.c_str());
  }
  const int cores = budget.usable;
  parbench::ParsedFlags flags;
  try {
    flags = parbench::ParseFlags(&argc, argv, cores);
    parbench::CheckOutputs(flags);
  } catch (const parbench::FlagError& e) {
    std::fprintf(stderr, "bench: %s\n", e.what());
    return 2;
  }
  if (flags.help) std::fputs(parbench::FlagsHelp(cores).c_str(), stdout);
  benchmark::Initialize(&argc, argv);  // prints its own help and exits on --help
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 2;
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
  // Before anything runs: is every core ours? A stolen core looks like a slow executor.
  benchmark::AddCustomContext("parbench_noise_efficiency", NoiseProbeWithWarning(cores, "before"));

  const std::size_t ran = benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  env.Release();  // stop and reap every worker, stop the server, remove temp dirs
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
