// tbb: oneTBB's work-stealing scheduler, one of the pools users already know, as a peer of the
// suite's own thread pool. A task_arena of W slots (the caller takes one, TBB's own worker
// threads the rest) runs the batch with parallel_for over single tasks (grain 1,
// simple_partitioner): dynamic scheduling, as executor.map with chunksize=1.
//
// A hand-off batch (Batch::handoff) goes to a second arena of W slots none of which is kept for
// the caller: the caller enqueues the parallel_for there (task_arena::enqueue) and waits for it
// (spin, then park: park::Signal, as the suite's own pool waits), so every task runs on one of
// TBB's worker threads.
//
// TBB's worker threads belong to its global pool, not to the executor: the destructor ends the
// arenas, and TBB parks or ends its threads itself. A task past the timeout is not detected
// (TBB cannot abandon a running task).
#include <oneapi/tbb/blocked_range.h>
#include <oneapi/tbb/global_control.h>
#include <oneapi/tbb/parallel_for.h>
#include <oneapi/tbb/partitioner.h>
#include <oneapi/tbb/task_arena.h>

#include <algorithm>
#include <optional>
#include <vector>

#include "executors/executor.h"
#include "executors/park.h"

namespace parbench {
namespace {

// TBB caps its worker threads at the machine's core count unless told otherwise; an arena of
// 8 slots on 2 cores would get 1 worker. One process-wide setting (the smallest of all live
// global_control objects would win), made on first use and kept.
void AllowWorkers() {
  static const oneapi::tbb::global_control allow(
      oneapi::tbb::global_control::max_allowed_parallelism, 257);  // --workers' limit + caller
}

class TbbExecutor final : public Executor {
 public:
  explicit TbbExecutor(const ExecutorOptions& options)
      : arena_((AllowWorkers(), options.workers)),
        caches_(static_cast<std::size_t>(options.workers)) {
    arena_.initialize();
  }

  std::vector<Result> Run(const Batch& batch) override {
    std::vector<Result> results(batch.tasks);
    const auto all_tasks = [&] {
      oneapi::tbb::parallel_for(
          oneapi::tbb::blocked_range<std::uint32_t>(0, batch.tasks, 1),
          [&](const oneapi::tbb::blocked_range<std::uint32_t>& range) {
            // An arena has at least two slots: a hand-off arena of one worker may seat it in
            // slot 1. At most W threads run at once, so clamping keeps one thread per slot.
            const int slot = std::min(oneapi::tbb::this_task_arena::current_thread_index(),
                                      static_cast<int>(caches_.size()) - 1);
            RunnerCache& cache = caches_[static_cast<std::size_t>(slot)];  // one thread per slot
            TaskRunner* runner = cache.Get(*batch.job);
            for (std::uint32_t i = range.begin(); i != range.end(); ++i) {
              results[i] = RunOneTask(runner, cache.error(), batch, i, slot);
            }
          },
          oneapi::tbb::simple_partitioner());
    };
    if (!batch.handoff) {
      arena_.execute(all_tasks);
      return results;
    }
    if (!handoff_arena_) {  // W slots, none kept for a caller thread
      handoff_arena_.emplace(static_cast<int>(caches_.size()), 0);
      handoff_arena_->initialize();
    }
    done_.Reset();
    handoff_arena_->enqueue([&] {
      all_tasks();
      done_.Post();
    });
    done_.Wait();
    return results;
  }
  [[nodiscard]] int workers() const override { return static_cast<int>(caches_.size()); }
  [[nodiscard]] std::string_view name() const override { return "tbb"; }

 private:
  oneapi::tbb::task_arena arena_;
  std::optional<oneapi::tbb::task_arena> handoff_arena_;  // made by the first hand-off batch
  park::Signal done_;                                     // the hand-off's completion
  std::vector<RunnerCache> caches_;                       // by arena slot
};

const bool kRegistered = RegisterExecutor({
    .name = "tbb",
    .summary = "oneTBB: a task_arena of W slots, parallel_for with grain 1 (work stealing)",
    .dispatch = "no messages: one task at a time (parallel_for, grain 1, simple_partitioner)",
    .traits = {.shares_memory = true},
    .make = [](const ExecutorOptions& options) -> std::unique_ptr<Executor> {
      return std::make_unique<TbbExecutor>(options);
    },
    .order = 30,
    .available = NotUnderThreadSanitizer,  // libtbb is not instrumented for TSan
    .default_families = {"cpu", "granularity", "overhead", "roundtrip"},
});

}  // namespace
}  // namespace parbench
