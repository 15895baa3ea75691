#include "executors/remote/remote_executor.h"

#include <exception>
#include <utility>

namespace parbench::remote {

RemoteExecutor::RemoteExecutor(std::string_view name, std::unique_ptr<Link> link,
                               const ExecutorOptions& options)
    : name_(name),
      link_(std::move(link)),
      timeout_(options.task_timeout),
      dispatch_(options.dispatch),
      states_(static_cast<std::size_t>(link_->workers())) {}

std::vector<Result> RemoteExecutor::Run(const Batch& batch) {
  if (broken_) throw ExecutorError(name_ + ": the executor is broken by an earlier failure");
  if (batch.payload.size() > wire::kMaxPayload) {
    throw ExecutorError(name_ + ": a payload of " + std::to_string(batch.payload.size()) +
                        " bytes exceeds the limit of " + std::to_string(wire::kMaxPayload));
  }
  link_->Begin(batch);
  Dispatcher dispatcher(batch, *link_, states_, dispatch_, timeout_);
  try {
    while (!dispatcher.finished()) dispatcher.Step();
    link_->Settle();
  } catch (const WorkerFault& fault) {
    task_messages_ += dispatcher.messages_sent();
    Fail(dispatcher, fault.worker, fault.what);
  } catch (const std::exception& e) {
    // The link failed in a way no worker is to blame for (poll(), a shared region): the
    // workers' state is unknown.
    task_messages_ += dispatcher.messages_sent();
    broken_ = true;
    link_->Abandon(-1, dispatcher.InFlight(), name_ + ": " + e.what());
    throw;
  }
  task_messages_ += dispatcher.messages_sent();
  return dispatcher.TakeResults();
}

void RemoteExecutor::Fail(Dispatcher& dispatcher, int worker, const std::string& what) {
  broken_ = true;
  std::string message = name_ + ": ";
  if (worker >= 0) {
    message += link_->Describe(worker) + " " + what + dispatcher.RunningTasks(worker);
  } else {
    message += what;
  }
  link_->Abandon(worker, dispatcher.InFlight(), message);
  throw ExecutorError(message);
}

}  // namespace parbench::remote
