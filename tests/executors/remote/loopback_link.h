// A test double transport for the remote-worker core: "loopback", a remote executor with no
// processes and no MPI. Each worker is a thread of the test process that runs the core's task
// server; messages are byte buffers in in-memory queues, encoded with the same wire fields as
// the real transports (payloads copied into each task message, replies copied back).
//
// It registers itself as the executor "loopback" (core_tests only), so the conformance suite
// (executor_test.cc) runs through the core without a line of its own. It is one file, as a
// new transport is.
#pragma once

#include <memory>

#include "executors/executor.h"

namespace parbench::testing {

// How a loopback worker misbehaves, for the core's fault tests.
enum class Misbehave {
  kNothing,
  kForeignResult,  // answers its first message with a result for a task it was not given
  kReportError,    // reports a failure (as a worker that cannot go on) instead of answering
};

// A loopback executor whose worker `worker` misbehaves as `how` says.
[[nodiscard]] std::unique_ptr<Executor> MakeLoopback(const ExecutorOptions& options,
                                                     int worker = -1,
                                                     Misbehave how = Misbehave::kNothing);

}  // namespace parbench::testing
