#include "executors/serial_executor.h"

#include <stdexcept>

namespace parbench {

std::vector<Result> SerialExecutor::Run(const Batch& batch) {
  if (batch.handoff) {
    throw std::invalid_argument("serial runs every task on the calling thread: no hand-off");
  }
  TaskRunner* runner = cache_.Get(*batch.job);
  std::vector<Result> results;
  results.reserve(batch.tasks);
  for (std::uint32_t i = 0; i < batch.tasks; ++i) {
    results.push_back(RunOneTask(runner, cache_.error(), batch, i, 0));
  }
  return results;
}

namespace {

const bool kRegistered = RegisterExecutor({
    .name = "serial",
    .summary = "the calling thread, one task after another: the baseline",
    .dispatch = "no messages: one task at a time, on the calling thread",
    .traits = {.shares_memory = true, .single_worker = true},
    .make = [](const ExecutorOptions&) -> std::unique_ptr<Executor> {
      return std::make_unique<SerialExecutor>();
    },
    .order = 0,
});

}  // namespace

}  // namespace parbench
