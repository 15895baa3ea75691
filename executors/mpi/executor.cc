#include "executors/mpi/executor.h"

#include <memory>

#include "executors/mpi/link.h"
#include "executors/mpi/session.h"
#include "executors/remote/remote_executor.h"

namespace parbench {
namespace {

bool Available() { return mpi::Current() != nullptr && mpi::Current()->size > 1; }

const bool kRegistered = RegisterExecutor({
    .name = "mpi",
    .summary = "the worker ranks of an Open MPI job (only under mpirun): rank 0 dispatches, "
               "ranks 1..W run the tasks; payloads and replies as MPI messages",
    .dispatch = "tasks in MPI messages: per_task (one task per message) or adaptive (about "
                "200 us of work per message once tasks are timed); a rank holds 2 messages",
    .traits = {.starts_processes = false, .remote_workers = true, .sends_messages = true},
    .make = [](const ExecutorOptions& options) -> std::unique_ptr<Executor> {
      return std::make_unique<remote::RemoteExecutor>(
          "mpi", std::make_unique<mpi::MpiLink>(options), options);
    },
    .order = 60,
    .available = Available,
    .max_workers_now = MpiWorkerRanks,
    // Not startup (the ranks are started by mpirun, once) nor granularity (its sweep of tiny
    // tasks is the process pool's story again); --executors=mpi runs it everywhere.
    .default_families = {"api", "cpu", "dot", "io", "overhead", "roundtrip", "transfer"},
});

}  // namespace

int MpiWorkerRanks() { return Available() ? mpi::Current()->size - 1 : 0; }

}  // namespace parbench
