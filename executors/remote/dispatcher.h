// The parent side of the remote-worker core: one Run() of a batch over a Link.
//
// Scheduling is dynamic, in messages. With Dispatch::kAdaptive, once tasks have been timed a
// message carries about kMessageWorkNs of work (several tiny tasks, one long one), so a round
// trip is paid per message instead of per task; with Dispatch::kPerTask every message carries
// one task. Either way each worker holds up to link.depth() messages (one running, the rest
// queued behind it, like ProcessPoolExecutor's call queue) while at least one task per worker
// remains; near the end nothing is queued ahead, so no task waits behind a slow one while
// another worker idles. A worker busy longer than the task timeout is stopped.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <span>
#include <string>
#include <vector>

#include "executors/executor.h"
#include "executors/remote/link.h"

namespace parbench::remote {

// About this much work per message in adaptive mode: tasks of 20 µs go ten to a message, tasks
// of 200 µs and more one; the size shrinks smoothly as tasks grow, with no cut-off where
// efficiency would drop.
inline constexpr double kMessageWorkNs = 200'000;

// What the dispatcher keeps of one worker between runs and during one.
struct WorkerState {
  std::string job_key;  // the job the worker's runner is built for ("" none)
  // Task messages sent and not fully answered, oldest first: the one it runs first.
  struct Message {
    std::uint32_t first = 0;
    std::uint32_t count = 0;
    std::uint32_t done = 0;
  };
  std::deque<Message> messages;
  std::int64_t busy_since_ns = 0;  // when it started on its oldest message
  [[nodiscard]] bool busy() const { return !messages.empty(); }
};

// One Run() of a batch: hands tasks to idle workers, lets the link move messages, stores the
// results in task order and watches each worker's deadline. A failing worker throws
// WorkerFault. Not thread-safe: the thread in Run() drives it.
class Dispatcher final : public Inbox {
 public:
  Dispatcher(const Batch& batch, Link& link, std::span<WorkerState> workers, Dispatch dispatch,
             std::chrono::milliseconds timeout);

  // True once every task has its result.
  [[nodiscard]] bool finished() const { return completed_ == batch_.tasks; }
  // Assigns work, lets the link move messages (waiting at most until the next deadline) and
  // stops a worker that ran past the timeout (WorkerFault).
  void Step();
  // The results, in task order (after finished()).
  [[nodiscard]] std::vector<Result> TakeResults() { return std::move(results_); }
  // Task messages sent in this run.
  [[nodiscard]] std::uint64_t messages_sent() const { return messages_sent_; }
  // " while running task 3" / " while running tasks 4..9" for the message `worker` was running
  // ("" when none).
  [[nodiscard]] std::string RunningTasks(int worker) const;
  // Task messages each worker has not answered.
  [[nodiscard]] std::vector<std::size_t> InFlight() const;

  void Deliver(int worker, Result&& result) override;

 private:
  [[nodiscard]] std::uint32_t ChunkSize() const;
  void AssignIdleWorkers();
  void Assign(int worker);
  void StopOverdueWorkers();

  const Batch& batch_;
  const std::string job_key_;
  const std::string config_;  // the job's Config::Serialize()
  Link& link_;
  std::span<WorkerState> workers_;
  Dispatch dispatch_;
  std::chrono::milliseconds timeout_;
  std::int64_t timeout_ns_;
  std::vector<Result> results_;
  std::uint32_t next_ = 0;       // the first task not yet handed out
  std::uint32_t completed_ = 0;  // tasks answered
  std::int64_t busy_ns_ = 0;     // summed task durations seen so far, for adaptive batching
  std::uint64_t messages_sent_ = 0;
  std::vector<int> busy_;  // reused by every Step()
};

}  // namespace parbench::remote
