#include "tests/executors/remote/loopback_link.h"

#include <unistd.h>

#include <climits>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>
#include <utility>
#include <vector>

#include "executors/remote/remote_executor.h"
#include "executors/remote/task_server.h"

namespace parbench::testing {
namespace {

using remote::WorkerFault;

enum class Kind : std::uint8_t { kConfigure, kTasks, kResults, kError };

// One message: what it is, who sent it (for the parent), its encoded fields.
struct Message {
  Kind kind = Kind::kTasks;
  int worker = 0;
  std::vector<std::byte> bytes;
};

// Messages one side puts and the other takes, in order; closing it ends the taker's wait.
class Queue {
 public:
  void Put(Message m) {
    {
      const std::lock_guard lock(mutex_);
      if (closed_) return;
      messages_.push_back(std::move(m));
    }
    ready_.notify_one();
  }
  // The next message, waiting for one until `deadline_ns` (NowNs); none when the queue is
  // closed or the deadline passed.
  std::optional<Message> Take(std::int64_t deadline_ns) {
    std::unique_lock lock(mutex_);
    const auto ready = [this] { return closed_ || !messages_.empty(); };
    if (deadline_ns == INT64_MAX) {
      ready_.wait(lock, ready);
    } else {
      ready_.wait_for(lock, std::chrono::nanoseconds(deadline_ns - NowNs()), ready);
    }
    if (messages_.empty()) return std::nullopt;
    Message m = std::move(messages_.front());
    messages_.pop_front();
    return m;
  }
  void Close() {
    {
      const std::lock_guard lock(mutex_);
      closed_ = true;
    }
    ready_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<Message> messages_;
  bool closed_ = false;
};

// The worker's end: takes its messages from `in`, puts its answers on `out`.
class LoopbackWorkerLink final : public remote::WorkerLink {
 public:
  LoopbackWorkerLink(int worker, std::shared_ptr<Queue> in, std::shared_ptr<Queue> out,
                     Misbehave how)
      : worker_(worker), in_(std::move(in)), out_(std::move(out)), how_(how) {}

  bool Next(remote::Incoming& in) override {
    std::optional<Message> m = in_->Take(INT64_MAX);
    if (!m) return false;  // the parent closed the queue: done
    current_ = std::move(m->bytes);
    if (m->kind == Kind::kConfigure) {
      remote::ReadConfigure(current_, in);
    } else {
      wire::Reader reader(current_);
      remote::ReadTaskRange(reader, in);
      in.payload = reader.Bytes(reader.U64());
      reader.ExpectEnd();
      if (how_ == Misbehave::kReportError) throw std::runtime_error("told to fail");
    }
    answer_.clear();
    wire::Writer(answer_).U32(in.range.count);
    return true;
  }
  void Add(const wire::ResultRecord& record, std::span<const std::byte> reply) override {
    wire::ResultRecord r = record;
    r.reply = reply;  // copied into the answer, as a pipe would
    if (how_ == Misbehave::kForeignResult) r.task += 1'000'000;
    wire::Writer w(answer_);
    wire::EncodeResult(w, r);
  }
  void Send() override {
    out_->Put({.kind = Kind::kResults, .worker = worker_, .bytes = std::move(answer_)});
  }
  void Fail(const std::string& what) override {
    std::vector<std::byte> body;
    wire::Writer(body).Str(what);
    out_->Put({.kind = Kind::kError, .worker = worker_, .bytes = std::move(body)});
  }

 private:
  int worker_;
  std::shared_ptr<Queue> in_;
  std::shared_ptr<Queue> out_;
  Misbehave how_;
  std::vector<std::byte> current_;  // the message Next() returned last (the payload's bytes)
  std::vector<std::byte> answer_;
};

// The parent's end: one queue to each worker thread, one shared queue back.
class LoopbackLink final : public remote::Link {
 public:
  LoopbackLink(const ExecutorOptions& options, int bad_worker, Misbehave how)
      : to_parent_(std::make_shared<Queue>()),
        abandoned_(static_cast<std::size_t>(options.workers), false) {
    for (int w = 0; w < options.workers; ++w) {
      auto queue = to_workers_.emplace_back(std::make_shared<Queue>());
      const Misbehave mine = w == bad_worker ? how : Misbehave::kNothing;
      threads_.emplace_back([w, queue, out = to_parent_, mine] {
        LoopbackWorkerLink link(w, queue, out, mine);
        (void)remote::Serve(link);
      });
    }
  }
  // Closes every worker's queue; joins the threads, but lets go of one stuck in a task past
  // the timeout (it holds its own references to the queues, and ends after its task).
  ~LoopbackLink() override {
    for (auto& queue : to_workers_) queue->Close();
    for (std::size_t w = 0; w < threads_.size(); ++w) {
      if (abandoned_[w]) {
        threads_[w].detach();
      } else {
        threads_[w].join();
      }
    }
  }
  LoopbackLink(const LoopbackLink&) = delete;
  LoopbackLink& operator=(const LoopbackLink&) = delete;

