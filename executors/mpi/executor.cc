#include "executors/mpi/executor.h"

#include <signal.h>

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "executors/mpi/session.h"
#include "executors/remote/wire.h"
#include "workloads/modules.h"

namespace parbench {
namespace {

using mpi::RankInfo;

// Adaptive batching, as the process pool's (see process_pool.cc): about 200 µs of work a
// message once tasks are timed, two messages held by a rank while work remains.
constexpr double kFrameWorkNs = 200'000;
constexpr std::size_t kDepth = 2;
// Rank 0 spins this long after the last message, then sleeps (up to 200 µs at a time).
constexpr std::int64_t kSpinNs = 50'000;
constexpr std::int64_t kMaxSleepNs = 200'000;
// How often rank 0 looks for worker ranks of its host that have exited.
constexpr std::int64_t kLivenessCheckNs = 5'000'000;

// When rank 0 last looked for exited ranks (across runs: a round trip is one run, and looking
// costs a read of /proc).
std::int64_t g_last_liveness_ns = 0;

// A rank that failed during Run(): caught there, the rank is marked lost, ExecutorError thrown.
struct RankFault {
  RankInfo* rank;
  std::string what;
  bool gone;  // it has exited (or been killed)
};

struct Frame {
  std::uint32_t first = 0;
  std::uint32_t count = 0;
};

// A send rank 0 has started and must see finished before its buffer may go.
struct Send {
  void* request = nullptr;
  int rank = 0;
  std::shared_ptr<std::vector<std::byte>> header;  // nullptr for the caller's payload
};

// One worker rank as one Run() sees it.
struct Slot {
  int slot = 0;
  RankInfo* rank = nullptr;
  std::deque<Frame> frames{};  // sent, results not yet received
  std::int64_t busy_since_ns = 0;
  [[nodiscard]] bool busy() const { return !frames.empty(); }
};

void Check(int code, RankInfo* rank, const char* what) {
  if (code != 0)
    throw RankFault{rank, std::string(what) + " failed: " + Mpi().error_string(code), false};
}

class Dispatch {
 public:
  Dispatch(const Batch& batch, int workers, std::chrono::milliseconds timeout,
           std::vector<std::shared_ptr<std::vector<std::byte>>>& replies)
      : batch_(batch),
        job_key_(batch.job->workload + '|' + batch.job->config.Serialize()),
        timeout_(timeout),
        timeout_ns_(std::chrono::nanoseconds(timeout).count()),
        replies_(replies),
        results_(batch.tasks),
        backoff_(kSpinNs, kMaxSleepNs) {
    mpi::Session& s = *mpi::Current();
    for (int i = 0; i < workers; ++i) {
      slots_.push_back({.slot = i, .rank = &s.ranks.at(static_cast<std::size_t>(i) + 1)});
    }
  }

  [[nodiscard]] bool finished() const { return completed_ == batch_.tasks; }
  std::vector<Result> TakeResults() { return std::move(results_); }

  void AssignIdleRanks() {
    for (Slot& s : slots_) {
      if (next_ < batch_.tasks && !s.busy()) Assign(s);
    }
    for (Slot& s : slots_) {
      if (batch_.tasks - next_ >= slots_.size() && s.frames.size() < kDepth) Assign(s);
    }
  }

  // Finishes sends, handles every waiting message; waits a little when nothing happened.
  void Progress() {
    bool progressed = TestSends();
    for (;;) {
      int found = 0;
      int from = 0;
      int tag = 0;
      std::uint64_t bytes = 0;
      Check(Mpi().iprobe(-1, -1, &found, &from, &tag, &bytes), nullptr, "MPI_Iprobe");
      if (found == 0) break;
      Handle(from, tag, bytes);
      progressed = true;
    }
    if (progressed) {
      backoff_.Reset();
    } else if (sends_.empty()) {
      backoff_.Wait();  // a send in flight progresses only while we poll: no sleep then
    }
  }

  // Fails a rank whose tasks ran past the timeout, or (on this host) that has exited.
  void CheckRanks() {
    const std::int64_t now = NowNs();
    const bool look = now - g_last_liveness_ns > kLivenessCheckNs;
    if (look) g_last_liveness_ns = now;
    for (Slot& s : slots_) {
      if (!s.busy()) continue;
      if (look && mpi::OnThisHost(*s.rank) && mpi::HasExited(*s.rank)) {
        throw RankFault{s.rank, "exited (or was killed)", true};
      }
      if (now - s.busy_since_ns > timeout_ns_) {
        const bool here = mpi::OnThisHost(*s.rank);
        if (here) ::kill(s.rank->pid, SIGKILL);
        throw RankFault{s.rank,
                        "ran longer than the task timeout of " + std::to_string(timeout_.count()) +
                            (here ? " ms and was killed" : " ms and was abandoned (another host)"),
                        here};
      }
    }
  }

