// An example of adding an executor to parbench: this one file and one line in CMake. Linked
// into a copy of bench (bench_toy), its row puts `toy` into every family's benchmark names, the
// run's manifest, --help, --executors, the conformance tests' parameters and the tools' tables.
//
// toy: a fresh std::thread per worker for every batch (no pool, so each batch pays thread
// start-up), taking task indices from a shared counter.
#include <atomic>
#include <thread>
#include <vector>

#include "executors/executor.h"

namespace parbench {
namespace {

class ToyExecutor final : public Executor {
 public:
  explicit ToyExecutor(const ExecutorOptions& options) : workers_(options.workers) {}

  std::vector<Result> Run(const Batch& batch) override {
    std::vector<Result> results(batch.tasks);
    std::atomic<std::uint32_t> next{0};
    std::vector<std::jthread> threads;  // joined when the batch is done
    for (int slot = 0; slot < workers_; ++slot) {
      threads.emplace_back([&, slot] {
        RunnerCache cache;  // each thread builds its own runner, as every worker does
        TaskRunner* runner = cache.Get(*batch.job);
        for (std::uint32_t i = next++; i < batch.tasks; i = next++) {
          results[i] = RunOneTask(runner, cache.error(), batch, i, slot);
        }
      });
    }
    threads.clear();
    return results;
  }
  [[nodiscard]] int workers() const override { return workers_; }
  [[nodiscard]] std::string_view name() const override { return "toy"; }

 private:
  int workers_;
};

const bool kRegistered = RegisterExecutor({
    .name = "toy",
    .summary = "an example: a fresh thread per worker for every batch",
    .dispatch = "no messages: one task at a time from a shared counter",
    .traits = {.shares_memory = true},
    .make = [](const ExecutorOptions& options) -> std::unique_ptr<Executor> {
      return std::make_unique<ToyExecutor>(options);
    },
});

}  // namespace
}  // namespace parbench
