#include "workloads/workload.h"


#include "workloads/api.h"
#include "workloads/cpu.h"
#include "workloads/dot.h"
#include "workloads/io.h"
#include "workloads/transfer.h"

namespace parbench {
namespace {

// The table is built on first use; RegisterWorkload may extend it before any worker starts.
// Never destroyed: a thread abandoned by a timed-out thread pool may still look a workload up
// while the process exits and runs static destructors.
std::vector<Workload>& Table() {
  static auto* table = new std::vector<Workload>{
      api::kWorkload, cpu::kWorkload, dot::kWorkload, io::kWorkload, transfer::kOverhead,
      transfer::kEcho,
  };
  return *table;
}

}  // namespace

const std::vector<Workload>& Workloads() { return Table(); }

const Workload& FindWorkload(std::string_view name) {
  for (const Workload& workload : Table()) {
    if (workload.name == name) return workload;
  }
  throw WorkloadError("unknown workload '" + std::string(name) + "'");
}

void RegisterWorkload(const Workload& workload) {
  for (const Workload& existing : Table()) {
    if (existing.name == workload.name) {
      throw WorkloadError("workload '" + std::string(workload.name) + "' is already registered");
    }
  }
  Table().push_back(workload);
}

std::unique_ptr<TaskRunner> MakeRunner(std::string_view workload, const Config& config) {
  return FindWorkload(workload).make_runner(config);
}

}  // namespace parbench
