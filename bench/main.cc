// bench: the parbench suite on Google Benchmark, and (with --worker) a process-pool worker.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <exception>
#include <thread>
#include <utility>

#include "bench/context.h"
#include "common/cleanup.h"
#include "bench/flags.h"
#include "bench/probes.h"
#include "bench/suite.h"
#include "executors/worker_main.h"
#include "workloads/api.h"

int main(int argc, char** argv) {
  // The process pool re-executes this binary as its workers.
  if (parbench::IsWorkerInvocation(argc, argv)) return parbench::WorkerMain(argc, argv);

  // Ctrl-C or a CI timeout: stop and reap every worker, remove temp dirs, exit 130/143.
  parbench::cleanup::InstallInterruptHandler();
  const int cores = static_cast<int>(std::max(1U, std::thread::hardware_concurrency()));
  parbench::ParsedFlags flags;
  try {
    flags = parbench::ParseFlags(&argc, argv, cores);
  } catch (const parbench::FlagError& e) {
    std::fprintf(stderr, "bench: %s\n", e.what());
    return 2;
  }
  if (flags.help) std::fputs(parbench::FlagsHelp(cores).c_str(), stdout);
  benchmark::Initialize(&argc, argv);  // prints its own help and exits on --help
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 2;

  parbench::api::GlobalInit();  // before any thread starts
  parbench::SuiteEnv env(std::move(flags.options), cores);
  parbench::RegisterSuite(env);
  parbench::AddMachineContext(env);
  // Before anything runs: is every core ours? A stolen core looks like a slow executor.
  const double noise = parbench::NoiseProbe(cores, 0.25);
  benchmark::AddCustomContext("parbench_noise_efficiency", std::to_string(noise));
  if (noise < 0.9) {
    std::fprintf(stderr,
                 "bench: warning: the noise probe ran %d threads at %.0f%% efficiency: the "
                 "machine is busy or a core is taken; speedups will read low\n",
                 cores, noise * 100);
  }

  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  env.Release();  // stop and reap every worker, stop the server, remove temp dirs

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
