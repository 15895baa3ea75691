#include "executors/process/pool.h"

#include <memory>

namespace parbench {

ProcessPool::ProcessPool(const ExecutorOptions& options)
    : RemoteExecutor("processes", std::make_unique<ProcessLink>(options), options) {}

std::vector<int> ProcessPool::pids() const { return static_cast<ProcessLink&>(link()).pids(); }

namespace {

const bool kRegistered = RegisterExecutor({
    .name = "processes",
    .summary = "a persistent pool of worker processes (this binary re-executed); payloads "
               "through pipes or shared memory",
    .dispatch = "tasks in frames: per_task or adaptive; 2 frames queued per worker (1 with shm)",
    .traits = {.transport_axis = true, .starts_processes = true, .sends_messages = true},
    .make = [](const ExecutorOptions& options) -> std::unique_ptr<Executor> {
      return std::make_unique<ProcessPool>(options);
    },
    .order = 20,
});

}  // namespace

}  // namespace parbench
