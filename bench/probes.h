// Measurements that are not workloads: the noise probe run before the suite, and a raw pipe
// ping-pong between two processes (the floor under a process pool's round trip).
#pragma once

#include <cstdint>

namespace parbench {

// Spins one thread alone, then `threads` threads pinned to distinct CPUs at once, each for
// `seconds`; returns the parallel rate over `threads` times the single rate. 1.0 on a quiet
// machine; well below when another process holds a core. Throws std::runtime_error saying why
// when a thread cannot start (the process limit is reached), after joining the others.
[[nodiscard]] double NoiseProbe(int threads, double seconds);

// A child process (/bin/cat, started by executors/spawn.h like a process worker) echoing
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

}  // namespace parbench
