// One worker process of the process pool: its child process, pipes and shared region, and how
// it is started. Private to the process transport (link.cc and its tests).
#pragma once

#include <memory>
#include <string>

#include "executors/executor.h"
#include "executors/process/channel.h"
#include "executors/process/shm_region.h"
#include "executors/process/spawn.h"

namespace parbench {

// One worker process: its child process, its pipes, its shared region.
struct ProcessWorker {
  ProcessWorker(int worker_slot, Spawned spawned, std::unique_ptr<ShmRegion> shm)
      : slot(worker_slot),
        process(std::move(spawned.process)),
        channel(std::move(spawned.to_stdin), std::move(spawned.from_stdout)),
        region(std::move(shm)) {}

  int slot;
  ChildProcess process;  // declared first, destroyed last: the pipes close before a kill
  Channel channel;
  std::unique_ptr<ShmRegion> region;  // Transport::kShm only
};

// Starts the process of worker `slot`, `EXE --worker PARENT_PID`, with its shared region (if
// the transport has one) as descriptor 3. Throws ExecutorError.
[[nodiscard]] std::unique_ptr<ProcessWorker> StartWorker(int slot, const ExecutorOptions& options);

// The binary a worker runs for `exe` (see worker.cc).
[[nodiscard]] std::string WorkerExe(const std::string& exe);

}  // namespace parbench
