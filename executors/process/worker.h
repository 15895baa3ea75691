// One worker process of the process pool: its child process, pipes, shared region and what it
// is running, and how it is started. Private to the pool (process_pool.cc and its tests).
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <string>

#include "executors/process/channel.h"
#include "executors/process/pool.h"
#include "executors/process/shm_region.h"
#include "executors/process/spawn.h"

namespace parbench {

// One worker process: its child process, its pipes, its shared region, what it is running.
struct ProcessPool::Worker {
  Worker(int worker_slot, Spawned spawned, std::unique_ptr<ShmRegion> shm)
      : slot(worker_slot),
        process(std::move(spawned.process)),
        channel(std::move(spawned.to_stdin), std::move(spawned.from_stdout)),
        region(std::move(shm)) {}

  int slot;
  ChildProcess process;  // declared first, destroyed last: the pipes close before a kill
  Channel channel;
  std::unique_ptr<ShmRegion> region;  // Transport::kShm only

  // Tasks first..first+count-1, sent in one frame; `done` of them answered.
  struct Frame {
    std::uint32_t first = 0;
    std::uint32_t count = 0;
    std::uint32_t done = 0;
  };

  // Scheduling.
  std::string job_key;  // the job this worker is configured for
  // Frames sent and not fully answered, oldest first: the one it runs and, while enough tasks
  // remain, one queued behind it in its pipe, so it starts the next without waiting a round
  // trip for the parent.
  std::deque<Frame> frames;
  std::int64_t busy_since_ns = 0;  // when it started on its oldest frame
  [[nodiscard]] bool busy() const { return !frames.empty(); }
};

// Starts the process of worker `slot`, `EXE --worker PARENT_PID`, with its shared region (if
// the transport has one) as descriptor 3. Throws ExecutorError.
[[nodiscard]] std::unique_ptr<ProcessPool::Worker> StartWorker(int slot,
                                                               const ExecutorOptions& options);

// The binary a worker runs for `exe` (see process_worker.cc).
[[nodiscard]] std::string WorkerExe(const std::string& exe);

}  // namespace parbench
