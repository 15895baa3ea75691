// threads: a pool of persistent worker threads; the caller takes part in the work.
//
// A batch is cut into one contiguous range of tasks per seat (the caller's seat and W-1
// workers', or W workers' when the batch asks for a hand-off); each seat runs its own range
// front to back and, once it is empty, steals the back half of the fullest other range
// (oneTBB's and Cilk's work stealing, with ranges instead of task deques). A seat counts the
// tasks it finished and adds them once per range, and the batch is over when that count
// reaches the number of tasks: not when every worker has checked in. Each seat writes its own
// contiguous block of results, so two cores share at most the cache line at a block's edge.
//
// Waiting is spin-then-park (executors/park.h): an idle worker spins for park::kLinger if a CPU
// is free for it (running + spinning threads <= usable CPUs; else a few pauses), then sleeps on
// an eventcount and uses no CPU; Run() wakes only sleeping workers, and only as many as the
// batch has ranges for that spinning workers will not take. The caller waits the same way for
// the last range.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "executors/executor.h"

namespace parbench {

namespace park {
class Running;
}  // namespace park

namespace pool_detail {
struct Shared;
struct Runner;
struct BatchState;
}  // namespace pool_detail

class ThreadPool final : public Executor {
 public:
  // Starts options.workers threads. When one cannot start (the limit on processes and
  // threads is reached), joins those already started and throws ExecutorError saying why.
  explicit ThreadPool(const ExecutorOptions& options);
  // Stops the workers (a sleeping one is woken) and joins them. A worker stuck in a task past
  // the timeout cannot be killed (threads share the process); it is detached and keeps the
  // pool's shared state alive until its task returns.
  ~ThreadPool() override;
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  // Runs the batch; call from one thread at a time. The calling thread runs tasks too unless
  // batch.handoff is set. Throws ExecutorError when a task exceeds the timeout: the pool is
  // then broken(). (A task the caller runs itself is found out only once it returns.)
  std::vector<Result> Run(const Batch& batch) override;
  [[nodiscard]] int workers() const override { return static_cast<int>(threads_.size()); }
  [[nodiscard]] std::string_view name() const override { return "threads"; }
  [[nodiscard]] bool broken() const override { return broken_; }

 private:
  using BatchState = pool_detail::BatchState;
  // Waits (spin, then park: `running` counts the caller) for the workers' ranges; throws
  // ExecutorError for a task past the timeout.
  void AwaitWorkers(BatchState& state, park::Running& running);
  // Ends the batch (no further task of it starts), marks the pool broken, throws saying why.
  [[noreturn]] void Abandon(BatchState& state, const std::string& why);
  // Tells every worker to stop and joins it (a stuck one is detached; see the destructor).
  void StopAndJoin();

  std::shared_ptr<pool_detail::Shared> shared_;
  std::vector<std::thread> threads_;
  std::unique_ptr<pool_detail::Runner> caller_;  // the caller's runner cache, for the tasks it runs
  std::chrono::milliseconds timeout_;
  bool broken_ = false;
};

}  // namespace parbench
