// async: "neither" threads nor processes: one thread runs an event loop that keeps W tasks in
// flight; its workers are those in-flight slots.
//
// Run() drives the workload's asynchronous form (an AsyncTaskRunner: a curl multi handle, an
// io_uring) in the thread that calls it: tasks start in index order while fewer than W are in
// flight, then the loop polls the runner, and each completion frees its slot for the next
// task. There is no hand-off to another thread and nothing to reap; the kernel may still do
// work on the runner's behalf (io_uring's io-wq threads). A workload without an asynchronous
// form cannot run here: every task of its batch reports that (bench never registers such a
// pair; see ExecutorsFor).
//
// Spans: `slot` is the in-flight slot (0..W-1) the task held, start is when Start() was
// called, stop is when Poll() handed the task back, pid/tid are the loop's thread, so a
// timeline shows one lane per slot as it does one per worker thread. A reply is copied out of
// the runner (its view lasts only until the next Poll()).
//
// Timeout: a task in flight longer than task_timeout breaks the executor (ExecutorError); its
// runner, with everything still in flight, is destroyed with it.
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <stdexcept>

#include "executors/executor.h"

namespace parbench {
namespace {

// The most tasks in flight: far beyond a pool of threads, still within the descriptors a
// process gets once bench has raised its soft limit.
constexpr int kMaxInFlight = 1024;

// Free slots, lowest on top: a batch smaller than W uses slots 0..tasks-1.
std::vector<std::int32_t> FreeSlots(int slots) {
  std::vector<std::int32_t> free_slots(static_cast<std::size_t>(slots));
  for (std::size_t i = 0; i < free_slots.size(); ++i) {
    free_slots[i] = static_cast<std::int32_t>(free_slots.size() - 1 - i);
  }
  return free_slots;
}

// Stores completion `c` in its task's result, stopped at `now`; a reply is copied out of the
// runner (its view lasts only until the next Poll()).
void StoreCompletion(Completion& c, Result& r, std::int64_t now) {
  r.span.stop_ns = now;
  r.value = c.output.value;
  r.error = std::move(c.error);
  if (!c.output.reply.empty()) {
    auto copy =
        std::make_shared<std::vector<std::byte>>(c.output.reply.begin(), c.output.reply.end());
    r.reply = *copy;
    r.reply_owner = std::move(copy);
  }
}

class AsyncExecutor final : public Executor {
 public:
  explicit AsyncExecutor(const ExecutorOptions& options)
      : slots_(options.workers), timeout_(options.task_timeout) {}

  // Runs the batch on the calling thread; see the file comment. Throws ExecutorError when a
  // task runs past the timeout or the runner fails as a whole; the executor is then broken().
  std::vector<Result> Run(const Batch& batch) override;
  [[nodiscard]] int workers() const override { return slots_; }
  [[nodiscard]] std::string_view name() const override { return "async"; }
  [[nodiscard]] bool broken() const override { return broken_; }

 private:
  // The runner for `job` (rebuilt only when the job changes), or nullptr (see error_).
  AsyncTaskRunner* RunnerFor(const Job& job);
  // Marks the executor broken, drops the runner and throws ExecutorError(`why`).
  [[noreturn]] void Break(const std::string& why);
  // The completions `runner` has, waiting no longer than until the oldest task in flight
  // (started at `oldest_start_ns`, task `oldest`) reaches the timeout; Break()s past it.
  std::vector<Completion> PollUntilDeadline(AsyncTaskRunner* runner, std::uint32_t oldest,
                                            std::int64_t oldest_start_ns);

