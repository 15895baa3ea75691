// processes: a pool of persistent worker processes, the remote-worker core (remote/) over the
// process transport (link.h: pipes, and shared memory with Transport::kShm).
//
// Scheduling is the core's: dynamic, in frames; with Dispatch::kAdaptive a frame carries about
// 200 µs of work once tasks have been timed, and with the pipe transport each worker holds a
// second frame queued behind the one it runs (see remote/dispatcher.h).
#pragma once

#include <vector>

#include "executors/executor.h"
#include "executors/process/link.h"
#include "executors/remote/remote_executor.h"

namespace parbench {

class ProcessPool final : public remote::RemoteExecutor {
 public:
  // Starts options.workers processes and waits until each has said hello (a worker that
  // cannot start, or speaks another protocol version, throws ExecutorError). The destructor
  // stops and reaps every worker (see ProcessLink).
  explicit ProcessPool(const ExecutorOptions& options);

  // The OS pid of every worker, by slot.
  [[nodiscard]] std::vector<int> pids() const;
};

}  // namespace parbench
