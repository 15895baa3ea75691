#include "executors/process/pool.h"

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <deque>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "executors/process/channel.h"
#include "executors/process/frame.h"
#include "executors/process/shm_region.h"
#include "executors/process/spawn.h"
#include "executors/process/worker.h"
#include "executors/process/worker_main.h"

namespace parbench {

namespace {

using Worker = ProcessPool::Worker;
using wire::FrameType;

// How long a worker may take to say hello, and to exit once its stdin is closed.
constexpr std::chrono::seconds kStartTimeout{30};
constexpr std::chrono::seconds kExitGrace{2};
// Adaptive batching: once tasks have been timed, a frame carries about kFrameWorkNs of work
// (tasks of 20 µs go ten to a frame, tasks of 200 µs and more one), so a pipe round trip (tens
// of µs here) is paid per frame instead of per task; the size shrinks smoothly as tasks grow,
// with no cut-off where efficiency would drop.
constexpr double kFrameWorkNs = 200'000;
// Frames a worker may hold at once with the pipe transport: one running, one queued. (With
// shared memory one: every frame's replies use the same place in the region.)
constexpr std::size_t kPipeDepth = 2;

std::int64_t DeadlineIn(std::chrono::nanoseconds from_now) { return NowNs() + from_now.count(); }

// Thrown for a worker that failed during Run(): caught there and handed to ProcessPool::Fail().
struct WorkerFault {
  Worker* worker;
  std::string what;
};

// One Run() of a batch: hands tasks to idle workers (several to a frame once they are seen to
// be tiny), serves the pipes that poll() reports ready, stores results in task order, and
// watches how long each worker has been busy. A failing worker throws WorkerFault.
class Dispatch {
 public:
  Dispatch(const Batch& batch, std::span<const std::unique_ptr<Worker>> workers,
           std::chrono::milliseconds timeout, Transport transport)
      : batch_(batch),
        job_key_(batch.job->workload + '|' + batch.job->config.Serialize()),
        workers_(workers),
        timeout_(timeout),
        timeout_ns_(std::chrono::nanoseconds(timeout).count()),
        transport_(transport),
        results_(batch.tasks) {}

  [[nodiscard]] bool finished() const { return completed_ == batch_.tasks; }
  std::vector<Result> TakeResults() { return std::move(results_); }

  // Gives the next tasks to every worker that has none, then a queued frame to every worker
  // with room, while at least one task per worker remains (at the end, a queued task could
  // wait behind a slow one while another worker idles).
  void AssignIdleWorkers() {
    for (const auto& w : workers_) {
      if (next_ < batch_.tasks && !w->busy()) Assign(*w);
    }
    const std::size_t depth = transport_ == Transport::kShm ? 1 : kPipeDepth;
    for (const auto& w : workers_) {
      // Not while a frame is still going out: its payload view must be sent before the next.
      if (batch_.tasks - next_ >= workers_.size() && w->frames.size() < depth &&
          !w->channel.sending()) {
        Assign(*w);
      }
    }
  }

  // Waits until a busy worker's pipe is ready or a task's time is up; then writes what each
  // ready pipe takes and reads (and handles) what each ready pipe holds.
  void ServeReadyWorkers();

  // Fails the first worker whose tasks have run past the timeout.
  void StopOverdueWorkers() const {
    const std::int64_t now = NowNs();
    for (const auto& w : workers_) {
      if (w->busy() && now - w->busy_since_ns > timeout_ns_) {
        throw WorkerFault{w.get(), "ran longer than the task timeout of " +
                                       std::to_string(timeout_.count()) + " ms and was killed"};
      }
    }
  }

 private:
  [[nodiscard]] std::uint32_t ChunkSize() const;
  void Assign(Worker& w);
  void PutPayloadInRegion(Worker& w);
  void Receive(Worker& w);
  void HandleFrames(Worker& w);
  void StoreResults(Worker& w, std::span<const std::byte> body);
  void StoreResult(Worker& w, wire::ResultRecord record);

