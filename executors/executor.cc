#include "executors/executor.h"

#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "executors/process_pool.h"
#include "executors/serial_executor.h"
#include "executors/thread_pool.h"

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

std::string_view ToString(ExecutorKind kind) {
  switch (kind) {
    case ExecutorKind::kSerial:
      return "serial";
    case ExecutorKind::kThreads:
      return "threads";
    case ExecutorKind::kProcesses:
      return "processes";
  }
  return "unknown";
}

std::string_view ToString(Transport transport) {
  return transport == Transport::kShm ? "shm" : "pipe";
}

std::unique_ptr<Executor> MakeExecutor(ExecutorKind kind, const ExecutorOptions& options) {
  if (options.workers < 1) throw ExecutorError("an executor needs at least one worker");
  switch (kind) {
    case ExecutorKind::kSerial:
      return std::make_unique<SerialExecutor>();
    case ExecutorKind::kThreads:
      return std::make_unique<ThreadPool>(options);
    case ExecutorKind::kProcesses:
      return std::make_unique<ProcessPool>(options);
  }
  throw ExecutorError("unknown executor kind");
}

Result RunOneTask(TaskRunner* runner, std::string_view build_error, const Batch& batch,
                  std::uint32_t index, std::int32_t slot) {
  Result result;
  result.span.slot = slot;
  result.span.task = index;
  result.span.pid = ThisProcessId();
  result.span.tid = ThisThreadId();
  result.span.start_ns = NowNs();
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
