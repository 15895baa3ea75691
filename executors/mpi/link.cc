#include "executors/mpi/link.h"

#include <signal.h>

#include <cstdio>
#include <utility>

#include "workloads/modules.h"

namespace parbench::mpi {
namespace {

using remote::WorkerFault;

// Rank 0 spins this long after the last message, then sleeps (up to 200 µs at a time).
constexpr std::int64_t kSpinNs = 50'000;
constexpr std::int64_t kMaxSleepNs = 200'000;
// How often rank 0 looks for worker ranks of its host that have exited.
constexpr std::int64_t kLivenessCheckNs = 5'000'000;

// When rank 0 last looked for exited ranks (across runs and executors: a round trip is one
// run, and looking costs a read of /proc).
std::int64_t g_last_liveness_ns = 0;

// Worker w is rank w + 1: rank 0 dispatches.
int RankNumber(int worker) { return worker + 1; }

void Check(int code, int worker, const char* what) {
  if (code != 0)
    throw WorkerFault{worker, std::string(what) + " failed: " + Mpi().error_string(code)};
}

}  // namespace

MpiLink::MpiLink(const ExecutorOptions& options)
    : workers_(options.workers), timeout_(options.task_timeout), backoff_(kSpinNs, kMaxSleepNs) {
  const Session* s = Current();
  if (s == nullptr || s->size <= 1) throw ExecutorError("mpi: bench is not running under mpirun");
  const int ranks = s->size - 1;
  if (workers_ > ranks) {
    throw ExecutorError("mpi: " + std::to_string(workers_) + " workers asked for, but mpirun " +
                        "started " + std::to_string(ranks) + " worker rank(s) (-n " +
                        std::to_string(ranks + 1) + ")");
  }
  for (int w = 0; w < workers_; ++w) {
    if (RankOf(w).lost) {
      throw ExecutorError("mpi: " + mpi::Describe(RankOf(w)) + " was lost earlier in this run");
    }
  }
}

RankInfo& MpiLink::RankOf(int worker) const {
  return Current()->ranks.at(static_cast<std::size_t>(RankNumber(worker)));
}

std::string MpiLink::Describe(int worker) const { return mpi::Describe(RankOf(worker)); }

void MpiLink::Begin(const Batch& batch) {
  // Keep at most one spare reply buffer per task, and none much larger than this run needs.
  std::erase_if(replies_, [&](const auto& b) {
    return b.use_count() == 1 && b->size() > 2 * batch.payload.size() + 4096;
  });
}

void MpiLink::Post(int worker, const void* data, std::uint64_t bytes, int tag,
                   std::shared_ptr<std::vector<std::byte>> header) {
  Posted send{.worker = worker, .header = std::move(header)};
  Check(Mpi().isend(data, bytes, RankNumber(worker), tag, &send.request), worker, "MPI_Isend");
  sends_.push_back(std::move(send));
}

void MpiLink::Configure(int worker, std::string_view workload, std::string_view config) {
  auto configure = std::make_shared<std::vector<std::byte>>();
  wire::Writer w(*configure);
  remote::WriteConfigure(w, workload, config);
  Post(worker, configure->data(), configure->size(), kConfigure, configure);
}

void MpiLink::Send(int worker, remote::TaskRange range, std::span<const std::byte> payload) {
  auto header = std::make_shared<std::vector<std::byte>>();
  wire::Writer w(*header);
  remote::WriteTaskRange(w, range);
  w.U64(payload.size());
  Post(worker, header->data(), header->size(), kTasks, header);
  Asked(RankNumber(worker));
  if (!payload.empty()) Post(worker, payload.data(), payload.size(), kPayload, nullptr);
}

bool MpiLink::TestSends() {
  bool any = false;
  for (Posted& send : sends_) {
    int done = 0;
    Check(Mpi().test(&send.request, &done, nullptr, nullptr), send.worker, "MPI_Test");
    any = any || done != 0;
  }
  if (any) std::erase_if(sends_, [](const Posted& s) { return s.request == nullptr; });
  return any;
}

// Finishes sends, handles every waiting message; waits a little when nothing happened; then
// looks for busy ranks of this host that have exited.
void MpiLink::Poll(std::span<const int> busy, std::int64_t /*deadline_ns*/, remote::Inbox& inbox) {
  bool progressed = TestSends();
  for (;;) {
    int found = 0;
    int from = 0;
    int tag = 0;
    std::uint64_t bytes = 0;
    Check(Mpi().iprobe(-1, -1, &found, &from, &tag, &bytes), -1, "MPI_Iprobe");
    if (found == 0) break;
    Handle(from, tag, bytes, inbox);
    progressed = true;
  }
  if (progressed) {
    backoff_.Reset();
  } else if (sends_.empty()) {
    backoff_.Wait();  // a send in flight progresses only while we poll: no sleep then
  }
  WatchRanks(busy);
}

void MpiLink::WatchRanks(std::span<const int> busy) const {
  const std::int64_t now = NowNs();
  if (now - g_last_liveness_ns <= kLivenessCheckNs) return;
  g_last_liveness_ns = now;
  for (int worker : busy) {
    RankInfo& rank = RankOf(worker);
    if (OnThisHost(rank) && HasExited(rank)) {
      rank.gone = true;
      throw WorkerFault{worker, "exited (or was killed)"};
    }
  }
}

void MpiLink::Settle() {
  while (!sends_.empty()) TestSends();
}

std::string MpiLink::StopOverdue(int worker) {
  RankInfo& rank = RankOf(worker);
  if (!OnThisHost(rank)) return "was abandoned (another host)";
  ::kill(rank.pid, SIGKILL);
  rank.gone = true;
  return "was killed";
}

// Receives a message whose arrival Iprobe reported.
void MpiLink::Handle(int from, int tag, std::uint64_t bytes, remote::Inbox& inbox) {
  const int worker = from - 1;
  std::vector<std::byte> body(static_cast<std::size_t>(bytes));
  Check(Mpi().recv(body.data(), bytes, from, tag, nullptr), worker, "MPI_Recv");
  if (tag == kError) throw WorkerFault{worker, "reported: " + wire::Reader(body).Str()};
  if (tag != kResults) {
    throw WorkerFault{worker, "broke the protocol: unexpected message tag " + std::to_string(tag)};
  }
  Answered(from);
  std::vector<wire::ResultRecord> records;
  try {
    wire::Reader reader(body);
    const std::uint32_t n = reader.U32();
    records.reserve(n);
    for (std::uint32_t i = 0; i < n; ++i) records.push_back(wire::DecodeResult(reader));
    reader.ExpectEnd();
  } catch (const wire::ProtocolError& e) {
    throw WorkerFault{worker, std::string("broke the protocol: ") + e.what()};
  }
  RankInfo& rank = RankOf(worker);
  if (rank.stale_frames > 0) {  // the results of a run that failed: received and dropped
    --rank.stale_frames;
    for (const auto& r : records) {
      if ((r.flags & wire::kReplyApart) != 0) (void)ReceiveReply(worker, r.reply_size);
    }
    return;
  }
  for (auto& record : records) Deliver(worker, std::move(record), inbox);
}

void MpiLink::Deliver(int worker, wire::ResultRecord record, remote::Inbox& inbox) {
  const RankInfo& rank = RankOf(worker);
  // Onto rank 0's clock: a rank of this host shares it; another host's is shifted by the
  // offset measured at start.
  const bool here = rank.host == 0;
  const std::int64_t shift = here ? 0 : rank.clock_offset_ns;
  Result r;
  r.value = record.value;
  r.span = {.task = record.task,
            .host = rank.host,
            .rank = rank.rank,
            .pid = rank.pid,
            .tid = record.tid,
            .clock = here ? SpanClock::kHostMonotonic : SpanClock::kAligned,
            .start_ns = record.start_ns - shift,
            .stop_ns = record.stop_ns - shift};
  r.error = std::move(record.error);
  if ((record.flags & wire::kReplyApart) != 0 && record.reply_size > 0) {
    auto buffer = ReceiveReply(worker, record.reply_size);
    r.reply = {buffer->data(), static_cast<std::size_t>(record.reply_size)};
    r.reply_owner = std::move(buffer);
  }
  inbox.Deliver(worker, std::move(r));
}

// A buffer of at least `bytes` that no result holds any more (grown or made when none is).
std::shared_ptr<std::vector<std::byte>> MpiLink::ReplyBuffer(std::uint64_t bytes) {
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

// Receives the reply that follows a result head, into a reply buffer. The rank is sending it
// now: poll (and watch the rank) rather than block in MPI_Recv.
std::shared_ptr<std::vector<std::byte>> MpiLink::ReceiveReply(int worker, std::uint64_t bytes) {
  if (bytes == 0) return nullptr;
  auto buffer = ReplyBuffer(bytes);
  void* request = nullptr;
  Check(Mpi().irecv(buffer->data(), bytes, RankNumber(worker), kReply, &request), worker,
        "MPI_Irecv");
  const int watched[] = {worker};
  const std::int64_t deadline = NowNs() + std::chrono::nanoseconds(timeout_).count();
  for (;;) {
    int done = 0;
    const int rc = Mpi().test(&request, &done, nullptr, nullptr);
    if (rc != 0) {
      Mpi().forget(&request);
      Check(rc, worker, "MPI_Test");
    }
    if (done != 0) return buffer;
    try {
      WatchRanks(watched);
      if (NowNs() > deadline) throw WorkerFault{worker, "did not send its reply in time"};
    } catch (...) {
      Mpi().forget(&request);
      throw;
    }
  }
}

// The failed rank's requests are dropped; the other ranks' messages in flight become stale
// (their results are dropped when they come); their sends are waited for, so the caller's
// payload is not freed under them.
void MpiLink::Abandon(int worker, std::span<const std::size_t> in_flight,
                      const std::string& message) {
  if (worker >= 0) {
    RankOf(worker).lost = true;
    GaveUp(RankNumber(worker));
  }
  for (Posted& send : sends_) {
    if (worker >= 0 && send.worker == worker) Mpi().forget(&send.request);
  }
  std::erase_if(sends_, [](const Posted& s) { return s.request == nullptr; });
  for (int w = 0; w < workers_ && static_cast<std::size_t>(w) < in_flight.size(); ++w) {
    if (w != worker)
      RankOf(w).stale_frames += static_cast<int>(in_flight[static_cast<std::size_t>(w)]);
  }
  const std::int64_t deadline = NowNs() + std::chrono::nanoseconds(timeout_).count();
  try {
    while (!sends_.empty() && NowNs() < deadline) {
      TestSends();
      backoff_.Wait();
    }
  } catch (const WorkerFault&) {
    // A second failure while cleaning up the first: the first one is reported.
  }
  for (Posted& send : sends_) Mpi().forget(&send.request);
  sends_.clear();
  // Now, not only in the benchmark's row: without --enable-recovery mpirun ends the whole job
  // about a second after a rank exits, before the row is printed.
  std::fprintf(stderr, "bench: %s\n", message.c_str());
}

}  // namespace parbench::mpi