  const Batch& batch_;
  const std::string job_key_;
  std::span<const std::unique_ptr<Worker>> workers_;
  std::chrono::milliseconds timeout_;
  std::int64_t timeout_ns_;
  Transport transport_;
  std::vector<Result> results_;
  std::uint32_t next_ = 0;       // the first task not yet handed out
  std::uint32_t completed_ = 0;  // tasks answered
  std::int64_t busy_ns_ = 0;     // summed task durations seen so far, for adaptive batching
  std::vector<pollfd> fds_;      // reused by every poll()
  std::vector<Worker*> fd_owners_;
};

// How many tasks the next frame carries (see kFrameWorkNs).
std::uint32_t Dispatch::ChunkSize() const {
  if (completed_ == 0) return 1;
  const double mean_ns = static_cast<double>(busy_ns_) / static_cast<double>(completed_);
  const double by_work = kFrameWorkNs / std::max(mean_ns, 1.0);
  // Leave work for every worker: at most half of a fair share of what remains.
  const double fair =
      static_cast<double>(batch_.tasks - next_) / (2.0 * static_cast<double>(workers_.size()));
  return static_cast<std::uint32_t>(std::clamp(std::min(by_work, fair), 1.0, 65'536.0));
}

// Sends `w` a frame of the next tasks (after a configure frame if its job changed).
void Dispatch::Assign(Worker& w) {
  if (w.job_key != job_key_) {
    w.channel.Queue(wire::ConfigureFrame(batch_.job->workload, batch_.job->config.Serialize()));
    w.job_key = job_key_;
  }
  const std::uint32_t count = std::min(ChunkSize(), batch_.tasks - next_);
  std::uint32_t flags = 0;
  if (transport_ == Transport::kShm) {
    PutPayloadInRegion(w);
    flags = wire::kPayloadInShm;
  } else {
    w.channel.QueuePayload(batch_.payload);  // follows the prefix, straight from the caller
  }
  w.channel.Queue(wire::TasksFramePrefix(next_, count, batch_.payload.size(), flags));
  if (!w.busy()) w.busy_since_ns = NowNs();
  w.frames.push_back({.first = next_, .count = count, .done = 0});
  next_ += count;
  if (!w.channel.Flush()) throw WorkerFault{&w, "closed its stdin"};
}

// The payload crosses here, one copy into the worker's region; the rest of the region (at
// least as large again) takes the reply.
void Dispatch::PutPayloadInRegion(Worker& w) {
  const std::uint64_t reply_at = wire::ReplyOffset(batch_.payload.size());
  w.region->Reserve(
      static_cast<std::size_t>(reply_at + std::max<std::size_t>(batch_.payload.size(), 4096)));
  if (!batch_.payload.empty()) {
    std::memcpy(w.region->data(), batch_.payload.data(), batch_.payload.size());
  }
}

void Dispatch::ServeReadyWorkers() {
  fds_.clear();
  fd_owners_.clear();
  std::int64_t deadline = INT64_MAX;
  for (const auto& w : workers_) {
    if (!w->busy()) continue;
    fds_.push_back({w->channel.read_fd(), POLLIN, 0});
    fd_owners_.push_back(w.get());
    if (w->channel.sending()) {
      fds_.push_back({w->channel.write_fd(), POLLOUT, 0});
      fd_owners_.push_back(w.get());
    }
    deadline = std::min(deadline, w->busy_since_ns + timeout_ns_);
  }
  if (::poll(fds_.data(), fds_.size(), MillisUntil(deadline)) < 0) {
    if (errno == EINTR) return;
    throw ExecutorError(std::string("processes: poll: ") + std::strerror(errno));
  }
  for (std::size_t i = 0; i < fds_.size(); ++i) {
    if (fds_[i].revents == 0) continue;
    Worker& w = *fd_owners_[i];
    // EPIPE on a write: the worker is gone; reading gets its last words and its exit status.
    if (fds_[i].fd == w.channel.read_fd() || !w.channel.Flush()) Receive(w);
  }
}

// Reads and handles everything `w`'s pipe holds; fails it at end of file.
void Dispatch::Receive(Worker& w) {
  for (;;) {
    switch (w.channel.Receive()) {
      case Channel::Received::kData:
        HandleFrames(w);
        break;
      case Channel::Received::kWouldBlock:
        return;
      case Channel::Received::kClosed:
        w.process.Reap(std::chrono::milliseconds(1000));  // end of file: the worker is exiting
        throw WorkerFault{&w, DescribeStatus(w.process.status())};
    }
  }
}

// Handles every complete frame received from `w`.
void Dispatch::HandleFrames(Worker& w) {
  try {
    wire::Header header;
    std::span<const std::byte> body;
    while (w.channel.NextFrame(header, body)) {
      switch (static_cast<FrameType>(header.type)) {
        case FrameType::kResults:
          StoreResults(w, body);
          break;
        case FrameType::kError:
          throw WorkerFault{&w, "reported: " + wire::Reader(body).Str()};
        default:
          throw wire::ProtocolError("unexpected frame type " + std::to_string(header.type));
      }
    }
  } catch (const wire::ProtocolError& e) {
    throw WorkerFault{&w, std::string("broke the protocol: ") + e.what()};
  }
}

// Stores the results of a kResults frame; `w` is idle again once all its tasks are answered.
void Dispatch::StoreResults(Worker& w, std::span<const std::byte> body) {
  wire::Reader reader(body);
  const std::uint32_t n = reader.U32();
  for (std::uint32_t i = 0; i < n; ++i) StoreResult(w, wire::DecodeResult(reader));
  reader.ExpectEnd();
  // Frames answered in full are done; the worker has started on the next one, if any.
  while (!w.frames.empty() && w.frames.front().done == w.frames.front().count) {
    w.frames.pop_front();
    w.busy_since_ns = NowNs();
  }
}

// Stores one task's result, if it is one of the tasks `w` was given.
void Dispatch::StoreResult(Worker& w, wire::ResultRecord record) {
  const auto frame = std::find_if(w.frames.begin(), w.frames.end(), [&](const Worker::Frame& f) {
    return record.task >= f.first && record.task < f.first + f.count;
  });
  if (frame == w.frames.end() || frame->done == frame->count) {
    throw wire::ProtocolError("result for task " + std::to_string(record.task) +
                              " that it was not given");
  }
  Result& r = results_[record.task];
  r.value = record.value;
  r.span = {.slot = w.slot,
            .task = record.task,
            .pid = w.process.pid(),
            .tid = record.tid,
            .start_ns = record.start_ns,
            .stop_ns = record.stop_ns};
  r.error = std::move(record.error);
  if ((record.flags & wire::kReplyInShm) != 0) {
    const std::uint64_t at = wire::ReplyOffset(batch_.payload.size());
    if (!w.region || at + record.reply_size > w.region->size()) {
      throw wire::ProtocolError("a shared-memory reply outside the region");
    }
    r.reply = {w.region->data() + at, static_cast<std::size_t>(record.reply_size)};
    r.reply_owner = w.region->mapping();
  } else if (!record.reply.empty()) {
    r.reply = record.reply;  // points into the frame: its buffer goes to the result
    r.reply_owner = w.channel.KeepFrame();
  }
  busy_ns_ += record.stop_ns - record.start_ns;
  ++frame->done;
  ++completed_;
}

}  // namespace

ProcessPool::ProcessPool(const ExecutorOptions& options)
    : timeout_(options.task_timeout), transport_(options.transport) {
  // If a worker cannot start or say hello, the throw destroys workers_: each Worker closes its
  // pipes, then its ChildProcess kills and reaps the process without grace.
  workers_.reserve(static_cast<std::size_t>(options.workers));
  for (int slot = 0; slot < options.workers; ++slot) workers_.push_back(StartWorker(slot, options));
  WaitForHellos();
}

ProcessPool::~ProcessPool() {
  // Closing stdin asks every worker to exit; a broken pool's workers get no grace.
  for (auto& w : workers_) w->channel.CloseOutput();
  const std::int64_t deadline = DeadlineIn(broken_ ? std::chrono::seconds(0) : kExitGrace);
  for (auto& w : workers_) {
    // End of file on its stdout: the worker has exited (or closed it).
    if (!w->process.reaped()) w->channel.DrainUntilClosed(deadline);
    w->process.Reap(std::chrono::milliseconds(MillisUntil(deadline)));
    w->channel.CloseInput();
  }
}

std::vector<int> ProcessPool::pids() const {
  std::vector<int> out;
  for (const auto& w : workers_) out.push_back(w->process.pid());
  return out;
}

void ProcessPool::Fail(Worker& worker, const std::string& what) {
  broken_ = true;
  worker.channel.CloseOutput();
  worker.process.Reap(std::chrono::milliseconds(200));
  std::string message = "processes: worker slot " + std::to_string(worker.slot) + " (pid " +
                        std::to_string(worker.process.pid()) + ") " + what;
  if (worker.busy()) {
    const Worker::Frame& f = worker.frames.front();  // the frame it was running
    message += f.count == 1 ? " while running task " + std::to_string(f.first + f.done)
                            : " while running tasks " + std::to_string(f.first) + ".." +
                                  std::to_string(f.first + f.count - 1);
  }
  throw ExecutorError(message);
}

void ProcessPool::WaitForHellos() {
  // A hello is a header and the worker's pid; reading no more leaves anything a worker sends
  // after it in the pipe, where Run()'s poll() sees it.
  constexpr std::size_t kHelloBytes = sizeof(wire::Header) + sizeof(std::int32_t);
  const std::int64_t deadline = DeadlineIn(kStartTimeout);
  for (auto& w : workers_) {
    wire::Header header;
    std::span<const std::byte> body;
    try {
      while (!w->channel.NextFrame(header, body)) {
        // A frame that could be complete, and is not, announced a longer body than a hello's.
        if (w->channel.buffered() >= kHelloBytes) Fail(*w, "sent a malformed hello");
        if (!w->channel.WaitReadable(deadline)) {
          Fail(*w, "did not say hello within " + std::to_string(kStartTimeout.count()) + " s");
        }
        const std::size_t missing = kHelloBytes - w->channel.buffered();
        if (w->channel.Receive(missing) == Channel::Received::kClosed) {
          w->process.Reap(std::chrono::milliseconds(500));
          Fail(*w, DescribeStatus(w->process.status()) + " before saying hello");
        }
      }
    } catch (const wire::ProtocolError& e) {
      Fail(*w, std::string("broke the protocol at hello: ") + e.what());
    }
    std::int32_t pid = 0;
    if (body.size() == sizeof pid) std::memcpy(&pid, body.data(), sizeof pid);
    if (header.type != static_cast<std::uint16_t>(FrameType::kHello) || body.size() != sizeof pid ||
        pid != w->process.pid()) {
      Fail(*w, "sent a malformed hello");
    }
  }
}

std::vector<Result> ProcessPool::Run(const Batch& batch) {
  if (broken_) throw ExecutorError("processes: the pool is broken by an earlier failure");
  if (batch.payload.size() > wire::kMaxPayload) {
    throw ExecutorError("processes: a payload of " + std::to_string(batch.payload.size()) +
                        " bytes exceeds the frame limit of " + std::to_string(wire::kMaxPayload));
  }
  Dispatch dispatch(batch, workers_, timeout_, transport_);
  try {
    while (!dispatch.finished()) {
      dispatch.AssignIdleWorkers();
      dispatch.ServeReadyWorkers();
      dispatch.StopOverdueWorkers();
    }
  } catch (const WorkerFault& fault) {
    Fail(*fault.worker, fault.what);
  } catch (...) {
    broken_ = true;  // a poll() or region failure: the workers' state is unknown
    throw;
  }
  return dispatch.TakeResults();
}

namespace {

const bool kRegistered = RegisterExecutor({
    .name = "processes",
    .summary = "a persistent pool of worker processes (this binary re-executed); payloads "
               "through pipes or shared memory",
    .traits = {.transport_axis = true, .starts_processes = true},
    .make = [](const ExecutorOptions& options) -> std::unique_ptr<Executor> {
      return std::make_unique<ProcessPool>(options);
    },
    .order = 20,
});

}  // namespace

}  // namespace parbench