  // Waits until every send has finished (they have: the results came back); a rank's own.
  void FinishSends() {
    while (!sends_.empty()) {
      TestSends();
      CheckRanks();
    }
  }

  // After a fault: the failed rank's requests are dropped; the other ranks' frames in flight
  // become stale (their results are dropped when they come); their sends are waited for, so
  // the caller's payload is not freed under them.
  void Abandon(RankInfo* failed) {
    for (Send& send : sends_) {
      if (failed != nullptr && send.rank == failed->rank) Mpi().forget(&send.request);
    }
    std::erase_if(sends_, [](const Send& s) { return s.request == nullptr; });
    for (Slot& s : slots_) {
      if (s.rank != failed) s.rank->stale_frames += static_cast<int>(s.frames.size());
      s.frames.clear();
    }
    const std::int64_t deadline = NowNs() + timeout_ns_;
    try {
      while (!sends_.empty() && NowNs() < deadline) {
        TestSends();
        backoff_.Wait();
      }
    } catch (const RankFault&) {
      // A second failure while cleaning up the first: the first one is reported.
    }
    for (Send& send : sends_) Mpi().forget(&send.request);
    sends_.clear();
  }

  // The frame a rank was running, for the error message.
  [[nodiscard]] std::string RunningTasks(const RankInfo* rank) const {
    for (const Slot& s : slots_) {
      if (s.rank != rank || !s.busy()) continue;
      const Frame& f = s.frames.front();
      return f.count == 1 ? " while running task " + std::to_string(f.first)
                          : " while running tasks " + std::to_string(f.first) + ".." +
                                std::to_string(f.first + f.count - 1);
    }
    return "";
  }

