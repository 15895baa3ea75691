#include "executors/process/spin.h"

#include <sched.h>

#include <cstdint>

#include "executors/executor.h"  // NowNs

namespace parbench::process_spin {

int SpinPoll(std::span<pollfd> fds, std::chrono::nanoseconds spin) {
  const std::int64_t until = NowNs() + spin.count();
  for (;;) {
    const int ready = ::poll(fds.data(), fds.size(), 0);
    if (ready != 0) return ready;
    if (NowNs() >= until) return 0;
    // Another runnable thread on this CPU (the harness, a worker with a task) goes first.
    ::sched_yield();
  }
}

}  // namespace parbench::process_spin
