#include "executors/thread_pool.h"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <climits>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <system_error>

namespace parbench {
namespace {

// A counter threads can sleep on: a futex word read and written through std::atomic_ref.
// Not std::atomic<>::wait, because libstdc++'s wait spins and calls sched_yield() a few times
// before it sleeps; with 32 workers on 2 cores those yields are context switches that delay
// the threads with real work.
class Generation {
 public:
  [[nodiscard]] std::uint32_t Load() const {
    return std::atomic_ref<std::uint32_t>(word_).load(std::memory_order_acquire);
  }
  // Returns the value once it differs from `seen`.
  std::uint32_t WaitChange(std::uint32_t seen) const {
    for (;;) {
      const std::uint32_t now = Load();
      if (now != seen) return now;
      // Sleeps only if the word still equals `seen`, so a bump in between is never missed.
      ::syscall(SYS_futex, &word_, FUTEX_WAIT_PRIVATE, seen, nullptr, nullptr, 0);
    }
  }
  // Publishes everything written before it and wakes every waiter with one system call.
  void BumpAndWakeAll() {
    std::atomic_ref<std::uint32_t>(word_).fetch_add(1, std::memory_order_release);
    ::syscall(SYS_futex, &word_, FUTEX_WAKE_PRIVATE, INT_MAX, nullptr, nullptr, 0);
  }

 private:
  alignas(std::atomic_ref<std::uint32_t>::required_alignment) mutable std::uint32_t word_ = 0;
};

}  // namespace

// State shared by the caller and the workers. Held through shared_ptr so that a worker
// detached while stuck in a task never touches freed memory.
struct ThreadPool::Shared {
  // What a worker is doing, read by the caller to spot a task past the timeout.
  // One cache line each: every worker writes its own slot per task, and two slots sharing a
  // line would bounce it between the cores on every task.
  struct alignas(64) Slot {
    std::atomic<std::int64_t> busy_since_ns{0};  // 0 when idle
    std::atomic<std::uint32_t> task{0};
  };

  explicit Shared(int workers) : slots(static_cast<std::size_t>(workers)) {}

