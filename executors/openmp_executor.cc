// openmp: GCC's OpenMP (libgomp), one of the pools users already know, as a peer of the
// suite's own thread pool: a parallel region of W threads (the caller is thread 0) sharing the
// batch with schedule(dynamic, 1).
//
// A hand-off batch (Batch::handoff) runs in a worker-only region: W+1 threads, of which the
// caller (thread 0) runs no task and waits at the region's closing barrier (libgomp's own
// spin-then-futex), while threads 1..W take the tasks one at a time from a shared counter (what
// schedule(dynamic, 1) does; a worksharing loop cannot leave the caller out).
//
// libgomp keeps its threads for the next region (they spin briefly, then sleep); they belong
// to the OpenMP runtime, not to the executor. A task past the timeout is not detected.
#include <omp.h>

#include <atomic>
#include <vector>

#include "executors/executor.h"

namespace parbench {
namespace {

class OpenMpExecutor final : public Executor {
 public:
  explicit OpenMpExecutor(const ExecutorOptions& options)
      : caches_(static_cast<std::size_t>(options.workers)) {
    omp_set_dynamic(0);  // num_threads(W) means exactly W threads, not "up to W"
  }

  std::vector<Result> Run(const Batch& batch) override {
    if (batch.handoff) return RunOnWorkers(batch);
    std::vector<Result> results(batch.tasks);
    const auto tasks = static_cast<std::int64_t>(batch.tasks);
    const int workers = static_cast<int>(caches_.size());
#pragma omp parallel num_threads(workers)
    {
      const int slot = omp_get_thread_num();
      RunnerCache& cache = caches_[static_cast<std::size_t>(slot)];  // one thread per slot
      TaskRunner* runner = cache.Get(*batch.job);
#pragma omp for schedule(dynamic, 1)
      for (std::int64_t i = 0; i < tasks; ++i) {
        const auto index = static_cast<std::uint32_t>(i);
        results[index] = RunOneTask(runner, cache.error(), batch, index, slot);
      }
    }
    return results;
  }
  [[nodiscard]] int workers() const override { return static_cast<int>(caches_.size()); }
  [[nodiscard]] std::string_view name() const override { return "openmp"; }

 private:
  // The worker-only region: thread 0 (the caller) waits, threads 1..W run the tasks.
  std::vector<Result> RunOnWorkers(const Batch& batch) {
    std::vector<Result> results(batch.tasks);
    std::atomic<std::uint32_t> next{0};
    const int workers = static_cast<int>(caches_.size());
#pragma omp parallel num_threads(workers + 1)
    {
      const int thread = omp_get_thread_num();
      if (thread != 0) {
        const int slot = thread - 1;
        RunnerCache& cache = caches_[static_cast<std::size_t>(slot)];  // one thread per slot
        TaskRunner* runner = nullptr;
        bool built = false;
        for (std::uint32_t i = next.fetch_add(1, std::memory_order_relaxed); i < batch.tasks;
             i = next.fetch_add(1, std::memory_order_relaxed)) {
          if (!built) runner = cache.Get(*batch.job);
          built = true;
          results[i] = RunOneTask(runner, cache.error(), batch, i, slot);
        }
      }
    }
    return results;
  }

  std::vector<RunnerCache> caches_;  // by OpenMP thread number
};

const bool kRegistered = RegisterExecutor({
    .name = "openmp",
    .summary = "GCC OpenMP: a parallel region of W threads, schedule(dynamic, 1)",
    .dispatch = "no messages: one task at a time (schedule(dynamic, 1))",
    .traits = {.shares_memory = true},
    .make = [](const ExecutorOptions& options) -> std::unique_ptr<Executor> {
      return std::make_unique<OpenMpExecutor>(options);
    },
    .order = 40,
    .available = NotUnderThreadSanitizer,  // libgomp is not instrumented for TSan
    .default_families = {"cpu", "granularity", "overhead", "roundtrip"},
});

}  // namespace
}  // namespace parbench
