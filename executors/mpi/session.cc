#include "executors/mpi/session.h"

#include <signal.h>
#include <sys/uio.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <stdexcept>
#include <thread>

#include "common/cleanup.h"
#include "executors/executor.h"
#include "executors/remote/wire.h"
#include "workloads/modules.h"

namespace parbench::mpi {
namespace {

// The session of this process (nullptr until Start()). Never destroyed: Finish() ends MPI.
Session* g_session = nullptr;

// What rank 0 awaits from one worker rank (see Asked()).
struct Awaited {
  std::atomic<int> messages{0};           // task messages sent to it and not answered
  std::atomic<bool> echo{false};          // in the raw ping-pong with it
  std::atomic<std::int64_t> since_ns{0};  // last heard from it, or first asked (CoarseNowNs)
};
// By rank, on rank 0 (set by Start(), never destroyed: the interrupt handler may read it).
std::atomic<Awaited*> g_awaited{nullptr};

// A clock that costs a few ns (the last tick, no TSC read), to the tick: precise enough to
// say "for 6.2 s", and cheap beside a microsecond round trip.
std::int64_t CoarseNowNs() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

// The record of `rank`, or nullptr when there is none (not rank 0, no such rank).
Awaited* AwaitedOf(int rank) {
  Awaited* all = g_awaited.load(std::memory_order_relaxed);
  if (all == nullptr || rank < 1 || rank >= g_session->size) return nullptr;
  return &all[rank];
}

// How many ping-pongs measure a rank's clock offset; the one with the shortest round trip wins.
constexpr int kClockRounds = 50;
// How long rank 0 waits for every rank's hello at start.
constexpr std::int64_t kHelloTimeoutNs = 60'000'000'000;
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
  Echoing(rank, true);
  if (const int rc = Mpi().send(start.data(), start.size(), rank, kRawStart); rc != 0) {
    Echoing(rank, false);
    Check(rc, "MPI_Send");
  }
}

RawEcho::~RawEcho() {
  (void)Mpi().send(nullptr, 0, rank_, kRawEcho);
  Echoing(rank_, false);
}

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

void Asked(int rank) {
  Awaited* a = AwaitedOf(rank);
  if (a == nullptr) return;
  if (a->messages.fetch_add(1, std::memory_order_relaxed) == 0) {
    a->since_ns.store(CoarseNowNs(), std::memory_order_relaxed);
  }
}

void Answered(int rank) {
  Awaited* a = AwaitedOf(rank);
  if (a == nullptr) return;
  a->since_ns.store(CoarseNowNs(), std::memory_order_relaxed);
  if (a->messages.load(std::memory_order_relaxed) > 0) {
    a->messages.fetch_sub(1, std::memory_order_relaxed);
  }
}

void GaveUp(int rank) {
  if (Awaited* a = AwaitedOf(rank)) a->messages.store(0, std::memory_order_relaxed);
}

void Echoing(int rank, bool on) {
  Awaited* a = AwaitedOf(rank);
  if (a == nullptr) return;
  a->since_ns.store(CoarseNowNs(), std::memory_order_relaxed);
  a->echo.store(on, std::memory_order_relaxed);
}

std::string WaitingNote() {
  Awaited* all = g_awaited.load();
  if (all == nullptr) return "";
  int longest = 0;  // the rank silent the longest, 0 while none is awaited
  int others = 0;
  for (int r = 1; r < g_session->size; ++r) {
    if (all[r].messages.load() == 0 && !all[r].echo.load()) continue;
    if (longest != 0) ++others;
    if (longest == 0 || all[r].since_ns.load() < all[longest].since_ns.load()) longest = r;
  }
  if (longest == 0) return "";
  const Awaited& a = all[longest];
  char seconds[32];
  std::snprintf(seconds, sizeof seconds, "%.1f s",
                static_cast<double>(CoarseNowNs() - a.since_ns.load()) / 1e9);
  // Host name and pid were set by GreetRanks before the note was: constant since.
  std::string note =
      "mpi: waiting on " + Describe(g_session->ranks[static_cast<std::size_t>(longest)]) + ": ";
  if (a.echo.load()) {
    note += std::string("in the raw ping-pong with it for ") + seconds;
  } else {
    const int n = a.messages.load();
    note += std::to_string(n) + (n == 1 ? " task message" : " task messages") +
            " in flight, no message from it for " + seconds;
  }
  if (others > 0) note += " (and on " + std::to_string(others) + " other rank(s))";
  return note;
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
    g_awaited.store(new Awaited[static_cast<std::size_t>(s->size)]);
    cleanup::SetInterruptNote(WaitingNote);
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
