#include "executors/serial_executor.h"

namespace parbench {

std::vector<Result> SerialExecutor::Run(const Batch& batch) {
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
    .traits = {.shares_memory = true, .single_worker = true},
    .make = [](const ExecutorOptions&) -> std::unique_ptr<Executor> {
      return std::make_unique<SerialExecutor>();
    },
    .order = 0,
});

}  // namespace

}  // namespace parbench
