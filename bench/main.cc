// bench: the parbench suite on Google Benchmark, and (with --worker) a process-pool worker.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <exception>
#include <string>
#include <thread>

#include "bench/context.h"
#include "common/cleanup.h"
#include "common/resources.h"
#include "bench/flags.h"
#include "bench/probes.h"
#include "bench/suite.h"
#include "executors/worker_main.h"

int main(int argc, char** argv) {
  // The process pool re-executes this binary as its workers.
  if (parbench::IsWorkerInvocation(argc, argv)) return parbench::WorkerMain(argc, argv);

  // Ctrl-C, a CI timeout, a closed terminal or Ctrl-\: stop and reap every worker, remove temp
  // dirs, exit 130/143/129/131.
  if (const std::string why = parbench::cleanup::InstallInterruptHandler(); !why.empty()) {
    std::fprintf(stderr, "bench: warning: %s; an interrupt will end bench without removing its "
                 "temp dirs\n", why.c_str());
  }
  const int cores = static_cast<int>(std::max(1U, std::thread::hardware_concurrency()));
  parbench::SuiteOptions options;
  try {
    options = parbench::ParseSuiteFlags(&argc, argv, cores);
  } catch (const parbench::FlagError& e) {
    std::fprintf(stderr, "bench: %s\n", e.what());
    return 2;
  }
  if (options.help) std::fputs(parbench::SuiteFlagsHelp(cores).c_str(), stdout);
  benchmark::Initialize(&argc, argv);  // prints its own help and exits on --help
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 2;

  // Soft descriptor limit up to the hard one: each api worker and the server's side of its
  // connection take one (workers inherit the limit). What was done goes in the context.
  benchmark::AddCustomContext("parbench_descriptor_limit",
                              parbench::resources::RaiseDescriptorLimit().Describe());

  parbench::SuiteEnv env(options);
  parbench::RegisterSuite(env);
  parbench::AddMachineContext(options, cores);
  // Before anything runs: is every core ours? A stolen core looks like a slow executor.
  try {
    const double noise = parbench::NoiseProbe(cores, 0.25);
    benchmark::AddCustomContext("parbench_noise_efficiency", std::to_string(noise));
    if (noise < 0.9) {
      std::fprintf(stderr,
                   "bench: warning: the noise probe ran %d threads at %.0f%% efficiency: the "
                   "machine is busy or a core is taken; speedups will read low\n",
                   cores, noise * 100);
    }
  } catch (const std::exception& e) {
    benchmark::AddCustomContext("parbench_noise_efficiency", "not measured");
    std::fprintf(stderr, "bench: warning: %s; the run has no noise figure\n", e.what());
  }

  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  env.Release();  // stop and reap every worker, stop the server, remove temp dirs

  if (!options.timeline_out.empty()) {
    try {
      env.timeline.Write(options.timeline_out);
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
