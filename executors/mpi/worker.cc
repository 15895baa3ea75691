// The worker ranks' side of mpi: WorkerLoop() serves rank 0's messages through the remote
// core's task server; clock pings, rank 0's greeting and the raw echo are served here.
#include <csignal>
#include <cstdio>
#include <string>
#include <vector>

#include "executors/mpi/session.h"
#include "executors/remote/task_server.h"
#include "workloads/modules.h"

namespace parbench::mpi {
namespace {

// Worker ranks: spin this long after the last message (rank 0's next task of a round-trip loop
// comes within microseconds), then sleep up to 1 ms: an idle rank costs about nothing while
// other executors' benchmarks run.
constexpr std::int64_t kWorkerSpinNs = 300'000;
constexpr std::int64_t kWorkerMaxSleepNs = 1'000'000;
// How often an idle worker rank checks that rank 0 (on its host) is still there.
constexpr std::int64_t kRankZeroCheckNs = 200'000'000;
// The largest message a worker rank takes besides payloads: a task header, a job's
// configuration (a URL, a directory), a clock ping.
constexpr std::size_t kControlBytes = 1 << 20;

void Check(int code, const char* what) {
  if (code != 0) {
    throw std::runtime_error(std::string("mpi: ") + what + ": " + Mpi().error_string(code));
  }
}

// A worker rank in echo mode: blocking receive and send, as osu_latency's loop.
void Echo(std::span<const std::byte> start) {
  const MpiModule& m = Mpi();
  wire::Reader reader(start);
  const std::uint64_t bytes = reader.U64();
  reader.ExpectEnd();
  if (bytes == 0 || bytes > wire::kMaxPayload) throw wire::ProtocolError("kRawStart of a bad size");
  std::vector<std::byte> buffer(static_cast<std::size_t>(bytes));
  for (;;) {
    std::uint64_t got = 0;
    Check(m.recv(buffer.data(), bytes, 0, kRawEcho, &got), "MPI_Recv");
    if (got == 0) return;
    Check(m.send(buffer.data(), got, 0, kRawEcho), "MPI_Send");
  }
}

// A worker rank's end: tagged messages from and to rank 0. Every message but a payload or a
// raw echo arrives in one buffer, through a receive posted ahead (one matching step instead of
// a probe and a receive). A payload, or the echo loop's messages, always follow a message
// handled with no receive posted, so they never land there.
class MpiWorkerLink final : public remote::WorkerLink {
 public:
  explicit MpiWorkerLink(int rank) : rank_(rank), host_(Mpi().processor_name()) {}

  bool Next(remote::Incoming& in) override;
  void Add(const wire::ResultRecord& record, std::span<const std::byte> reply) override;
  void Send() override;
  void Fail(const std::string& what) override;
  // True when it stopped because rank 0 is gone (not told to stop).
  [[nodiscard]] bool orphaned() const { return orphaned_; }

 private:
  bool Wait(int& tag, std::uint64_t& bytes);
  bool Handle(int tag, std::span<const std::byte> body, remote::Incoming& in);
  void DecodeTasks(std::span<const std::byte> header, remote::Incoming& in);

