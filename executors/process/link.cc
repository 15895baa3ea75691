#include "executors/process/link.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <utility>

#include "executors/park.h"
#include "executors/process/frame.h"
#include "executors/process/spin.h"

namespace parbench {
namespace {

using remote::WorkerFault;
using wire::FrameType;

// How long a worker may take to say hello, and to exit once its stdin is closed.
constexpr std::chrono::seconds kStartTimeout{30};
constexpr std::chrono::seconds kExitGrace{2};
// Frames a worker may hold at once with the pipe transport: one running, one queued.
constexpr std::size_t kPipeDepth = 2;

std::int64_t DeadlineIn(std::chrono::nanoseconds from_now) { return NowNs() + from_now.count(); }

}  // namespace

ProcessLink::ProcessLink(const ExecutorOptions& options) : transport_(options.transport) {
  // If a worker cannot start or say hello, the throw destroys workers_: each worker closes its
  // pipes, then its ChildProcess kills and reaps the process without grace.
  workers_.reserve(static_cast<std::size_t>(options.workers));
  for (int slot = 0; slot < options.workers; ++slot) workers_.push_back(StartWorker(slot, options));
  tasks_out_.assign(workers_.size(), 0);
  slow_.assign(workers_.size(), false);
  WaitForHellos();
}

ProcessLink::~ProcessLink() {
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

std::size_t ProcessLink::depth() const { return transport_ == Transport::kShm ? 1 : kPipeDepth; }

bool ProcessLink::CanSend(int worker) const {
  return !workers_[static_cast<std::size_t>(worker)]->channel.sending();
}

std::vector<int> ProcessLink::pids() const {
  std::vector<int> out;
  for (const auto& w : workers_) out.push_back(w->process.pid());
  return out;
}

std::string ProcessLink::Describe(int worker) const {
  const ProcessWorker& w = *workers_.at(static_cast<std::size_t>(worker));
  return "worker slot " + std::to_string(w.slot) + " (pid " + std::to_string(w.process.pid()) + ")";
}

void ProcessLink::Abandon(int worker, std::span<const std::size_t> /*in_flight*/,
                          const std::string& /*message*/) {
  broken_ = true;
  if (worker < 0 || static_cast<std::size_t>(worker) >= workers_.size()) return;
  ProcessWorker& w = *workers_[static_cast<std::size_t>(worker)];
  w.channel.CloseOutput();
  w.process.Reap(std::chrono::milliseconds(200));
}

[[noreturn]] void ProcessLink::FailAtStart(ProcessWorker& w, const std::string& what) {
  broken_ = true;
  const std::string message = "processes: " + Describe(w.slot) + " " + what;
  w.channel.CloseOutput();
  w.process.Reap(std::chrono::milliseconds(200));
  throw ExecutorError(message);
}

void ProcessLink::WaitForHellos() {
  const std::int64_t deadline = DeadlineIn(kStartTimeout);
  for (auto& w : workers_) {
    try {
      AwaitHello(*w, deadline);
    } catch (const wire::ProtocolError& e) {
      FailAtStart(*w, std::string("broke the protocol at hello: ") + e.what());
    }
  }
}

// A hello is a header and the worker's pid; reading no more leaves anything a worker sends
// after it in the pipe, where Poll()'s poll() sees it.
void ProcessLink::AwaitHello(ProcessWorker& w, std::int64_t deadline) {
  constexpr std::size_t kHelloBytes = sizeof(wire::Header) + sizeof(std::int32_t);
  wire::Header header;
  std::span<const std::byte> body;
  while (!w.channel.NextFrame(header, body)) {
    // A frame that could be complete, and is not, announced a longer body than a hello's.
    if (w.channel.buffered() >= kHelloBytes) FailAtStart(w, "sent a malformed hello");
    if (!w.channel.WaitReadable(deadline)) {
      FailAtStart(w, "did not say hello within " + std::to_string(kStartTimeout.count()) + " s");
    }
    const std::size_t missing = kHelloBytes - w.channel.buffered();
    if (w.channel.Receive(missing) == Channel::Received::kClosed) {
      w.process.Reap(std::chrono::milliseconds(500));
      FailAtStart(w, DescribeStatus(w.process.status()) + " before saying hello");
    }
  }
  std::int32_t pid = 0;
  if (body.size() == sizeof pid) std::memcpy(&pid, body.data(), sizeof pid);
  if (header.type != static_cast<std::uint16_t>(FrameType::kHello) || body.size() != sizeof pid ||
      pid != w.process.pid()) {
    FailAtStart(w, "sent a malformed hello");
  }
}

void ProcessLink::Configure(int worker, std::string_view workload, std::string_view config) {
  workers_[static_cast<std::size_t>(worker)]->channel.Queue(wire::ConfigureFrame(workload, config));
}

void ProcessLink::Send(int worker, remote::TaskRange range, std::span<const std::byte> payload) {
  ProcessWorker& w = *workers_[static_cast<std::size_t>(worker)];
  std::uint32_t& out = tasks_out_[static_cast<std::size_t>(worker)];
  if (out == 0) ++busy_workers_;
  out += range.count;
  std::uint32_t flags = 0;
  // The worker may spin for its next frame once it has answered, if the CPUs are free for it.
  if (process_spin::MaySpin(busy_workers_, park::RunningThreads(), park::UsableCpus())) {
    flags |= wire::kSpinAfter;
  }
  if (transport_ == Transport::kShm) {
    PutPayloadInRegion(w, payload);
    flags |= wire::kPayloadInShm;
  } else {
    w.channel.QueuePayload(payload);  // follows the prefix, straight from the caller
  }
  w.channel.Queue(wire::TasksFramePrefix(range.first, range.count, payload.size(), flags));
  if (!w.channel.Flush()) Lost(worker);
}

// The payload crosses here, one copy into the worker's region; the rest of the region (at
// least as large again) takes the reply.
void ProcessLink::PutPayloadInRegion(ProcessWorker& w, std::span<const std::byte> payload) {
  const std::uint64_t reply_at = wire::ReplyOffset(payload.size());
  w.region->Reserve(
      static_cast<std::size_t>(reply_at + std::max<std::size_t>(payload.size(), 4096)));
  if (!payload.empty()) std::memcpy(w.region->data(), payload.data(), payload.size());
}

void ProcessLink::Poll(std::span<const int> busy, std::int64_t deadline_ns, remote::Inbox& inbox) {
  fds_.clear();
  fd_owners_.clear();
  for (int worker : busy) {
    const Channel& channel = workers_[static_cast<std::size_t>(worker)]->channel;
    fds_.push_back({channel.read_fd(), POLLIN, 0});
    fd_owners_.push_back(worker);
    if (channel.sending()) {
      fds_.push_back({channel.write_fd(), POLLOUT, 0});
      fd_owners_.push_back(worker);
    }
  }
  // Spin first (spin.h), then block; a spin that ran out leaves the wait to poll().
  int ready = 0;
  if (ShouldSpin(busy)) {
    const auto left = std::chrono::nanoseconds(std::max<std::int64_t>(0, deadline_ns - NowNs()));
    ready =
        process_spin::SpinPoll(fds_, std::min<std::chrono::nanoseconds>(process_spin::kSpin, left));
  }
  if (ready == 0) ready = ::poll(fds_.data(), fds_.size(), MillisUntil(deadline_ns));
  if (ready < 0) {
    if (errno == EINTR) return;
    throw ExecutorError(std::string("processes: poll: ") + std::strerror(errno));
  }
  for (std::size_t i = 0; i < fds_.size(); ++i) {
    if (fds_[i].revents == 0) continue;
    const int worker = fd_owners_[i];
    Channel& channel = workers_[static_cast<std::size_t>(worker)]->channel;
    // EPIPE on a write: the worker is gone; reading gets its last words and its exit status.
    if (fds_[i].fd == channel.read_fd() || !channel.Flush()) Receive(worker, inbox);
  }
}

// Spinning pays while the busy workers and the parent fit on the CPUs, and while a worker
// answers within a spin: waiting for long tasks is better done asleep.
bool ProcessLink::ShouldSpin(std::span<const int> busy) const {
  if (!process_spin::MaySpin(static_cast<int>(busy.size()), park::RunningThreads(),
                             park::UsableCpus())) {
    return false;
  }
  return std::any_of(busy.begin(), busy.end(),
                     [this](int w) { return !slow_[static_cast<std::size_t>(w)]; });
}

// Reads and handles everything the worker's pipe holds; fails it at end of file.
void ProcessLink::Receive(int worker, remote::Inbox& inbox) {
  ProcessWorker& w = *workers_[static_cast<std::size_t>(worker)];
  for (;;) {
    switch (w.channel.Receive()) {
      case Channel::Received::kData:
        HandleFrames(worker, inbox);
        if (w.channel.drained()) return;
        break;
      case Channel::Received::kWouldBlock:
        return;
      case Channel::Received::kClosed:
        Lost(worker);
    }
  }
}

// A killed worker's pipes close before it can be waited for, so EPIPE or end of file can come
// first: the reap waits for the status that says what happened (signal 9, exit 3, ...).
void ProcessLink::Lost(int worker) {
  ProcessWorker& w = *workers_[static_cast<std::size_t>(worker)];
  w.process.Reap(std::chrono::milliseconds(1000));
  throw WorkerFault{worker, DescribeStatus(w.process.status())};
}

// Handles every complete frame received from the worker.
void ProcessLink::HandleFrames(int worker, remote::Inbox& inbox) {
  Channel& channel = workers_[static_cast<std::size_t>(worker)]->channel;
  try {
    wire::Header header;
    std::span<const std::byte> body;
    while (channel.NextFrame(header, body)) {
      switch (static_cast<FrameType>(header.type)) {
        case FrameType::kResults:
          StoreResults(worker, body, inbox);
          break;
        case FrameType::kError:
          throw WorkerFault{worker, "reported: " + wire::Reader(body).Str()};
        default:
          throw wire::ProtocolError("unexpected frame type " + std::to_string(header.type));
      }
    }
  } catch (const wire::ProtocolError& e) {
    throw WorkerFault{worker, std::string("broke the protocol: ") + e.what()};
  }
}

// Hands every result of a kResults frame to the inbox.
void ProcessLink::StoreResults(int worker, std::span<const std::byte> body, remote::Inbox& inbox) {
  ProcessWorker& w = *workers_[static_cast<std::size_t>(worker)];
  wire::Reader reader(body);
  const std::uint32_t n = reader.U32();
  std::int64_t work_ns = 0;
  for (std::uint32_t i = 0; i < n; ++i) {
    wire::ResultRecord record = wire::DecodeResult(reader);
    work_ns += record.stop_ns - record.start_ns;
    std::uint32_t& out = tasks_out_[static_cast<std::size_t>(worker)];
    if (out > 0 && --out == 0) --busy_workers_;
    Result r;
    r.value = record.value;
    r.span = {.task = record.task,
              .pid = w.process.pid(),
              .tid = record.tid,
              .start_ns = record.start_ns,
              .stop_ns = record.stop_ns};
    r.error = std::move(record.error);
    if ((record.flags & wire::kReplyInShm) != 0) {
      const std::uint64_t at = wire::ReplyOffset(payload_size_);
      if (!w.region || at + record.reply_size > w.region->size()) {
        throw wire::ProtocolError("a shared-memory reply outside the region");
      }
      r.reply = {w.region->data() + at, static_cast<std::size_t>(record.reply_size)};
      r.reply_owner = w.region->mapping();
    } else if (!record.reply.empty()) {
      r.reply = record.reply;  // points into the frame: its buffer goes to the result
      r.reply_owner = w.channel.KeepFrame();
    }
    inbox.Deliver(worker, std::move(r));
  }
  reader.ExpectEnd();
  slow_[static_cast<std::size_t>(worker)] = work_ns > process_spin::kSpin.count();
}

}  // namespace parbench
