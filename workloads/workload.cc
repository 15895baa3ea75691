#include "workloads/workload.h"

#include <deque>

namespace parbench {
namespace {

// Filled by the family table's static registrations (and by tests) before any worker starts.
// Never destroyed: a thread abandoned by a timed-out thread pool may still look a workload up
// while the process exits and runs static destructors.
std::deque<Workload>& Table() {
  static auto* table = new std::deque<Workload>;
  return *table;
}

}  // namespace

const std::deque<Workload>& Workloads() { return Table(); }

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

std::unique_ptr<AsyncTaskRunner> MakeAsyncRunner(std::string_view workload, const Config& config) {
  const Workload& w = FindWorkload(workload);
  if (w.make_async_runner == nullptr) {
    throw WorkloadError("workload '" + std::string(workload) +
                        "' has no asynchronous form: an event loop cannot run it");
  }
  return w.make_async_runner(config);
}

}  // namespace parbench
