// How both ends of a worker's pipes wait (issue 25): a bounded spin before they block.
//
// A blocking pipe ping-pong between two CPUs pays two cold wake-ups per round trip (40-50 µs
// each on a small VM). So the parent, waiting for results, and a worker, waiting for its next
// frame, first poll their pipes without blocking for up to kSpin (sched_yield between polls,
// so a thread that wants the CPU gets it), and only then block in poll() or read(). The spin
// is bounded, so an idle pool uses no CPU a moment after its last batch, and it is throttled
// to nothing when the pool's running processes already fill the usable CPUs (MaySpin): a
// spinner would only take a CPU from a process with real work (the 32-workers-on-2-CPUs case).
//
// Who may spin is decided by the parent, which knows how many workers have tasks: it spins
// itself only then, and it grants a worker a spin after its answer in the task frame's flags
// (wire::kSpinAfter), so no state is shared between the processes.
#pragma once

#include <poll.h>

#include <chrono>
#include <span>

#include "executors/park.h"

namespace parbench::process_spin {

// How long an end spins before it blocks: the thread pool's linger, for the same reasons
// (long enough to bridge a benchmark loop's gap between two batches, short enough that an idle
// pool costs nothing measurable a moment later).
inline constexpr std::chrono::nanoseconds kSpin = park::kLinger;

// Whether the parent may spin (and let a worker spin after its answer): when it, the `busy`
// workers with tasks and the `running` threads of its own process fit on the `usable` CPUs.
[[nodiscard]] constexpr bool MaySpin(int busy, int running, int usable) {
  return busy + running + 1 <= usable;
}

// Polls `fds` without blocking until one has an event (input, end of file, an error) or `spin`
// has passed, yielding the CPU between polls. Returns poll()'s result: > 0 when an event came,
// 0 when the spin ran out, < 0 on an error (errno set).
[[nodiscard]] int SpinPoll(std::span<pollfd> fds, std::chrono::nanoseconds spin);

}  // namespace parbench::process_spin
