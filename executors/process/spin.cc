#include "executors/process/spin.h"

#include <sched.h>

#include <atomic>
#include <cstdint>

#include "executors/executor.h"  // NowNs

namespace parbench::process_spin {
namespace {

// A yield that returns this late means another process ran on this CPU for its time slice
// (CFS gives at least 0.75 ms; a plain yield takes about a microsecond): the machine is busier
// than the pool's throttle knows, since it counts only the pool's own processes.
constexpr std::int64_t kStolenYieldNs = 50'000;
// Then no end of this process spins for this long: waits block at once, as before the spin,
// instead of losing a time slice to the other process again and again.
constexpr std::int64_t kContendedNs = 10'000'000;

std::atomic<std::int64_t> g_contended_until_ns{0};

}  // namespace

int SpinPoll(std::span<pollfd> fds, std::chrono::nanoseconds spin) {
  const std::int64_t start = NowNs();
  if (start < g_contended_until_ns.load(std::memory_order_relaxed)) {
    return ::poll(fds.data(), fds.size(), 0);  // one look, no spin
  }
  const std::int64_t until = start + spin.count();
  for (;;) {
    const int ready = ::poll(fds.data(), fds.size(), 0);
    if (ready != 0) return ready;
    // Another runnable thread on this CPU (the harness, a worker with a task) goes first.
    const std::int64_t before = NowNs();
    ::sched_yield();
    const std::int64_t after = NowNs();
    if (after - before > kStolenYieldNs) {
      g_contended_until_ns.store(after + kContendedNs, std::memory_order_relaxed);
      return ::poll(fds.data(), fds.size(), 0);
    }
    if (after >= until) return 0;
  }
}

}  // namespace parbench::process_spin
