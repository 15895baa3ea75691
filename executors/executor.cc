#include "executors/executor.h"

#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>

namespace parbench {
namespace {

// gettid() and getpid() each cost a system call; a worker thread asks once. (Workers are
// started with exec, never a bare fork, so a cached pid cannot go stale.)
std::int32_t ThisThreadId() {
  thread_local const auto tid = static_cast<std::int32_t>(::syscall(SYS_gettid));
  return tid;
}
std::int32_t ThisProcessId() {
  thread_local const auto pid = static_cast<std::int32_t>(::getpid());
  return pid;
}

}  // namespace

std::int64_t NowNs() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);  // vDSO: no system call
  return std::int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

std::string_view ToString(Transport transport) {
  return transport == Transport::kShm ? "shm" : "pipe";
}

std::string_view ToString(Dispatch dispatch) {
  return dispatch == Dispatch::kPerTask ? "per_task" : "adaptive";
}

namespace {

// Never destroyed, like the workload table: rows register in static initializers.
std::vector<ExecutorInfo>& Registry() {
  static auto* registry = new std::vector<ExecutorInfo>;
  return *registry;
}

}  // namespace

bool RegisterExecutor(const ExecutorInfo& info) {
  std::vector<ExecutorInfo>& registry = Registry();
  if (FindExecutor(info.name) != nullptr) {
    throw std::logic_error("executor '" + std::string(info.name) + "' is registered twice");
  }
  if (info.make == nullptr) {
    throw std::logic_error("executor '" + std::string(info.name) + "' has no factory");
  }
  const auto before = [](const ExecutorInfo& a, const ExecutorInfo& b) {
    return std::pair(a.order, a.name) < std::pair(b.order, b.name);
  };
  registry.insert(std::upper_bound(registry.begin(), registry.end(), info, before), info);
  return true;
}

const std::vector<ExecutorInfo>& Executors() { return Registry(); }

bool NotUnderThreadSanitizer() {
#if defined(__SANITIZE_THREAD__)
  return false;
#else
  return true;
#endif
}

std::vector<int> WorkerCountsFor(const ExecutorInfo& info, std::vector<int> counts) {
  const int most = info.max_workers_now != nullptr
                       ? std::min(info.max_workers, info.max_workers_now())
                       : info.max_workers;
  std::erase_if(counts, [most](int w) { return w > most; });
  return counts;
}

const ExecutorInfo* FindExecutor(std::string_view name) {
  for (const ExecutorInfo& info : Registry()) {
    if (info.name == name) return &info;
  }
  return nullptr;
}

std::vector<const ExecutorInfo*> ParseExecutorList(std::string_view list) {
  std::vector<const ExecutorInfo*> out;
  for (std::size_t at = 0;;) {
    const std::size_t comma = std::min(list.find(',', at), list.size());
    const std::string_view item = list.substr(at, comma - at);
    const ExecutorInfo* info = FindExecutor(item);
    if (info == nullptr) throw UnknownExecutor(std::string(item));
    if (std::find(out.begin(), out.end(), info) == out.end()) out.push_back(info);
    if (comma == list.size()) return out;
    at = comma + 1;
  }
}

std::unique_ptr<Executor> MakeExecutor(std::string_view name, const ExecutorOptions& options) {
  const ExecutorInfo* info = FindExecutor(name);
  if (info == nullptr) throw ExecutorError("unknown executor '" + std::string(name) + "'");
  if (options.workers < 1) throw ExecutorError("an executor needs at least one worker");
  if (options.workers > info->max_workers) {
    throw ExecutorError(std::string(name) + " takes at most " + std::to_string(info->max_workers) +
                        " workers, not " + std::to_string(options.workers));
  }
  return info->make(options);
}

int MaxWorkersOfAnyExecutor() {
  int most = 1;
  for (const ExecutorInfo& info : Registry()) most = std::max(most, info.max_workers);
  return most;
}

Result RunOneTask(TaskRunner* runner, std::string_view build_error, const Batch& batch,
                  std::uint32_t index, std::int32_t slot, std::int64_t start_ns) {
  Result result;
  result.span.slot = slot;
  result.span.task = index;
  result.span.pid = ThisProcessId();
  result.span.tid = ThisThreadId();
  result.span.start_ns = start_ns != 0 ? start_ns : NowNs();
  if (runner == nullptr) {
    result.error = std::string(build_error);
  } else {
    try {
      const TaskOutput out = runner->Run(index, batch.payload);
      result.value = out.value;
      result.reply = out.reply;
    } catch (const std::exception& e) {
      result.error = e.what();
    } catch (...) {
      result.error = "task threw a non-standard exception";
    }
  }
  result.span.stop_ns = NowNs();
  return result;
}

TaskRunner* RunnerCache::Get(const Job& job) {
  std::string key = job.workload + '|' + job.config.Serialize();
  if (built_ && key == key_) return runner_.get();
  runner_.reset();  // release the old job's resources before building the new one
  error_.clear();
  try {
    runner_ = MakeRunner(job.workload, job.config);
  } catch (const std::exception& e) {
    error_ = std::string(job.workload) + ": " + e.what();
  }
  key_ = std::move(key);
  built_ = true;
  return runner_.get();
}

}  // namespace parbench
