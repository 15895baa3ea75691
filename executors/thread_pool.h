// threads: a pool of persistent worker threads with dynamic scheduling.
//
// Workers start in the constructor and wait for batches. In Run(), each free worker takes the
// next task index from a shared atomic counter (chunk size 1, like executor.map), so the next
// task always goes to the first free worker. Payloads are passed by reference.
#pragma once

#include <memory>
#include <thread>
#include <vector>

#include "executors/executor.h"

namespace parbench {

class ThreadPool final : public Executor {
 public:
  // Starts options.workers threads. When one cannot start (the limit on processes and
  // threads is reached), joins those already started and throws ExecutorError saying why.
  explicit ThreadPool(const ExecutorOptions& options);
  // Waits for the workers to finish their current task, then joins them. A worker stuck in a
  // task past the timeout cannot be killed (threads share the process); it is detached and
  // keeps the pool's shared state alive until its task returns.
  ~ThreadPool() override;
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  // Runs the batch; call from one thread at a time. Throws ExecutorError when a task exceeds
  // the timeout: the pool is then broken().
  std::vector<Result> Run(const Batch& batch) override;
  [[nodiscard]] int workers() const override { return static_cast<int>(threads_.size()); }
  [[nodiscard]] std::string_view name() const override { return "threads"; }
  [[nodiscard]] bool broken() const override { return broken_; }

 private:
  struct Shared;
  static void WorkerLoop(const std::shared_ptr<Shared>& shared, int slot);
  // Tells every worker to stop and joins it (a stuck one is detached; see the destructor).
  void StopAndJoin();

  std::shared_ptr<Shared> shared_;
  std::vector<std::thread> threads_;
  std::chrono::milliseconds timeout_;
  bool broken_ = false;
};

}  // namespace parbench
