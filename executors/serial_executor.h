// serial: runs every task in the calling thread, one after another. The baseline.
#pragma once

#include "executors/executor.h"

namespace parbench {

class SerialExecutor final : public Executor {
 public:
  std::vector<Result> Run(const Batch& batch) override;
  [[nodiscard]] int workers() const override { return 1; }
  [[nodiscard]] std::string_view name() const override { return "serial"; }

 private:
  RunnerCache cache_;
};

}  // namespace parbench
