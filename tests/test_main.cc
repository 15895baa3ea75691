// main() of every GoogleTest binary: registers the test workloads, then either serves as a
// process-pool worker (the pool re-executes the test binary), serves as an MPI worker rank
// (under mpirun, ranks 1..N-1), or runs the tests.
#include <gtest/gtest.h>

#include <cstdio>

#include "common/resources.h"
#include "executors/mpi/session.h"
#include "executors/process/worker_main.h"
#include "tests/support.h"
#include "workloads/modules.h"

int main(int argc, char** argv) {
  // Test binaries live in build/src/tests; the modules beside build/bench.
  parbench::SetModuleDir(PARBENCH_TEST_MODULE_DIR);
  parbench::testing::RegisterTestWorkloads();
  (void)parbench::resources::RaiseDescriptorLimit();  // as bench does: a thousand in flight
  if (parbench::IsWorkerInvocation(argc, argv)) return parbench::WorkerMain(argc, argv);
  if (parbench::mpi::UnderMpirun()) {
    try {
      if (parbench::mpi::Start(R"({"host":"test"})").rank != 0) return parbench::mpi::WorkerLoop();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "tests: %s\n", e.what());
      return 1;
    }
  }
  ::testing::InitGoogleTest(&argc, argv);
  const int status = RUN_ALL_TESTS();
  parbench::mpi::Finish(status);
  return status;
}
