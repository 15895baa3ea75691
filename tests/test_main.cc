// main() of every GoogleTest binary: registers the test workloads, then either serves as a
// process-pool worker (the pool re-executes the test binary) or runs the tests.
#include <gtest/gtest.h>

#include "common/resources.h"
#include "executors/worker_main.h"
#include "tests/support.h"
#include "workloads/modules.h"

int main(int argc, char** argv) {
  // Test binaries live in build/src/tests; the modules beside build/bench.
  parbench::SetModuleDir(PARBENCH_TEST_MODULE_DIR);
  parbench::testing::RegisterTestWorkloads();
  (void)parbench::resources::RaiseDescriptorLimit();  // as bench does: a thousand in flight
  if (parbench::IsWorkerInvocation(argc, argv)) return parbench::WorkerMain(argc, argv);
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
