#include "executors/remote/dispatcher.h"

#include <algorithm>
#include <climits>
#include <utility>

namespace parbench::remote {

Dispatcher::Dispatcher(const Batch& batch, Link& link, std::span<WorkerState> workers,
                       Dispatch dispatch, std::chrono::milliseconds timeout)
    : batch_(batch),
      job_key_(batch.job->workload + '|' + batch.job->config.Serialize()),
      config_(batch.job->config.Serialize()),
      link_(link),
      workers_(workers),
      dispatch_(dispatch),
      timeout_(timeout),
      timeout_ns_(std::chrono::nanoseconds(timeout).count()),
      results_(batch.tasks) {
  for (WorkerState& w : workers_) w.messages.clear();
}

void Dispatcher::Step() {
  AssignIdleWorkers();
  busy_.clear();
  std::int64_t deadline = INT64_MAX;
  for (std::size_t i = 0; i < workers_.size(); ++i) {
    if (!workers_[i].busy()) continue;
    busy_.push_back(static_cast<int>(i));
    deadline = std::min(deadline, workers_[i].busy_since_ns + timeout_ns_);
  }
  link_.Poll(busy_, deadline, *this);
  StopOverdueWorkers();
}

// How many tasks the next message carries (see kMessageWorkNs).
std::uint32_t Dispatcher::ChunkSize() const {
  if (dispatch_ == Dispatch::kPerTask || completed_ == 0) return 1;
  const double mean_ns = static_cast<double>(busy_ns_) / static_cast<double>(completed_);
  const double by_work = kMessageWorkNs / std::max(mean_ns, 1.0);
  // Leave work for every worker: at most half of a fair share of what remains.
  const double fair =
      static_cast<double>(batch_.tasks - next_) / (2.0 * static_cast<double>(workers_.size()));
  return static_cast<std::uint32_t>(std::clamp(std::min(by_work, fair), 1.0, 65'536.0));
}

// Gives the next tasks to every worker that has none, then a queued message to every worker
// with room, while at least one task per worker remains (at the end, a queued task could wait
// behind a slow one while another worker idles).
void Dispatcher::AssignIdleWorkers() {
  const int n = static_cast<int>(workers_.size());
  for (int w = 0; w < n; ++w) {
    if (next_ < batch_.tasks && !workers_[static_cast<std::size_t>(w)].busy()) Assign(w);
  }
  const std::size_t depth = link_.depth();
  for (int w = 0; w < n; ++w) {
    // Not while a message is still going out: its payload view must be sent before the next.
    if (batch_.tasks - next_ >= workers_.size() &&
        workers_[static_cast<std::size_t>(w)].messages.size() < depth && link_.CanSend(w)) {
      Assign(w);
    }
  }
}

// Sends `worker` a message of the next tasks (after a configure message if its job changed).
void Dispatcher::Assign(int worker) {
  WorkerState& w = workers_[static_cast<std::size_t>(worker)];
  if (w.job_key != job_key_) {
    link_.Configure(worker, batch_.job->workload, config_);
    w.job_key = job_key_;
  }
  const std::uint32_t count = std::min(ChunkSize(), batch_.tasks - next_);
  if (!w.busy()) w.busy_since_ns = NowNs();
  w.messages.push_back({.first = next_, .count = count, .done = 0});
  next_ += count;
  ++messages_sent_;
  link_.Send(worker, {.first = next_ - count, .count = count}, batch_.payload);
}

// Fails the first worker whose tasks have run past the timeout.
void Dispatcher::StopOverdueWorkers() {
  const std::int64_t now = NowNs();
  for (std::size_t i = 0; i < workers_.size(); ++i) {
    if (workers_[i].busy() && now - workers_[i].busy_since_ns > timeout_ns_) {
      const int worker = static_cast<int>(i);
      throw WorkerFault{worker, "ran longer than the task timeout of " +
                                    std::to_string(timeout_.count()) + " ms and " +
                                    link_.StopOverdue(worker)};
    }
  }
}

void Dispatcher::Deliver(int worker, Result&& result) {
  const std::uint32_t task = result.span.task;
  if (worker < 0 || static_cast<std::size_t>(worker) >= workers_.size()) {
    throw WorkerFault{worker, "broke the protocol: results it was not asked for"};
  }
  WorkerState& w = workers_[static_cast<std::size_t>(worker)];
  const auto message =
      std::find_if(w.messages.begin(), w.messages.end(), [task](const WorkerState::Message& m) {
        return task >= m.first && task < m.first + m.count;
      });
  if (message == w.messages.end() || message->done == message->count) {
    throw WorkerFault{worker, "broke the protocol: result for task " + std::to_string(task) +
                                  " that it was not given"};
  }
  busy_ns_ += result.span.stop_ns - result.span.start_ns;
  result.span.slot = worker;
  results_[task] = std::move(result);
  ++message->done;
  ++completed_;
  // Messages answered in full are done; the worker has started on the next one, if any.
  while (!w.messages.empty() && w.messages.front().done == w.messages.front().count) {
    w.messages.pop_front();
    w.busy_since_ns = NowNs();
  }
}

std::string Dispatcher::RunningTasks(int worker) const {
  if (worker < 0 || static_cast<std::size_t>(worker) >= workers_.size()) return "";
  const WorkerState& w = workers_[static_cast<std::size_t>(worker)];
  if (!w.busy()) return "";
  const WorkerState::Message& m = w.messages.front();  // the message it was running
  return m.count == 1 ? " while running task " + std::to_string(m.first + m.done)
                      : " while running tasks " + std::to_string(m.first) + ".." +
                            std::to_string(m.first + m.count - 1);
}

std::vector<std::size_t> Dispatcher::InFlight() const {
  std::vector<std::size_t> out;
  for (const WorkerState& w : workers_) out.push_back(w.messages.size());
  return out;
}

}  // namespace parbench::remote
