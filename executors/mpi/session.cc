#include "executors/mpi/session.h"

#include <signal.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <stdexcept>
#include <thread>

#include "executors/executor.h"
#include "executors/remote/wire.h"
#include "workloads/modules.h"

namespace parbench::mpi {
namespace {

// The session of this process (nullptr until Start()). Never destroyed: Finish() ends MPI.
Session* g_session = nullptr;

// How many ping-pongs measure a rank's clock offset; the one with the shortest round trip wins.
constexpr int kClockRounds = 50;
// How long rank 0 waits for every rank's hello at start.
constexpr std::int64_t kHelloTimeoutNs = 60'000'000'000;
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

std::string Why(int code) { return Mpi().error_string(code); }

void Check(int code, const char* what) {
  if (code != 0) throw std::runtime_error(std::string("mpi: ") + what + ": " + Why(code));
}

// Sets an Open MPI parameter (OMPI_MCA_name) unless the user has set it; notes it in `set`.
void DefaultMca(const char* name, const char* value, std::string& set) {
  const std::string var = std::string("OMPI_MCA_") + name;
  if (std::getenv(var.c_str()) != nullptr) return;
  ::setenv(var.c_str(), value, 0);
  if (!set.empty()) set += ' ';
  set += std::string(name) + '=' + value;
}

// Whether the vader BTL's single-copy mechanism (CMA: process_vm_readv, which needs ptrace
// rights over the peer) can work here. Docker's default seccomp profile refuses the call
// without CAP_SYS_PTRACE, and Yama's ptrace_scope 2 or 3 refuses it between sibling ranks; then
// Open MPI fails the first large message, so bench asks for copy-in/copy-out instead.
bool CrossMemoryAttachWorks() {
  char src[8] = "parbnch";
  char dst[8] = {};
  iovec local{dst, sizeof dst};
  iovec remote{src, sizeof src};
  if (::process_vm_readv(::getpid(), &local, 1, &remote, 1, 0) !=
      static_cast<ssize_t>(sizeof dst)) {
    return false;
  }
  std::ifstream scope("/proc/sys/kernel/yama/ptrace_scope");
  int value = 0;
  return !(scope >> value) || value < 2;
}

// Receives one whole message from `source` with `tag`, waiting for it without burning a core;
// throws after `timeout_ns`.
std::vector<std::byte> Receive(int source, int tag, std::int64_t timeout_ns) {
  const MpiModule& m = Mpi();
  const std::int64_t deadline = NowNs() + timeout_ns;
  Backoff backoff(50'000, 1'000'000);
  for (;;) {
    int found = 0;
    int from = 0;
    int got_tag = 0;
    std::uint64_t bytes = 0;
    Check(m.iprobe(source, tag, &found, &from, &got_tag, &bytes), "MPI_Iprobe");
    if (found != 0) {
      std::vector<std::byte> out(static_cast<std::size_t>(bytes));
      Check(m.recv(out.data(), bytes, source, tag, nullptr), "MPI_Recv");
      return out;
    }
    if (NowNs() > deadline) {
      throw std::runtime_error("mpi: rank " + std::to_string(source) + " did not answer within " +
                               std::to_string(timeout_ns / 1'000'000'000) + " s");
    }
    backoff.Wait();
  }
}

// Rank 0: measures rank `r`'s clock against its own (Cristian's method: the sample with the
// shortest round trip bounds the offset best).
void AlignClock(RankInfo& r) {
  const MpiModule& m = Mpi();
  std::int64_t best_rtt = INT64_MAX;
  for (int i = 0; i < kClockRounds; ++i) {
    const std::int64_t t0 = NowNs();
    Check(m.send(nullptr, 0, r.rank, kClock), "MPI_Send");
    const std::vector<std::byte> reply = Receive(r.rank, kClock, kHelloTimeoutNs);
    const std::int64_t t1 = NowNs();
    wire::Reader reader(reply);
    const std::int64_t theirs = reader.I64();
    if (t1 - t0 < best_rtt) {
      best_rtt = t1 - t0;
      r.clock_offset_ns = theirs - (t0 + (t1 - t0) / 2);
      r.clock_uncertainty_ns = (t1 - t0 + 1) / 2;
    }
  }
}

// Rank 0: greets every rank, learns its host, pid and machine, and aligns its clock.
void GreetRanks(Session& s, const std::string& machine) {
  const MpiModule& m = Mpi();
  s.hosts = {m.processor_name()};
  s.ranks.resize(static_cast<std::size_t>(s.size));
  s.ranks[0] = {
      .rank = 0, .host = 0, .host_name = s.hosts[0], .pid = ::getpid(), .machine = machine};
  for (int r = 1; r < s.size; ++r) {
    const std::vector<std::byte> hello = Receive(r, kHello, kHelloTimeoutNs);
    wire::Reader reader(hello);
    RankInfo& info = s.ranks[static_cast<std::size_t>(r)];
    info.rank = r;
    info.pid = reader.I32();
    info.host_name = reader.Str();
    info.machine = reader.Str();
    std::size_t host = 0;
    while (host < s.hosts.size() && s.hosts[host] != info.host_name) ++host;
    if (host == s.hosts.size()) s.hosts.push_back(info.host_name);
    info.host = static_cast<int>(host);
  }
  for (int r = 1; r < s.size; ++r) {
    RankInfo& info = s.ranks[static_cast<std::size_t>(r)];
    AlignClock(info);
    // Tell the worker who rank 0 is, so it can leave if rank 0 dies.
    std::vector<std::byte> who;
    wire::Writer w(who);
    w.I32(s.ranks[0].pid);
    w.Str(s.hosts[0]);
    Check(m.send(who.data(), who.size(), r, kHello), "MPI_Send");
  }
}

// A worker rank: runs the tasks of one kTasks message and sends one kResults message back,
// then each reply as a kReply message of its own (no copy into the header).
void ServeTasks(const Job& job, RunnerCache& cache, std::span<const std::byte> header,
                std::vector<std::byte>& payload) {
  const MpiModule& m = Mpi();
  wire::Reader reader(header);
  const std::uint32_t first = reader.U32();
  const std::uint32_t count = reader.U32();
  const std::uint64_t payload_size = reader.U64();
  reader.ExpectEnd();
  if (count == 0 || std::uint64_t{first} + count > UINT32_MAX) {
    throw wire::ProtocolError("kTasks with a bad task range");
  }
  if (job.workload.empty()) throw wire::ProtocolError("kTasks before any kConfigure");
  if (payload_size > wire::kMaxPayload) throw wire::ProtocolError("kTasks with a huge payload");
  // Reused across messages: grown once, so a payload is received without page faults.
  if (payload.size() < payload_size) payload.resize(static_cast<std::size_t>(payload_size));
  if (payload_size > 0)
    Check(m.recv(payload.data(), payload_size, 0, kPayload, nullptr), "MPI_Recv");

  TaskRunner* runner = cache.Get(job);
  const Batch batch{.job = &job,
                    .tasks = first + count,
                    .payload = {payload.data(), static_cast<std::size_t>(payload_size)}};
  std::vector<std::byte> head;
  wire::Writer w(head);
  w.U32(count);
  std::deque<std::vector<std::byte>> owned;  // replies of all but the last task, copied
  std::vector<std::span<const std::byte>> replies;
  for (std::uint32_t i = first; i < first + count; ++i) {
    Result result = RunOneTask(runner, cache.error(), batch, i, -1);
    std::span<const std::byte> reply = result.reply;
    // A runner's reply is valid only until its next task: copy it when more tasks follow.
    if (i + 1 < first + count && !reply.empty())
      reply = owned.emplace_back(reply.begin(), reply.end());
    wire::ResultRecord record{.task = i,
                              .value = result.value,
                              .start_ns = result.span.start_ns,
                              .stop_ns = result.span.stop_ns,
                              .tid = result.span.tid,
                              .flags = reply.empty() ? 0 : wire::kReplyApart,
                              .error = result.error,
                              .reply_size = reply.size(),
                              .reply = {}};
    wire::EncodeResultHead(w, record, record.reply_size);
    if (!reply.empty()) replies.push_back(reply);
  }
  Check(m.send(head.data(), head.size(), 0, kResults), "MPI_Send");
  for (const auto& reply : replies) {
    Check(m.send(reply.data(), reply.size(), 0, kReply), "MPI_Send");
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

}  // namespace

RawEcho::RawEcho(int rank, std::uint64_t bytes) : rank_(rank) {
  if (g_session == nullptr || g_session->rank != 0 || rank < 1 || rank >= g_session->size) {
    throw std::runtime_error("mpi: no worker rank " + std::to_string(rank) + " to echo");
  }
  if (g_session->ranks.at(static_cast<std::size_t>(rank)).lost) {
    throw std::runtime_error(
        "mpi: " + Describe(g_session->ranks.at(static_cast<std::size_t>(rank))) +
        " was lost earlier in this run");
  }
  std::vector<std::byte> start;
  wire::Writer(start).U64(bytes);
  Check(Mpi().send(start.data(), start.size(), rank, kRawStart), "MPI_Send");
}

RawEcho::~RawEcho() { (void)Mpi().send(nullptr, 0, rank_, kRawEcho); }

bool RawEcho::RoundTrip(std::span<const std::byte> out, std::span<std::byte> in) {
  const MpiModule& m = Mpi();
  return m.send(out.data(), out.size(), rank_, kRawEcho) == 0 &&
         m.recv(in.data(), in.size(), rank_, kRawEcho, nullptr) == 0;
}

void Backoff::Wait() {
  const std::int64_t now = NowNs();
  if (idle_since_ns_ == 0) idle_since_ns_ = now;
  if (now - idle_since_ns_ < spin_ns_) return;
  std::this_thread::sleep_for(std::chrono::nanoseconds(sleep_ns_));
  sleep_ns_ = std::min(2 * sleep_ns_, max_sleep_ns_);
}

bool UnderMpirun() {
  const char* size = std::getenv("OMPI_COMM_WORLD_SIZE");
  return size != nullptr && std::atoi(size) > 1;
}

Session* Current() { return g_session; }

bool OnThisHost(const RankInfo& r) {
  return g_session != nullptr && r.host_name == g_session->hosts.at(0);
}

bool HasExited(const RankInfo& r) {
  if (r.pid <= 0) return false;
  if (::kill(r.pid, 0) != 0) return errno == ESRCH;
  // A zombie until mpirun reaps it: "PID (comm) Z ...".
  std::ifstream stat("/proc/" + std::to_string(r.pid) + "/stat");
  std::string text;
  std::getline(stat, text);
  const std::size_t paren = text.rfind(')');
  return paren != std::string::npos && paren + 2 < text.size() && text[paren + 2] == 'Z';
}

std::string Describe(const RankInfo& r) {
  return "rank " + std::to_string(r.rank) + " (host " + r.host_name + ", pid " +
         std::to_string(r.pid) + ")";
}

const Session& Start(const std::string& machine) {
  const std::int64_t started = NowNs();
  auto* s = new Session;
  // Before MPI_Init, which reads them: copy-in/copy-out where cross-memory attach cannot work.
  if (!CrossMemoryAttachWorks()) DefaultMca("btl_vader_single_copy_mechanism", "none", s->settings);
  const MpiModule& m = Mpi();  // throws WorkloadError when the module cannot load
  if (const int rc = m.init(&s->rank, &s->size); rc != 0) {
    throw std::runtime_error("mpi: MPI_Init_thread failed: " + Why(rc));
  }
  g_session = s;
  s->library = m.library_version();
  if (s->rank == 0) {
    GreetRanks(*s, machine);
  } else {
    std::vector<std::byte> hello;
    wire::Writer w(hello);
    w.I32(static_cast<std::int32_t>(::getpid()));
    w.Str(m.processor_name());
    w.Str(machine);
    Check(m.send(hello.data(), hello.size(), 0, kHello), "MPI_Send");
  }
  s->start_ms = static_cast<double>(NowNs() - started) / 1e6;
  return *s;
}

int WorkerLoop() {
  Session& s = *g_session;
  const MpiModule& m = Mpi();
  // Ctrl-C reaches mpirun, which ends every rank; a terminal's signals to the process group
  // are for it, not for a worker rank in the middle of a task.
  for (int sig : {SIGINT, SIGQUIT, SIGHUP}) std::signal(sig, SIG_IGN);
  const std::string host = m.processor_name();
  RankInfo rank_zero{.rank = 0};
  Job job;
  RunnerCache cache;
  std::vector<std::byte> payload;
  // Every message but a payload or a raw echo arrives in this buffer, through a receive posted
  // ahead (one matching step instead of a probe and a receive). A payload, or the echo loop's
  // messages, always follow a message handled with no receive posted, so they never land here.
  std::vector<std::byte> control(kControlBytes);
  void* posted = nullptr;
  Backoff backoff(kWorkerSpinNs, kWorkerMaxSleepNs);
  std::int64_t last_check = NowNs();
  try {
    for (;;) {
      if (posted == nullptr) {
        Check(m.irecv(control.data(), control.size(), 0, -1, &posted), "MPI_Irecv");
      }
      int done = 0;
      int tag = 0;
      std::uint64_t bytes = 0;
      Check(m.test(&posted, &done, &tag, &bytes), "MPI_Test");
      if (done == 0) {
        backoff.Wait();
        if (rank_zero.pid > 0 && NowNs() - last_check > kRankZeroCheckNs) {
          last_check = NowNs();
          if (rank_zero.host_name == host && HasExited(rank_zero)) {
            std::fprintf(stderr, "parbench mpi rank %d: rank 0 (pid %d) is gone; exiting\n", s.rank,
                         rank_zero.pid);
            m.forget(&posted);
            return 1;
          }
        }
        continue;
      }
      backoff.Reset();
      if (tag == kPayload || tag == kRawEcho) {
        throw wire::ProtocolError("a payload or echo without the message it follows");
      }
      const std::span<const std::byte> header(control.data(), static_cast<std::size_t>(bytes));
      switch (tag) {
        case kClock: {
          std::vector<std::byte> now;
          wire::Writer(now).I64(NowNs());
          Check(m.send(now.data(), now.size(), 0, kClock), "MPI_Send");
          break;
        }
        case kHello: {
          wire::Reader reader(header);
          rank_zero.pid = reader.I32();
          rank_zero.host_name = reader.Str();
          break;
        }
        case kConfigure: {
          wire::Reader reader(header);
          job.workload = reader.Str();
          job.config = Config::Parse(reader.Str());
          reader.ExpectEnd();
          // At most one payload's worth of memory at a time (see worker_main.cc).
          std::vector<std::byte>().swap(payload);
          (void)cache.Get(job);  // a build error is reported by each of the job's tasks
          break;
        }
        case kTasks:
          ServeTasks(job, cache, header, payload);
          break;
        case kRawStart:
          Echo(header);
          backoff.Reset();
          break;
        case kStop:
          Check(m.finalize(), "MPI_Finalize");
          return 0;
        default:
          throw wire::ProtocolError("unexpected message tag " + std::to_string(tag));
      }
    }
  } catch (const std::exception& e) {
    const std::string message =
        std::string("rank ") + std::to_string(s.rank) + " on " + host + ": " + e.what();
    std::fprintf(stderr, "parbench mpi %s\n", message.c_str());
    std::vector<std::byte> body;
    wire::Writer(body).Str(message.substr(0, wire::kMaxErrorText));
    (void)m.send(body.data(), body.size(), 0, kError);
    return 3;
  }
}

void Finish(int status) {
  Session* s = g_session;
  if (s == nullptr || s->rank != 0) return;
  const MpiModule& m = Mpi();
  for (const RankInfo& r : s->ranks) {
    if (r.lost && !r.gone) {
      std::fprintf(stderr,
                   "bench: mpi: %s was lost and may still be running; MPI_Finalize would wait "
                   "for it, so the job is ended with MPI_Abort\n",
                   Describe(r).c_str());
      std::fflush(nullptr);
      m.abort(status != 0 ? status : 1);
    }
  }
  for (const RankInfo& r : s->ranks) {
    if (r.rank != 0 && !r.lost) (void)m.send(nullptr, 0, r.rank, kStop);
  }
  (void)m.finalize();
}

}  // namespace parbench::mpi