 private:
  [[nodiscard]] std::uint32_t ChunkSize() const {
    if (completed_ == 0) return 1;
    const double mean_ns = static_cast<double>(busy_ns_) / static_cast<double>(completed_);
    const double by_work = kFrameWorkNs / std::max(mean_ns, 1.0);
    const double fair =
        static_cast<double>(batch_.tasks - next_) / (2.0 * static_cast<double>(slots_.size()));
    return static_cast<std::uint32_t>(std::clamp(std::min(by_work, fair), 1.0, 65'536.0));
  }

  void Post(RankInfo* rank, const void* data, std::uint64_t bytes, int tag,
            std::shared_ptr<std::vector<std::byte>> header) {
    Send send{.rank = rank->rank, .header = std::move(header)};
    Check(Mpi().isend(data, bytes, rank->rank, tag, &send.request), rank, "MPI_Isend");
    sends_.push_back(std::move(send));
  }

  void Assign(Slot& s) {
    if (s.rank->job != job_key_) {
      auto configure = std::make_shared<std::vector<std::byte>>();
      wire::Writer w(*configure);
      w.Str(batch_.job->workload);
      w.Str(batch_.job->config.Serialize());
      Post(s.rank, configure->data(), configure->size(), mpi::kConfigure, configure);
      s.rank->job = job_key_;
    }
    const std::uint32_t count = std::min(ChunkSize(), batch_.tasks - next_);
    auto header = std::make_shared<std::vector<std::byte>>();
    wire::Writer w(*header);
    w.U32(next_);
    w.U32(count);
    w.U64(batch_.payload.size());
    Post(s.rank, header->data(), header->size(), mpi::kTasks, header);
    if (!batch_.payload.empty()) {
      Post(s.rank, batch_.payload.data(), batch_.payload.size(), mpi::kPayload, nullptr);
    }
    if (!s.busy()) s.busy_since_ns = NowNs();
    s.frames.push_back({.first = next_, .count = count});
    next_ += count;
  }

  bool TestSends() {
    bool any = false;
    for (Send& send : sends_) {
      int done = 0;
      Check(Mpi().test(&send.request, &done, nullptr, nullptr), RankOf(send.rank), "MPI_Test");
      any = any || done != 0;
    }
    if (any) std::erase_if(sends_, [](const Send& s) { return s.request == nullptr; });
    return any;
  }

  RankInfo* RankOf(int rank) { return &mpi::Current()->ranks.at(static_cast<std::size_t>(rank)); }

  Slot* SlotOf(int rank) {
    for (Slot& s : slots_) {
      if (s.rank->rank == rank) return &s;
    }
    return nullptr;
  }

  // Receives a message whose arrival Iprobe reported.
  void Handle(int from, int tag, std::uint64_t bytes) {
    RankInfo* rank = RankOf(from);
    std::vector<std::byte> body(static_cast<std::size_t>(bytes));
    Check(Mpi().recv(body.data(), bytes, from, tag, nullptr), rank, "MPI_Recv");
    if (tag == mpi::kError) {
      throw RankFault{rank, "reported: " + wire::Reader(body).Str(), false};
    }
    if (tag != mpi::kResults) {
      throw RankFault{rank, "broke the protocol: unexpected message tag " + std::to_string(tag),
                      false};
    }
    try {
      wire::Reader reader(body);
      const std::uint32_t n = reader.U32();
      std::vector<wire::ResultRecord> records;
      records.reserve(n);
      for (std::uint32_t i = 0; i < n; ++i) records.push_back(wire::DecodeResult(reader));
      reader.ExpectEnd();
      if (rank->stale_frames > 0) {  // the results of a run that failed: received and dropped
        --rank->stale_frames;
        for (const auto& r : records) {
          if ((r.flags & wire::kReplyApart) != 0) (void)ReceiveReply(rank, r.reply_size);
        }
        return;
      }
      Slot* slot = SlotOf(from);
      if (slot == nullptr || !slot->busy()) {
        throw wire::ProtocolError("results it was not asked for");
      }
      const Frame frame = slot->frames.front();
      if (n != frame.count) throw wire::ProtocolError("results for another frame");
      for (auto& record : records) Store(*slot, frame, std::move(record));
      slot->frames.pop_front();
      slot->busy_since_ns = NowNs();
    } catch (const wire::ProtocolError& e) {
      throw RankFault{rank, std::string("broke the protocol: ") + e.what(), false};
    }
  }

  // A buffer of at least `bytes` that no result holds any more (grown or made when none is).
  std::shared_ptr<std::vector<std::byte>> ReplyBuffer(std::uint64_t bytes) {
    const auto n = static_cast<std::size_t>(bytes);
    for (auto& b : replies_) {
      if (b.use_count() == 1 && b->size() >= n) return b;
    }
    for (auto& b : replies_) {
      if (b.use_count() == 1) {
        b->resize(n);
        return b;
      }
    }
    return replies_.emplace_back(std::make_shared<std::vector<std::byte>>(n));
  }

  // Receives the reply that follows a result head, into a reply buffer.
  std::shared_ptr<std::vector<std::byte>> ReceiveReply(RankInfo* rank, std::uint64_t bytes) {
    if (bytes == 0) return nullptr;
    auto buffer = ReplyBuffer(bytes);
    void* request = nullptr;
    Check(Mpi().irecv(buffer->data(), bytes, rank->rank, mpi::kReply, &request), rank, "MPI_Irecv");
    // The rank is sending it now; poll (and watch the rank) rather than block in MPI_Recv.
    for (;;) {
      int done = 0;
      const int rc = Mpi().test(&request, &done, nullptr, nullptr);
      if (rc != 0) {
        Mpi().forget(&request);
        Check(rc, rank, "MPI_Test");
      }
      if (done != 0) return buffer;
      try {
        CheckRanks();
      } catch (...) {
        Mpi().forget(&request);
        throw;
      }
    }
  }

  void Store(Slot& slot, const Frame& frame, wire::ResultRecord record) {
    if (record.task < frame.first || record.task >= frame.first + frame.count) {
      throw wire::ProtocolError("result for task " + std::to_string(record.task) +
                                " that it was not given");
    }
    const RankInfo& rank = *slot.rank;
    // Onto rank 0's clock: a rank of this host shares it; another host's is shifted by the
    // offset measured at start.
    const bool here = rank.host == 0;
    const std::int64_t shift = here ? 0 : rank.clock_offset_ns;
    Result& r = results_[record.task];
    r.value = record.value;
    r.span = {.slot = slot.slot,
              .task = record.task,
              .host = rank.host,
              .rank = rank.rank,
              .pid = rank.pid,
              .tid = record.tid,
              .clock = here ? SpanClock::kHostMonotonic : SpanClock::kAligned,
              .start_ns = record.start_ns - shift,
              .stop_ns = record.stop_ns - shift};
    r.error = std::move(record.error);
    if ((record.flags & wire::kReplyApart) != 0 && record.reply_size > 0) {
      auto buffer = ReceiveReply(slot.rank, record.reply_size);
      r.reply = {buffer->data(), static_cast<std::size_t>(record.reply_size)};
      r.reply_owner = std::move(buffer);
    }
    busy_ns_ += record.stop_ns - record.start_ns;
    ++completed_;
  }

  const Batch& batch_;
  const std::string job_key_;
  std::chrono::milliseconds timeout_;
  std::int64_t timeout_ns_;
  std::vector<std::shared_ptr<std::vector<std::byte>>>& replies_;
  std::vector<Result> results_;
  mpi::Backoff backoff_;
  std::vector<Slot> slots_;
  std::vector<Send> sends_;
  std::uint32_t next_ = 0;
  std::uint32_t completed_ = 0;
  std::int64_t busy_ns_ = 0;
};

bool Available() { return mpi::Current() != nullptr && mpi::Current()->size > 1; }

}  // namespace

int MpiWorkerRanks() { return Available() ? mpi::Current()->size - 1 : 0; }

MpiExecutor::MpiExecutor(const ExecutorOptions& options)
    : workers_(options.workers), timeout_(options.task_timeout) {
  if (!Available()) throw ExecutorError("mpi: bench is not running under mpirun");
  if (workers_ > MpiWorkerRanks()) {
    throw ExecutorError("mpi: " + std::to_string(workers_) + " workers asked for, but mpirun " +
                        "started " + std::to_string(MpiWorkerRanks()) + " worker rank(s) (-n " +
                        std::to_string(MpiWorkerRanks() + 1) + ")");
  }
  for (int r = 1; r <= workers_; ++r) {
    const RankInfo& info = mpi::Current()->ranks.at(static_cast<std::size_t>(r));
    if (info.lost) {
      throw ExecutorError("mpi: " + mpi::Describe(info) + " was lost earlier in this run");
    }
  }
}

std::vector<Result> MpiExecutor::Run(const Batch& batch) {
  if (broken_) throw ExecutorError("mpi: the executor is broken by an earlier failure");
  if (batch.payload.size() > wire::kMaxPayload) {
    throw ExecutorError("mpi: a payload of " + std::to_string(batch.payload.size()) +
                        " bytes exceeds the limit of " + std::to_string(wire::kMaxPayload));
  }
  // Keep at most one spare reply buffer per task, and none much larger than this run needs.
  std::erase_if(replies_, [&](const auto& b) {
    return b.use_count() == 1 && b->size() > 2 * batch.payload.size() + 4096;
  });
  Dispatch dispatch(batch, workers_, timeout_, replies_);
  try {
    while (!dispatch.finished()) {
      dispatch.AssignIdleRanks();
      dispatch.Progress();
      dispatch.CheckRanks();
    }
    dispatch.FinishSends();
  } catch (const RankFault& fault) {
    broken_ = true;
    std::string message = "mpi: ";
    if (fault.rank != nullptr) {
      fault.rank->lost = true;
      fault.rank->gone = fault.gone;
      message += mpi::Describe(*fault.rank) + " " + fault.what + dispatch.RunningTasks(fault.rank);
      dispatch.Abandon(fault.rank);
    } else {
      message += fault.what;
      dispatch.Abandon(nullptr);
    }
    // Now, not only in the benchmark's row: without --enable-recovery mpirun ends the whole job
    // about a second after a rank exits, before the row is printed.
    std::fprintf(stderr, "bench: %s\n", message.c_str());
    throw ExecutorError(message);
  }
  return dispatch.TakeResults();
}

namespace {

const bool kRegistered = RegisterExecutor({
    .name = "mpi",
    .summary = "the worker ranks of an Open MPI job (only under mpirun): rank 0 dispatches, "
               "ranks 1..W run the tasks; payloads and replies as MPI messages",
    .traits = {.starts_processes = false, .remote_workers = true},
    .make = [](const ExecutorOptions& options) -> std::unique_ptr<Executor> {
      return std::make_unique<MpiExecutor>(options);
    },
    .order = 60,
    .available = Available,
    .max_workers_now = MpiWorkerRanks,
    // Not startup (the ranks are started by mpirun, once) nor granularity (its sweep of tiny
    // tasks is the process pool's story again); --executors=mpi runs it everywhere.
    .default_families = {"api", "cpu", "dot", "io", "overhead", "roundtrip", "transfer"},
});

}  // namespace

}  // namespace parbench
