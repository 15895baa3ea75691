#include "executors/thread_pool.h"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <climits>
#include <cstring>
#include <system_error>

#include "executors/park.h"

namespace parbench {
namespace pool_detail {
namespace {

// A range of task indices [begin, end) in one word, so that its owner (from the front) and a
// thief (from the back) agree on it with one compare-and-swap.
constexpr std::uint64_t Pack(std::uint32_t begin, std::uint32_t end) {
  return std::uint64_t{begin} | (std::uint64_t{end} << 32);
}
constexpr std::uint32_t Begin(std::uint64_t range) { return static_cast<std::uint32_t>(range); }
constexpr std::uint32_t End(std::uint64_t range) { return static_cast<std::uint32_t>(range >> 32); }

}  // namespace

// One seat's range. A cache line each: its owner writes it on every task.
struct alignas(64) Seat {
  std::atomic<std::uint64_t> range{0};
};

// What a worker thread is doing, read by the caller to spot a task past the timeout. A cache
// line each: every worker writes its own per task.
struct alignas(64) Watch {
  std::atomic<std::int64_t> busy_since_ns{0};  // 0 when idle
  std::atomic<std::uint32_t> task{0};
  std::atomic<std::uint32_t> seat{0};  // the seat it serves (the span's slot)
};

// A thread's runner, rebuilt only when the pool's job changes (a version number, so a batch of
// the same job does not rebuild the cache key).
struct Runner {
  RunnerCache cache;
  std::uint64_t version = 0;
  TaskRunner* runner = nullptr;
};

// One batch, as the workers see it. Two of these alternate (by generation parity): a worker
// that is still looking for work in the last batch never sees the next one's fields change
// under it, and the caller returns as soon as the tasks are done.
struct BatchState {
  explicit BatchState(int workers) : seats(static_cast<std::size_t>(workers)) {}
  // The generation this state holds; 0 while the caller rewrites it (a worker then keeps out).
  alignas(64) std::atomic<std::uint64_t> gen{0};
  std::atomic<int> inside{0};  // workers that entered it and have not left
  // Written by the caller before it publishes the generation; read-only for the workers.
  Job job;  // a copy, so an abandoned worker never reads the caller's freed Batch
  std::uint64_t job_version = 0;
  Batch batch;
  std::vector<Result> results;  // one per task; each seat writes its own contiguous block
  std::atomic<bool> abandoned{false};
  alignas(64) std::atomic<std::uint32_t> next_seat{0};  // the seat the next joining worker takes
  alignas(64) std::atomic<std::uint32_t> done{0};       // tasks finished; the caller sleeps on it
  std::atomic<std::uint32_t> caller_sleeps{0};
  std::vector<Seat> seats;
};

// State shared by the caller and the workers. Held through shared_ptr so that a worker
// detached while stuck in a task never touches freed memory.
struct Shared {
  explicit Shared(int workers)
      : watches(static_cast<std::size_t>(workers)),
        states{std::make_unique<BatchState>(workers), std::make_unique<BatchState>(workers)} {}
  // The latest batch's generation (0: none yet). 64 bits: it never wraps.
  alignas(64) std::atomic<std::uint64_t> gen{0};
  std::atomic<bool> stop{false};
  alignas(64) std::atomic<int> spinning{0};  // workers spinning for the next generation
  park::EventCount sleepers;                 // where idle workers park
  std::vector<Watch> watches;                // by worker thread
  std::unique_ptr<BatchState> states[2];     // by generation parity
  // The caller's own: the last job and its version.
  Job last_job;
  std::uint64_t job_version = 0;
};

namespace {

// Takes the next task of `seat`'s range from its front; false when the range is empty.
bool TakeFront(Seat& seat, std::uint32_t& task) {
  std::uint64_t range = seat.range.load(std::memory_order_relaxed);
  while (Begin(range) < End(range)) {
    if (seat.range.compare_exchange_weak(range, Pack(Begin(range) + 1, End(range)),
                                         std::memory_order_relaxed)) {
      task = Begin(range);
      return true;
    }
  }
  return false;
}

// Moves the back half of the fullest other range into seat `me` (whose range is empty);
// false when no range has a task left.
bool Steal(BatchState& b, std::uint32_t me) {
  for (;;) {
    std::size_t victim = b.seats.size();
    std::uint32_t most = 0;
    for (std::size_t i = 0; i < b.seats.size(); ++i) {
      const std::uint64_t r = b.seats[i].range.load(std::memory_order_relaxed);
      if (i != me && End(r) > Begin(r) && End(r) - Begin(r) > most) {
        most = End(r) - Begin(r);
        victim = i;
      }
    }
    if (most == 0) return false;
    std::uint64_t r = b.seats[victim].range.load(std::memory_order_relaxed);
    if (End(r) <= Begin(r)) continue;
    const std::uint32_t take = (End(r) - Begin(r) + 1) / 2;  // a lone task moves too
    if (b.seats[victim].range.compare_exchange_strong(r, Pack(Begin(r), End(r) - take),
                                                      std::memory_order_relaxed)) {
      // Only this seat's owner ever fills its empty range, so a plain store will do.
      b.seats[me].range.store(Pack(End(r) - take, End(r)), std::memory_order_relaxed);
      return true;
    }
  }
}

// Adds `ran` finished tasks to the batch; the one that completes it wakes a sleeping caller.
void Finish(BatchState& b, std::uint32_t ran) {
  if (ran == 0) return;
  const std::uint32_t done = b.done.fetch_add(ran, std::memory_order_seq_cst) + ran;
  if (done == b.batch.tasks && b.caller_sleeps.load(std::memory_order_seq_cst) != 0) {
    park::FutexWake(b.done, 1);
  }
}

// A task the caller ran past the timeout (the caller cannot watch itself).
struct Overrun {
  bool happened = false;
  std::uint32_t task = 0;
};

// Runs `seat`'s range, then steals from the others, until no range has a task left (or the
// batch is abandoned, or, with timeout_ns > 0, a task ran longer than that: *overrun).
void Serve(BatchState& b, std::uint32_t seat, Runner& runner, Watch& watch,
           std::int64_t timeout_ns = 0, Overrun* overrun = nullptr) {
  const auto slot = static_cast<std::int32_t>(seat);
  watch.seat.store(seat, std::memory_order_relaxed);
  for (;;) {
    std::uint32_t ran = 0;
    std::uint32_t task = 0;
    while (TakeFront(b.seats[seat], task)) {
      if (b.abandoned.load(std::memory_order_relaxed)) return;
      if (runner.version != b.job_version) {  // built when a task needs it
        runner.runner = runner.cache.Get(b.job);
        runner.version = b.job_version;
      }
      watch.task.store(task, std::memory_order_relaxed);
      const std::int64_t start = NowNs();  // one clock read for the watchdog and the span
      watch.busy_since_ns.store(start, std::memory_order_relaxed);
      Result& result = b.results[task];
      result = RunOneTask(runner.runner, runner.cache.error(), b.batch, task, slot, start);
      watch.busy_since_ns.store(0, std::memory_order_relaxed);
      ++ran;
      if (timeout_ns > 0 && result.span.stop_ns - start > timeout_ns) {
        *overrun = {.happened = true, .task = task};
        return;
      }
    }
    Finish(b, ran);
    if (!Steal(b, seat)) return;
  }
}

// A worker's visit to generation `gen`: takes a seat if one is free and serves it. A worker
// that arrives after the caller moved the state on to a newer generation leaves at once.
void Join(Shared& s, std::uint64_t gen, Runner& runner, Watch& watch) {
  BatchState& b = *s.states[gen & 1];
  b.inside.fetch_add(1, std::memory_order_seq_cst);
  if (b.gen.load(std::memory_order_seq_cst) == gen) {
    const std::uint32_t seat = b.next_seat.fetch_add(1, std::memory_order_relaxed);
    if (seat < b.seats.size()) Serve(b, seat, runner, watch);
  }
  b.inside.fetch_sub(1, std::memory_order_release);
}

void WorkerLoop(const std::shared_ptr<Shared>& shared, int index) {
  Shared& s = *shared;
  Watch& watch = s.watches[static_cast<std::size_t>(index)];
  Runner runner;
  std::uint64_t seen = 0;
  const auto news = [&] {
    return s.gen.load(std::memory_order_seq_cst) != seen || s.stop.load(std::memory_order_seq_cst);
  };
  for (;;) {
    if (s.stop.load(std::memory_order_acquire)) return;
    if (const std::uint64_t gen = s.gen.load(std::memory_order_acquire); gen != seen) {
      seen = gen;
      park::Running running;
      Join(s, gen, runner, watch);
      continue;
    }
    // Idle: linger, then park. A spinner is counted, so Run() wakes sleepers only for the
    // ranges the spinners will not take.
    s.spinning.fetch_add(1, std::memory_order_seq_cst);
    const bool changed = park::SpinUntil(park::Spinner::kIdleWorker, news);
    s.spinning.fetch_sub(1, std::memory_order_seq_cst);
    if (changed) continue;
    const std::uint32_t key = s.sleepers.Prepare();
    if (news()) {
      s.sleepers.Cancel();
      continue;
    }
    s.sleepers.Wait(key);
  }
}

// Fills the state of generation `gen` with `batch` and cuts it into one range per seat (the
// first tasks % seats seats get one more). Waits for workers still in that state's last batch.
BatchState& Prepare(Shared& s, const Batch& batch, std::uint64_t gen, bool handoff) {
  BatchState& b = *s.states[gen & 1];
  b.gen.store(0, std::memory_order_seq_cst);  // keep joining workers out, then wait for the rest
  while (b.inside.load(std::memory_order_seq_cst) != 0) std::this_thread::yield();
  if (s.job_version == 0 || s.last_job.workload != batch.job->workload ||
      !(s.last_job.config == batch.job->config)) {
    s.last_job = *batch.job;
    ++s.job_version;
  }
  if (b.job_version != s.job_version) {
    b.job = s.last_job;
    b.job_version = s.job_version;
  }
  b.batch = batch;
  b.batch.job = &b.job;
  b.results = std::vector<Result>(batch.tasks);
  b.abandoned.store(false, std::memory_order_relaxed);
  b.next_seat.store(handoff ? 0 : 1, std::memory_order_relaxed);  // seat 0 is the caller's
  b.done.store(0, std::memory_order_relaxed);
  b.caller_sleeps.store(0, std::memory_order_relaxed);
  const auto seats = static_cast<std::uint32_t>(b.seats.size());
  std::uint32_t begin = 0;
  for (std::uint32_t i = 0; i < seats; ++i) {
    const std::uint32_t size = batch.tasks / seats + (i < batch.tasks % seats ? 1 : 0);
    b.seats[i].range.store(Pack(begin, begin + size), std::memory_order_relaxed);
    begin += size;
  }
  b.gen.store(gen, std::memory_order_release);
  return b;
}

}  // namespace
}  // namespace pool_detail

using pool_detail::BatchState;
using pool_detail::Shared;

ThreadPool::ThreadPool(const ExecutorOptions& options)
    : shared_(std::make_shared<Shared>(options.workers)),
      caller_(std::make_unique<pool_detail::Runner>()),
      timeout_(options.task_timeout) {
  threads_.reserve(static_cast<std::size_t>(options.workers));
  for (int index = 0; index < options.workers; ++index) {
    try {
      threads_.emplace_back(pool_detail::WorkerLoop, shared_, index);
    } catch (const std::system_error& e) {
      // The threads already started are joinable: left to the unwinding, each one's destructor
      // would call std::terminate. Stop and join them, then say why.
      StopAndJoin();
      const int error = e.code().value();
      throw ExecutorError("threads: cannot start worker thread " + std::to_string(index + 1) +
                          " of " + std::to_string(options.workers) + ": " + std::strerror(error) +
                          (error == EAGAIN ? " (the limit on processes and threads, ulimit -u, "
                                             "is reached)"
                                           : ""));
    }
  }
}

ThreadPool::~ThreadPool() { StopAndJoin(); }

void ThreadPool::StopAndJoin() {
  shared_->stop.store(true, std::memory_order_seq_cst);
  shared_->sleepers.Notify(INT_MAX);
  for (std::size_t index = 0; index < threads_.size(); ++index) {
    // A worker whose task ran past the timeout cannot be joined without hanging; let it go.
    // Any other finishes its task (at most the timeout) and is joined: the abandoned batch
    // gives it no further one.
    const std::int64_t since = shared_->watches[index].busy_since_ns.load();
    const bool stuck =
        broken_ && since != 0 && NowNs() - since > std::chrono::nanoseconds(timeout_).count();
    if (stuck) {
      threads_[index].detach();
    } else {
      threads_[index].join();
    }
  }
}

std::vector<Result> ThreadPool::Run(const Batch& batch) {
  if (broken_) throw ExecutorError("threads: the pool is broken by an earlier failure");
  if (batch.tasks == 0) return {};
  Shared& s = *shared_;
  park::Running running;  // the caller competes for the CPUs too
  const std::uint64_t gen = s.gen.load(std::memory_order_relaxed) + 1;
  BatchState& b = pool_detail::Prepare(s, batch, gen, batch.handoff);
  // The worker seats that have tasks. With none (one task the caller may run) the batch is not
  // published: the caller runs it alone, as tbb's and openmp's callers do, and no spinning
  // worker joins it to look for work to steal (or takes its lone task from the caller).
  const auto seats = static_cast<std::uint32_t>(b.seats.size());
  const int ranges = static_cast<int>(std::min(batch.tasks, seats)) - (batch.handoff ? 0 : 1);
  if (ranges > 0) {
    s.gen.store(gen, std::memory_order_seq_cst);
    // Wake sleepers for those seats, less the workers already spinning.
    if (const int wake = ranges - s.spinning.load(std::memory_order_seq_cst); wake > 0) {
      s.sleepers.Notify(wake);
    }
  }
  if (!batch.handoff) {
    pool_detail::Watch unwatched;  // nobody watches the caller; it checks each task itself
    pool_detail::Overrun overrun;
    pool_detail::Serve(b, 0, *caller_, unwatched, std::chrono::nanoseconds(timeout_).count(),
                       &overrun);
    if (overrun.happened) {
      Abandon(b, "task " + std::to_string(overrun.task) +
                     " on the calling thread ran longer than the task timeout of " +
                     std::to_string(timeout_.count()) + " ms (found once it returned)");
    }
  }
  AwaitWorkers(b, running);
  return std::move(b.results);
}

void ThreadPool::AwaitWorkers(BatchState& b, park::Running& running) {
  const std::uint32_t tasks = b.batch.tasks;
  const auto finished = [&] { return b.done.load(std::memory_order_acquire) == tasks; };
  if (park::SpinUntil(park::Spinner::kWaitingCaller, finished)) return;
  // Wake up now and then to look for a task past the timeout; the last range wakes us at once.
  const auto check_every = std::min<std::chrono::nanoseconds>(timeout_, std::chrono::seconds(1));
  for (;;) {
    b.caller_sleeps.store(1, std::memory_order_seq_cst);
    const std::uint32_t done = b.done.load(std::memory_order_seq_cst);
    if (done == tasks) break;
    running.Sleep();
    park::FutexWait(b.done, done, check_every);
    running.Wake();
    b.caller_sleeps.store(0, std::memory_order_relaxed);
    if (finished()) break;
    const std::int64_t now = NowNs();
    for (std::size_t index = 0; index < shared_->watches.size(); ++index) {
      const pool_detail::Watch& w = shared_->watches[index];
      const std::int64_t since = w.busy_since_ns.load(std::memory_order_relaxed);
      if (since != 0 && now - since > std::chrono::nanoseconds(timeout_).count()) {
        Abandon(b, "task " + std::to_string(w.task.load()) + " on worker slot " +
                       std::to_string(w.seat.load()) + " ran longer than the task timeout of " +
                       std::to_string(timeout_.count()) +
                       " ms; a thread cannot be killed, so the pool is abandoned with that "
                       "thread running");
      }
    }
  }
  (void)b.done.load(std::memory_order_acquire);  // the results written before the last add
}

void ThreadPool::Abandon(BatchState& b, const std::string& why) {
  broken_ = true;
  // End the abandoned batch: no worker takes another of its tasks (each finishes the one it
  // runs), so nothing of it runs on beside the next pool.
  b.abandoned.store(true, std::memory_order_relaxed);
  for (pool_detail::Seat& seat : b.seats) seat.range.store(0, std::memory_order_relaxed);
  throw ExecutorError("threads: " + why);
}

namespace {

const bool kRegistered = RegisterExecutor({
    .name = "threads",
    // Kept as the README's flag block prints it (docs/executors-threads.md says the rest).
    .summary = "a persistent pool of threads, futex-woken; payloads by reference",
    .dispatch = "no messages: one task at a time; each seat runs its own contiguous range of "
                "tasks and steals half of another's when it runs dry",
    .traits = {.shares_memory = true},
    .make = [](const ExecutorOptions& options) -> std::unique_ptr<Executor> {
      return std::make_unique<ThreadPool>(options);
    },
    .order = 10,
});

}  // namespace

}  // namespace parbench