  // Starting a batch: the caller writes the batch fields, then bumps `generation` (release)
  // and wakes every waiting worker with one futex call. Workers sleep on that word, not on a
  // condition variable: after a broadcast each waiter must take the mutex again, so 32 woken
  // threads handed one mutex along a chain of wake-ups and the 32nd API request of a batch
  // left 1.1 ms after the first on this 2-core VM. What remains is each thread's own work.
  Generation generation;
  std::atomic<bool> stop{false};
  // Written by the caller before the generation bump, read-only for workers until every
  // worker has left the batch (active reaches 0).
  Job job;  // copies, so an abandoned worker never reads the caller's freed Batch
  Batch batch;
  std::vector<Result> results;  // one per task, each written by exactly one worker
  // The next task index to take. Written by every worker on every task: on a cache line of its
  // own, so that the batch fields the workers read beside it do not bounce with it.
  alignas(64) std::atomic<std::uint32_t> next{0};
  alignas(64) std::atomic<int> active{0};  // workers still in the current batch
  std::vector<Slot> slots;
  // The caller sleeps on done_cv until active reaches 0; the last worker out notifies it
  // under mu, so the wake-up cannot be lost between the caller's check and its wait.
  std::mutex mu;
  std::condition_variable done_cv;
};

ThreadPool::ThreadPool(const ExecutorOptions& options)
    : shared_(std::make_shared<Shared>(options.workers)), timeout_(options.task_timeout) {
  threads_.reserve(static_cast<std::size_t>(options.workers));
  for (int slot = 0; slot < options.workers; ++slot) {
    try {
      threads_.emplace_back(WorkerLoop, shared_, slot);
    } catch (const std::system_error& e) {
      // The threads already started are joinable: left to the unwinding, each one's destructor
      // would call std::terminate. Stop and join them, then say why.
      StopAndJoin();
      const int error = e.code().value();
      throw ExecutorError("threads: cannot start worker thread " + std::to_string(slot + 1) +
                          " of " + std::to_string(options.workers) + ": " + std::strerror(error) +
                          (error == EAGAIN ? " (the limit on processes and threads, ulimit -u, "
                                             "is reached)"
                                           : ""));
    }
  }
}

ThreadPool::~ThreadPool() { StopAndJoin(); }

void ThreadPool::StopAndJoin() {
  shared_->stop.store(true, std::memory_order_relaxed);
  shared_->generation.BumpAndWakeAll();
  for (std::size_t slot = 0; slot < threads_.size(); ++slot) {
    // A worker whose task ran past the timeout cannot be joined without hanging; let it go.
    // Any other finishes its task (at most the timeout) and is joined: the abandoned batch
    // gives it no further one.
    const std::int64_t since = shared_->slots[slot].busy_since_ns.load();
    const bool stuck =
        broken_ && since != 0 && NowNs() - since > std::chrono::nanoseconds(timeout_).count();
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
  std::uint32_t seen = 0;
  for (;;) {
    seen = s.generation.WaitChange(seen);
    if (s.stop.load(std::memory_order_relaxed)) return;
    TaskRunner* runner = cache.Get(s.job);
    for (;;) {
      const std::uint32_t index = s.next.fetch_add(1, std::memory_order_relaxed);
      if (index >= s.batch.tasks) break;
      me.task.store(index, std::memory_order_relaxed);
      const std::int64_t start = NowNs();  // one clock read for the watchdog and the span
      me.busy_since_ns.store(start, std::memory_order_relaxed);
      s.results[index] = RunOneTask(runner, cache.error(), s.batch, index, slot, start);
      me.busy_since_ns.store(0, std::memory_order_relaxed);
    }
    if (s.active.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      std::lock_guard lock(s.mu);
      s.done_cv.notify_one();
    }
  }
}

std::vector<Result> ThreadPool::Run(const Batch& batch) {
  if (broken_) throw ExecutorError("threads: the pool is broken by an earlier failure");
  Shared& s = *shared_;
  s.job = *batch.job;  // no worker reads these until the generation changes
  s.batch = batch;
  s.batch.job = &s.job;
  s.results.assign(batch.tasks, Result{});
  s.next.store(0, std::memory_order_relaxed);
  s.active.store(static_cast<int>(threads_.size()), std::memory_order_relaxed);
  s.generation.BumpAndWakeAll();

  std::unique_lock lock(s.mu);
  // Wake up now and then to look for a task past the timeout; a finished batch wakes us at once.
  const auto check_every = std::min<std::chrono::milliseconds>(timeout_, std::chrono::seconds(1));
  while (!s.done_cv.wait_for(lock, check_every,
                             [&] { return s.active.load(std::memory_order_acquire) == 0; })) {
    const std::int64_t now = NowNs();
    for (std::size_t slot = 0; slot < s.slots.size(); ++slot) {
      const std::int64_t since = s.slots[slot].busy_since_ns.load(std::memory_order_relaxed);
      if (since != 0 && now - since > std::chrono::nanoseconds(timeout_).count()) {
        broken_ = true;
        // End the abandoned batch: no worker takes another of its tasks (each finishes the
        // one it runs), so nothing of it runs on beside the next pool.
        s.next.store(s.batch.tasks, std::memory_order_relaxed);
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

namespace {

const bool kRegistered = RegisterExecutor({
    .name = "threads",
    .summary = "a persistent pool of threads, futex-woken; payloads by reference",
    .traits = {.shares_memory = true},
    .make = [](const ExecutorOptions& options) -> std::unique_ptr<Executor> {
      return std::make_unique<ThreadPool>(options);
    },
    .order = 10,
});

}  // namespace

}  // namespace parbench
