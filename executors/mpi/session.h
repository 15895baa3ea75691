// The MPI session of a run under mpirun: which rank this process is, the other ranks' hosts,
// pids, machines and clock offsets, and the worker loop of ranks 1..N-1 (worker.cc).
//
// bench (and every test binary) calls Start() first thing when UnderMpirun(): it loads
// libparbench_mpi.so, initialises MPI and, on rank 0, greets every other rank (its host, pid
// and machine) and measures its clock offset with a ping-pong. Ranks 1..N-1 then run
// WorkerLoop() until rank 0 calls Finish(). A run without mpirun never loads the module and
// never initialises MPI.
//
// Wire protocol (tags below): small headers encoded with wire::Writer, payloads and replies as
// messages of their own, so large bytes are never copied into a header.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace parbench::mpi {

// Message tags. Messages between two ranks arrive in the order they were sent.
enum Tag : int {
  kHello = 1,      // worker -> 0: {i32 pid, str host, str machine}
  kClock = 2,      // 0 -> worker: empty; worker -> 0: {i64 its NowNs()}
  kConfigure = 3,  // 0 -> worker: {str workload, str config}
  kTasks = 4,      // 0 -> worker: {u32 first, u32 count, u64 payload bytes}; then a kPayload
  kPayload = 5,    // 0 -> worker: the payload bytes (only when there are any)
  kResults = 6,    // worker -> 0: {u32 count, count x result head}; then one kReply per reply
  kReply = 7,      // worker -> 0: one task's reply bytes
  kStop = 8,       // 0 -> worker: leave the worker loop and finalise
  kError = 9,      // worker -> 0: {str message}: the worker loop failed and the rank exits
  kRawStart = 10,  // 0 -> worker: {u64 bytes}: echo kRawEcho messages until an empty one
  kRawEcho = 11,   // both ways: the raw ping-pong's message (0 -> worker, empty: stop)
};

// True when this process was started by mpirun (Open MPI's OMPI_COMM_WORLD_SIZE) in a job of
// more than one rank. Reads the environment only: no MPI call.
[[nodiscard]] bool UnderMpirun();

// What rank 0 knows about one rank.
struct RankInfo {
  int rank = 0;
  int host = 0;                      // index into Session::hosts (rank 0's host is 0)
  std::string host_name{};           // MPI_Get_processor_name
  int pid = 0;                       // on its host
  std::string machine{};             // JSON text the rank described its machine with (see Start)
  std::int64_t clock_offset_ns = 0;  // its CLOCK_MONOTONIC minus rank 0's, measured
  std::int64_t clock_uncertainty_ns = 0;  // half the round trip of the best ping-pong
  bool lost = false;                      // died or hung: it gets no more tasks
  bool gone = false;     // seen dead (or killed by rank 0): MPI_Finalize need not wait
  std::string job{};     // the job its runner is built for ("" none)
  int stale_frames = 0;  // task frames whose results are still to come and be dropped
};

// The session as rank 0 sees it (on other ranks only rank/size are meaningful).
struct Session {
  int rank = 0;
  int size = 1;
  std::string library{};             // "Open MPI v4.1.4"
  std::vector<std::string> hosts{};  // distinct host names, rank 0's first
  std::vector<RankInfo> ranks{};     // by rank; ranks[0] is this process on rank 0
  std::string settings{};            // MCA defaults bench set before MPI_Init (for the context)
  double start_ms = 0;               // loading the module, MPI_Init, greetings and clocks
};

// Loads the module and initialises MPI (setting defaults for what the user did not set: see
// the .cc), then, on rank 0, greets every rank and aligns clocks. `machine` is this process's
// machine as JSON text (host name, CPU model, usable CPUs), sent to rank 0 by workers. Throws
// std::runtime_error with the reason when MPI cannot start.
const Session& Start(const std::string& machine);

// The session, or nullptr when Start() was not called (no mpirun).
[[nodiscard]] Session* Current();

// Ranks 1..N-1: serve rank 0 until it says stop (or is gone); finalises MPI. Returns the exit
// status for main().
int WorkerLoop();

// Rank 0, at the end: stops every live worker rank and finalises MPI. When a rank was lost
// without being seen to exit (a hung rank on another host), finalising would wait for it
// forever, so the job is aborted instead (MPI_Abort: mpirun ends every rank) with `status`.
void Finish(int status);

// The floor under the mpi executor: a bare ping-pong of `bytes` between rank 0 and one worker
// rank, blocking MPI_Send and MPI_Recv in a loop on both sides, as OSU's osu_latency (and
// osu_bw's payloads) measure it. The worker rank echoes until the echo is destroyed.
class RawEcho {
 public:
  // Puts rank `rank` into echo mode for messages of `bytes` (> 0). Throws std::runtime_error.
  RawEcho(int rank, std::uint64_t bytes);
  // Ends echo mode (an empty message); the rank returns to its worker loop.
  ~RawEcho();
  RawEcho(const RawEcho&) = delete;
  RawEcho& operator=(const RawEcho&) = delete;
  // Sends `out` and receives the echo into `in` (both `bytes` long); false on an MPI error.
  bool RoundTrip(std::span<const std::byte> out, std::span<std::byte> in);

 private:
  int rank_;
};

// True when rank `r` runs on rank 0's host (its pid can be watched from here).
[[nodiscard]] bool OnThisHost(const RankInfo& r);
// True when rank `r` (on this host) has exited or is a zombie.
[[nodiscard]] bool HasExited(const RankInfo& r);

// "rank 2 (host vm, pid 4242)": how errors name a rank.
[[nodiscard]] std::string Describe(const RankInfo& r);

// Rank 0's record of what it awaits from each worker rank, for the line an interrupted run
// prints (cleanup::SetInterruptNote, set by Start()): when mpirun ends the job because a host
// was lost, bench says which rank on which host it was waiting on. Written by rank 0's main
// thread, read by the interrupt handler's thread (atomics); no-ops before Start() and on other
// ranks.
//
// A task message went to `rank`.
void Asked(int rank);
// `rank` answered a task message.
void Answered(int rank);
// `rank` was given up (lost): nothing more is awaited from it.
void GaveUp(int rank);
// Rank 0 starts (true) or ends (false) the raw ping-pong with `rank`.
void Echoing(int rank, bool on);
// "mpi: waiting on rank 1 (host h1, pid 42): 2 task messages in flight, no message from it for
// 6.2 s", naming the rank silent the longest (and how many others are awaited), or "" when rank
// 0 awaits nothing.
[[nodiscard]] std::string WaitingNote();

// Waits without burning a core: spins for `spin_ns` after the last activity (a reply due in
// microseconds is seen at once), then sleeps, doubling from 20 µs up to `max_sleep_ns`.
class Backoff {
 public:
  Backoff(std::int64_t spin_ns, std::int64_t max_sleep_ns)
      : spin_ns_(spin_ns), max_sleep_ns_(max_sleep_ns) {}
  // Something happened: spin again.
  void Reset() {
    idle_since_ns_ = 0;
    sleep_ns_ = kFirstSleepNs;
  }
  // Nothing happened: spin on, or sleep a little longer than last time.
  void Wait();

 private:
  static constexpr std::int64_t kFirstSleepNs = 20'000;
  std::int64_t spin_ns_;
  std::int64_t max_sleep_ns_;
  std::int64_t idle_since_ns_ = 0;
  std::int64_t sleep_ns_ = kFirstSleepNs;
};

}  // namespace parbench::mpi
