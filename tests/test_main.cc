// main() of every GoogleTest binary: registers the test workloads, then either serves as a
// process-pool worker (the pool re-executes the test binary) or runs the tests.
#include <gtest/gtest.h>

#include "common/fd_limit.h"
#include "executors/worker_main.h"
#include "tests/support.h"

int main(int argc, char** argv) {
  parbench::testing::RegisterTestWorkloads();
  (void)parbench::RaiseFileLimit();  // as bench does: tests hold a thousand requests in flight
  if (parbench::IsWorkerInvocation(argc, argv)) return parbench::WorkerMain(argc, argv);
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