  int slots_;
  std::chrono::milliseconds timeout_;
  bool broken_ = false;
  std::string key_{};
  bool built_ = false;
  std::unique_ptr<AsyncTaskRunner> runner_{};
  std::string error_{};
};

AsyncTaskRunner* AsyncExecutor::RunnerFor(const Job& job) {
  std::string key = job.workload + '|' + job.config.Serialize();
  if (built_ && key == key_) return runner_.get();
  runner_.reset();  // the old job's connections or ring go before the new ones come
  error_.clear();
  try {
    runner_ = MakeAsyncRunner(job.workload, job.config);
  } catch (const std::exception& e) {
    error_ = job.workload + ": " + e.what();
  }
  key_ = std::move(key);
  built_ = true;
  return runner_.get();
}

void AsyncExecutor::Break(const std::string& why) {
  broken_ = true;
  runner_.reset();
  built_ = false;
  throw ExecutorError("async: " + why);
}

std::vector<Completion> AsyncExecutor::PollUntilDeadline(AsyncTaskRunner* runner,
                                                         std::uint32_t oldest,
                                                         std::int64_t oldest_start_ns) {
  const std::int64_t timeout_ns = std::chrono::nanoseconds(timeout_).count();
  const std::int64_t left_ns = oldest_start_ns + timeout_ns - NowNs();
  if (left_ns <= 0) {
    Break("task " + std::to_string(oldest) + " ran past the timeout of " +
          std::to_string(timeout_.count()) + " ms");
  }
  const auto wait_ms = static_cast<int>(std::min<std::int64_t>(left_ns / 1'000'000 + 1, INT_MAX));
  try {
    return runner->Poll(wait_ms);
  } catch (const std::exception& e) {
    Break(std::string("the runner failed: ") + e.what());
  }
}

std::vector<Result> AsyncExecutor::Run(const Batch& batch) {
  if (broken_) throw ExecutorError("async: the executor is broken");
  if (batch.handoff) {
    throw std::invalid_argument("async runs every task on the calling thread: no hand-off");
  }
  std::vector<Result> results(batch.tasks);
  AsyncTaskRunner* runner = RunnerFor(*batch.job);
  if (runner == nullptr) {  // every task reports why the runner could not be built
    for (std::uint32_t i = 0; i < batch.tasks; ++i) {
      results[i] = RunOneTask(nullptr, error_, batch, i, static_cast<std::int32_t>(i) % slots_);
    }
    return results;
  }
  const auto pid = static_cast<std::int32_t>(::getpid());
  const auto tid = static_cast<std::int32_t>(::syscall(SYS_gettid));
  std::vector<std::int32_t> free_slots = FreeSlots(slots_);
  std::uint32_t next = 0;    // the next task to start
  std::uint32_t oldest = 0;  // no task before it is still in flight (tasks start in order)
  std::uint32_t done = 0;
  // A task is finished once its stop time is set (CLOCK_MONOTONIC is never 0).
  const auto finished = [&](std::uint32_t i) { return results[i].span.stop_ns != 0; };
  while (done < batch.tasks) {
    while (next < batch.tasks && !free_slots.empty()) {
      Span& span = results[next].span;
      span = {.slot = free_slots.back(), .task = next, .pid = pid, .tid = tid, .start_ns = NowNs()};
      free_slots.pop_back();
      try {
        runner->Start(next, batch.payload, next);
      } catch (const std::exception& e) {
        Break("the runner failed to start task " + std::to_string(next) + ": " + e.what());
      }
      ++next;
    }
    while (oldest < next && finished(oldest)) ++oldest;
    std::vector<Completion> completions =
        PollUntilDeadline(runner, oldest, results[oldest].span.start_ns);
    const std::int64_t now = NowNs();
    for (Completion& c : completions) {
      if (c.tag >= next || finished(static_cast<std::uint32_t>(c.tag))) {
        Break("the runner returned task " + std::to_string(c.tag) + ", which was not in flight");
      }
      Result& r = results[c.tag];
      StoreCompletion(c, r, now);
      free_slots.push_back(r.span.slot);
      ++done;
    }
  }
  return results;
}

const bool kRegistered = RegisterExecutor({
    .name = "async",
    .summary = "one thread, an event loop: workers are tasks in flight (the workload's "
               "asynchronous form: curl multi, io_uring)",
    .dispatch = "no messages: one task per in-flight slot, started in task order",
    .traits = {.shares_memory = true, .async = true},
    .make = [](const ExecutorOptions& options) -> std::unique_ptr<Executor> {
      return std::make_unique<AsyncExecutor>(options);
    },
    .order = 25,  // after the suite's own pools, before the peers
    .max_workers = kMaxInFlight,
    // The pools' counts for a side-by-side view, then what only an event loop reaches.
    .default_workers = {1, 2, 4, 8, 32, 256, 1024},
});

}  // namespace
}  // namespace parbench