  int rank_;
  std::string host_;
  RankInfo rank_zero_{.rank = 0};
  std::vector<std::byte> control_ = std::vector<std::byte>(kControlBytes);
  std::vector<std::byte> payload_;  // reused: grown once, received into without page faults
  void* posted_ = nullptr;
  Backoff backoff_{kWorkerSpinNs, kWorkerMaxSleepNs};
  std::int64_t last_check_ = NowNs();
  bool orphaned_ = false;
  std::vector<std::byte> head_;  // the results message being built
  std::uint32_t count_ = 0;
  std::vector<std::span<const std::byte>> replies_;
};

bool MpiWorkerLink::Next(remote::Incoming& in) {
  for (;;) {
    int tag = 0;
    std::uint64_t bytes = 0;
    if (!Wait(tag, bytes)) return false;
    if (tag == kStop) return false;
    if (Handle(tag, {control_.data(), static_cast<std::size_t>(bytes)}, in)) return true;
  }
}

// Waits for the next control message; false when rank 0 (on this host) is gone.
bool MpiWorkerLink::Wait(int& tag, std::uint64_t& bytes) {
  const MpiModule& m = Mpi();
  for (;;) {
    if (posted_ == nullptr) {
      Check(m.irecv(control_.data(), control_.size(), 0, -1, &posted_), "MPI_Irecv");
    }
    int done = 0;
    Check(m.test(&posted_, &done, &tag, &bytes), "MPI_Test");
    if (done != 0) {
      backoff_.Reset();
      return true;
    }
    backoff_.Wait();
    if (rank_zero_.pid > 0 && NowNs() - last_check_ > kRankZeroCheckNs) {
      last_check_ = NowNs();
      if (rank_zero_.host_name == host_ && HasExited(rank_zero_)) {
        std::fprintf(stderr, "parbench mpi rank %d: rank 0 (pid %d) is gone; exiting\n", rank_,
                     rank_zero_.pid);
        m.forget(&posted_);
        orphaned_ = true;
        return false;
      }
    }
  }
}

// Serves one control message; true when it is one for the task server (in `in`).
bool MpiWorkerLink::Handle(int tag, std::span<const std::byte> body, remote::Incoming& in) {
  const MpiModule& m = Mpi();
  switch (tag) {
    case kClock: {
      std::vector<std::byte> now;
      wire::Writer(now).I64(NowNs());
      Check(m.send(now.data(), now.size(), 0, kClock), "MPI_Send");
      return false;
    }
    case kHello: {  // who rank 0 is, so this rank can leave if rank 0 dies
      wire::Reader reader(body);
      rank_zero_.pid = reader.I32();
      rank_zero_.host_name = reader.Str();
      return false;
    }
    case kRawStart:
      Echo(body);
      backoff_.Reset();
      return false;
    case kConfigure:
      remote::ReadConfigure(body, in);
      std::vector<std::byte>().swap(payload_);  // at most one payload's worth at a time
      return true;
    case kTasks:
      DecodeTasks(body, in);
      return true;
    case kPayload:
    case kRawEcho:
      throw wire::ProtocolError("a payload or echo without the message it follows");
    default:
      throw wire::ProtocolError("unexpected message tag " + std::to_string(tag));
  }
}

// A kTasks header, and the kPayload message that follows it when there is a payload.
void MpiWorkerLink::DecodeTasks(std::span<const std::byte> header, remote::Incoming& in) {
  wire::Reader reader(header);
  remote::ReadTaskRange(reader, in);
  const std::uint64_t payload_size = reader.U64();
  reader.ExpectEnd();
  if (payload_size > wire::kMaxPayload) throw wire::ProtocolError("kTasks with a huge payload");
  if (payload_.size() < payload_size) payload_.resize(static_cast<std::size_t>(payload_size));
  if (payload_size > 0) {
    Check(Mpi().recv(payload_.data(), payload_size, 0, kPayload, nullptr), "MPI_Recv");
  }
  in.payload = {payload_.data(), static_cast<std::size_t>(payload_size)};
  head_.clear();
  wire::Writer(head_).U32(in.range.count);
  replies_.clear();
}

void MpiWorkerLink::Add(const wire::ResultRecord& record, std::span<const std::byte> reply) {
  wire::Writer w(head_);
  if (reply.empty()) {
    wire::EncodeResultHead(w, record, 0);
    return;
  }
  wire::ResultRecord apart = record;  // the reply follows as a kReply message of its own
  apart.flags = wire::kReplyApart;
  wire::EncodeResultHead(w, apart, apart.reply_size);
  replies_.push_back(reply);
}

// One kResults message, then each reply as a kReply message of its own (no copy into it).
void MpiWorkerLink::Send() {
  const MpiModule& m = Mpi();
  Check(m.send(head_.data(), head_.size(), 0, kResults), "MPI_Send");
  for (const auto& reply : replies_) {
    Check(m.send(reply.data(), reply.size(), 0, kReply), "MPI_Send");
  }
}

void MpiWorkerLink::Fail(const std::string& what) {
  const std::string message = "rank " + std::to_string(rank_) + " on " + host_ + ": " + what;
  std::fprintf(stderr, "parbench mpi %s\n", message.c_str());
  std::vector<std::byte> body;
  wire::Writer(body).Str(message.substr(0, wire::kMaxErrorText));
  (void)Mpi().send(body.data(), body.size(), 0, kError);
}

}  // namespace

int WorkerLoop() {
  // Ctrl-C reaches mpirun, which ends every rank; a terminal's signals to the process group
  // are for it, not for a worker rank in the middle of a task.
  for (int sig : {SIGINT, SIGQUIT, SIGHUP}) std::signal(sig, SIG_IGN);
  MpiWorkerLink link(Current()->rank);
  if (const int status = remote::Serve(link); status != 0) return status;
  if (link.orphaned()) return 1;
  if (const int rc = Mpi().finalize(); rc != 0) {
    std::fprintf(stderr, "parbench mpi rank %d: MPI_Finalize failed: %s\n", Current()->rank,
                 Mpi().error_string(rc).c_str());
    return 3;
  }
  return 0;
}

}  // namespace parbench::mpi
