// The worker side of the remote-worker core: runs the tasks a WorkerLink receives and hands
// their results back to it, whatever the transport.
#pragma once

#include <cstddef>
#include <deque>
#include <string_view>
#include <vector>

#include "executors/executor.h"
#include "executors/remote/link.h"

namespace parbench::remote {

// One worker's job and runner, across messages. Not thread-safe: one worker thread drives it.
class TaskServer {
 public:
  // Builds the runner for the job (a build error is reported by each of the job's tasks).
  void Configure(std::string_view workload, std::string_view config);
  // Runs the tasks of one message, adding each result to `link`, then sends them. Throws
  // wire::ProtocolError for an empty or overflowing range, or tasks before any configure.
  void RunTasks(TaskRange range, std::span<const std::byte> payload, WorkerLink& link);

 private:
  Job job_;
  RunnerCache cache_;
  std::deque<std::vector<std::byte>> owned_replies_;  // copies of all but the last reply
};

// Serves `link` until the parent is done. Returns 0 then; after a failure (reported through
// link.Fail() first) returns 3.
int Serve(WorkerLink& link);

}  // namespace parbench::remote
