// An executor whose workers are reached through a Link: the remote-worker core that the process
// pool and mpi (and any further transport) are built on. See dispatcher.h for the scheduling.
//
// Faults: a worker that fails (dies, breaks the protocol, runs a task past the timeout) ends
// the run with ExecutorError "NAME: WORKER WHAT while running task(s) ..." (WORKER as the link
// describes it); the link abandons the worker and the executor is broken() for good.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "executors/executor.h"
#include "executors/remote/dispatcher.h"
#include "executors/remote/link.h"

namespace parbench::remote {

class RemoteExecutor : public Executor {
 public:
  // Takes a link whose workers are started. `name` is the registry's name of the executor.
  RemoteExecutor(std::string_view name, std::unique_ptr<Link> link, const ExecutorOptions& options);
  ~RemoteExecutor() override = default;
  RemoteExecutor(const RemoteExecutor&) = delete;
  RemoteExecutor& operator=(const RemoteExecutor&) = delete;

  // Runs the batch; one call at a time, from one thread. Throws ExecutorError if a worker
  // fails; the executor is then broken().
  std::vector<Result> Run(const Batch& batch) override;
  [[nodiscard]] int workers() const override { return link_->workers(); }
  [[nodiscard]] std::string_view name() const override { return name_; }
  [[nodiscard]] bool broken() const override { return broken_; }
  [[nodiscard]] std::uint64_t task_messages() const override { return task_messages_; }

 protected:
  [[nodiscard]] Link& link() const { return *link_; }

 private:
  [[noreturn]] void Fail(Dispatcher& dispatcher, int worker, const std::string& what);

  std::string name_;
  std::unique_ptr<Link> link_;
  std::chrono::milliseconds timeout_;
  Dispatch dispatch_;
  std::vector<WorkerState> states_;
  std::uint64_t task_messages_ = 0;
  bool broken_ = false;
};

}  // namespace parbench::remote
