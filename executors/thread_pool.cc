#include "executors/thread_pool.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>

namespace parbench {

// State shared by the caller and the workers. Held through shared_ptr so that a worker
// detached while stuck in a task never touches freed memory.
struct ThreadPool::Shared {
  // What a worker is doing, read by the caller to spot a task past the timeout.
  struct Slot {
    std::atomic<std::int64_t> busy_since_ns{0};  // 0 when idle
    std::atomic<std::uint32_t> task{0};
  };

  explicit Shared(int workers) : slots(static_cast<std::size_t>(workers)) {}

  std::mutex mu;
  std::condition_variable work_cv;  // a new batch, or stop
  std::condition_variable done_cv;  // the last worker left the batch
  // Guarded by mu:
  std::uint64_t generation = 0;  // bumped once per batch
  bool stop = false;
  int active = 0;  // workers still in the current batch
  Job job;         // copies, so an abandoned worker never reads the caller's freed Batch
  Batch batch;
  std::vector<Result> results;  // one per task, each written by exactly one worker
  // Lock-free:
  std::atomic<std::uint32_t> next{0};  // the next task index to take
  std::vector<Slot> slots;
};

ThreadPool::ThreadPool(const ExecutorOptions& options)
    : shared_(std::make_shared<Shared>(options.workers)), timeout_(options.task_timeout) {
  threads_.reserve(static_cast<std::size_t>(options.workers));
  for (int slot = 0; slot < options.workers; ++slot) {
    threads_.emplace_back(WorkerLoop, shared_, slot);
  }
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard lock(shared_->mu);
    shared_->stop = true;
  }
  shared_->work_cv.notify_all();
  for (std::size_t slot = 0; slot < threads_.size(); ++slot) {
    // A worker still busy after a timeout cannot be joined without hanging; let it go.
    const bool stuck = broken_ && shared_->slots[slot].busy_since_ns.load() != 0;
    if (stuck) {
      threads_[slot].detach();
    } else {
      threads_[slot].join();
    }
  }
}

void ThreadPool::WorkerLoop(const std::shared_ptr<Shared>& shared, int slot) {
  Shared& s = *shared;
  Shared::Slot& me = s.slots[static_cast<std::size_t>(slot)];
  RunnerCache cache;
  std::uint64_t seen = 0;
  for (;;) {
    {
      std::unique_lock lock(s.mu);
      s.work_cv.wait(lock, [&] { return s.stop || s.generation != seen; });
      if (s.stop) return;
      seen = s.generation;
    }
    // The batch fields are stable until every worker has left (active reaches 0).
    TaskRunner* runner = cache.Get(s.job);
    for (;;) {
      const std::uint32_t index = s.next.fetch_add(1, std::memory_order_relaxed);
      if (index >= s.batch.tasks) break;
      me.task.store(index, std::memory_order_relaxed);
      me.busy_since_ns.store(NowNs(), std::memory_order_relaxed);
      s.results[index] = RunOneTask(runner, cache.error(), s.batch, index, slot);
      me.busy_since_ns.store(0, std::memory_order_relaxed);
    }
    {
      std::lock_guard lock(s.mu);
      if (--s.active == 0) s.done_cv.notify_one();
    }
  }
}

std::vector<Result> ThreadPool::Run(const Batch& batch) {
  if (broken_) throw ExecutorError("threads: the pool is broken by an earlier failure");
  Shared& s = *shared_;
  {
    std::lock_guard lock(s.mu);
    s.job = *batch.job;
    s.batch = batch;
    s.batch.job = &s.job;
    s.results.assign(batch.tasks, Result{});
    s.next.store(0, std::memory_order_relaxed);
    s.active = static_cast<int>(threads_.size());
    ++s.generation;
  }
  s.work_cv.notify_all();

  std::unique_lock lock(s.mu);
  // Wake up now and then to look for a task past the timeout; a finished batch wakes us at once.
  const auto check_every = std::min<std::chrono::milliseconds>(timeout_, std::chrono::seconds(1));
  while (!s.done_cv.wait_for(lock, check_every, [&] { return s.active == 0; })) {
    const std::int64_t now = NowNs();
    for (std::size_t slot = 0; slot < s.slots.size(); ++slot) {
      const std::int64_t since = s.slots[slot].busy_since_ns.load(std::memory_order_relaxed);
      if (since != 0 && now - since > std::chrono::nanoseconds(timeout_).count()) {
        broken_ = true;
        throw ExecutorError(
            "threads: task " + std::to_string(s.slots[slot].task.load()) + " on worker slot " +
            std::to_string(slot) + " ran longer than the task timeout of " +
            std::to_string(timeout_.count()) +
            " ms; a thread cannot be killed, so the pool is abandoned with that thread running");
      }
    }
  }
  return std::move(s.results);
}

}  // namespace parbench