  [[nodiscard]] int workers() const override { return static_cast<int>(threads_.size()); }
  [[nodiscard]] std::size_t depth() const override { return 2; }
  void Configure(int worker, std::string_view workload, std::string_view config) override {
    Message m{.kind = Kind::kConfigure, .worker = worker, .bytes = {}};
    wire::Writer w(m.bytes);
    remote::WriteConfigure(w, workload, config);
    to_workers_[static_cast<std::size_t>(worker)]->Put(std::move(m));
  }
  void Send(int worker, remote::TaskRange range, std::span<const std::byte> payload) override {
    Message m{.kind = Kind::kTasks, .worker = worker, .bytes = {}};
    wire::Writer w(m.bytes);
    remote::WriteTaskRange(w, range);
    w.U64(payload.size());
    w.Raw(payload.data(), payload.size());
    to_workers_[static_cast<std::size_t>(worker)]->Put(std::move(m));
  }
  void Poll(std::span<const int> /*busy*/, std::int64_t deadline_ns,
            remote::Inbox& inbox) override {
    for (auto m = to_parent_->Take(deadline_ns); m; m = to_parent_->Take(0)) Handle(*m, inbox);
  }
  std::string StopOverdue(int worker) override {
    abandoned_[static_cast<std::size_t>(worker)] = true;
    return "was abandoned (a thread cannot be killed)";
  }
  [[nodiscard]] std::string Describe(int worker) const override {
    return "loopback worker " + std::to_string(worker);
  }
  void Abandon(int worker, std::span<const std::size_t> /*in_flight*/,
               const std::string& /*message*/) override {
    if (worker >= 0) to_workers_[static_cast<std::size_t>(worker)]->Close();
  }

 private:
  void Handle(Message& m, remote::Inbox& inbox) {
    if (m.kind == Kind::kError) {
      throw WorkerFault{m.worker, "reported: " + wire::Reader(m.bytes).Str()};
    }
    auto owner = std::make_shared<std::vector<std::byte>>(std::move(m.bytes));
    try {
      wire::Reader reader(*owner);
      const std::uint32_t n = reader.U32();
      for (std::uint32_t i = 0; i < n; ++i) {
        wire::ResultRecord record = wire::DecodeResult(reader);
        Result r{.value = record.value,
                 .span = {.task = record.task,
                          .pid = ::getpid(),
                          .tid = record.tid,
                          .start_ns = record.start_ns,
                          .stop_ns = record.stop_ns},
                 .error = std::move(record.error),
                 .reply = record.reply,
                 .reply_owner = record.reply.empty() ? nullptr : owner};
        inbox.Deliver(m.worker, std::move(r));
      }
      reader.ExpectEnd();
    } catch (const wire::ProtocolError& e) {
      throw WorkerFault{m.worker, std::string("broke the protocol: ") + e.what()};
    }
  }

  std::shared_ptr<Queue> to_parent_;
  std::vector<std::shared_ptr<Queue>> to_workers_;
  std::vector<std::thread> threads_;
  std::vector<bool> abandoned_;
};

const bool kRegistered = RegisterExecutor({
    .name = "loopback",
    .summary = "test double: the remote-worker core over in-memory queues to worker threads",
    .dispatch = "tasks in queued messages, as the remote-worker core's dispatch mode says",
    .traits = {.sends_messages = true},
    .make = [](const ExecutorOptions& options) { return MakeLoopback(options); },
    .order = 90,
});

}  // namespace

std::unique_ptr<Executor> MakeLoopback(const ExecutorOptions& options, int worker, Misbehave how) {
  return std::make_unique<remote::RemoteExecutor>(
      "loopback", std::make_unique<LoopbackLink>(options, worker, how), options);
}

}  // namespace parbench::testing
