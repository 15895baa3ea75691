// Measurements that are not workloads: the noise probe run before the suite, and the floors
// executors are held against: a raw pipe ping-pong and a spinning shared-memory ping-pong
// between two processes (round trips), and plain process spawns (start-up).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace parbench {

// Spins one thread alone, then `threads` threads pinned to distinct CPUs at once, each for
// `seconds`; returns the parallel rate over `threads` times the single rate. 1.0 on a quiet
// machine; well below when another process holds a core. Throws std::runtime_error saying why
// when a thread cannot start (the process limit is reached), after joining the others.
[[nodiscard]] double NoiseProbe(int threads, double seconds);

// A child process (/bin/cat, started by executors/process/spawn.h like a process worker) echoing
// 8-byte messages over two pipes. Ping() sends one and waits for it to come back. Throws
// SpawnError when cat cannot be started.
class PipePingPong {
 public:
  PipePingPong();
  ~PipePingPong();  // closes the pipes, reaps the child
  PipePingPong(const PipePingPong&) = delete;
  PipePingPong& operator=(const PipePingPong&) = delete;
  // One round trip; returns false if the echo did not come back intact.
  bool Ping(std::uint64_t message);

 private:
  struct Impl;
  Impl* impl_;
};

// The flag that turns bench into the partner of a ShmPingPong: `bench --shm_echo PARENT_PID`,
// with the shared page as descriptor 3.
inline constexpr std::string_view kShmEchoFlag = "--shm_echo";
[[nodiscard]] bool IsShmEchoInvocation(int argc, char** argv);
// The partner's loop: echoes every number the parent writes until told to stop (or the parent
// dies). Returns the process's exit status.
int ShmEchoMain(int argc, char** argv);

// The fastest hand-off between two processes: a child (this binary with kShmEchoFlag, started
// as the process pool starts its workers) spins on a page shared with the parent and copies
// each number the parent writes back beside it; Ping() writes one and spins until it returns.
// Either side yields its CPU after 20 µs without news, so a machine with one usable CPU still
// makes progress. Throws SpawnError or std::runtime_error when it cannot be set up.
class ShmPingPong {
 public:
  ShmPingPong();
  ~ShmPingPong();  // tells the child to stop, reaps it (killed after a grace)
  ShmPingPong(const ShmPingPong&) = delete;
  ShmPingPong& operator=(const ShmPingPong&) = delete;
  // One round trip of `message` (not 0); false if it did not come back within 5 s.
  bool Ping(std::uint64_t message);

 private:
  struct Impl;
  Impl* impl_;
};

// The floor under a process pool's start-up: starts `processes` copies of this binary with
// posix_spawn (glibc's is vfork + exec) as process workers whose stdin and stdout are
// /dev/null, so each starts, reads end of file and exits 0, then waits for every one. Returns
// "" or what went wrong (a spawn that failed, a child that did not exit 0).
[[nodiscard]] std::string SpawnAndReap(int processes);

}  // namespace parbench
