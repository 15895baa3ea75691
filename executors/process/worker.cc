#include "executors/process/worker.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <system_error>

#include "executors/process/frame.h"
#include "executors/process/worker_main.h"

namespace parbench {

static_assert(kPassedFd == wire::kShmFd, "the shared region reaches the worker as kPassedFd");

// The binary a worker runs. /proc/self/exe is named by its real path, so that `ps` shows the
// workers as this binary (not as "/proc/self/exe --worker ..."), unless that path no longer
// holds this very file (rebuilt or replaced since bench started): then /proc/self/exe, which
// always does.
std::string WorkerExe(const std::string& exe) {
  if (exe != "/proc/self/exe") return exe;
  std::error_code ec;
  const std::filesystem::path real = std::filesystem::read_symlink(exe, ec);
  struct stat running {};
  struct stat named {};
  if (ec || ::stat(exe.c_str(), &running) != 0 || ::stat(real.c_str(), &named) != 0 ||
      running.st_dev != named.st_dev || running.st_ino != named.st_ino) {
    return exe;
  }
  return real.string();
}

// Starts the process of worker `slot`, `EXE --worker PARENT_PID`, with its shared region (if
// the transport has one) as descriptor 3. Throws ExecutorError.
std::unique_ptr<ProcessWorker> StartWorker(int slot, const ExecutorOptions& options) {
  std::unique_ptr<ShmRegion> region;
  if (options.transport == Transport::kShm) region = std::make_unique<ShmRegion>();
  Spawned spawned;
  try {
    spawned = Spawn({.exe = WorkerExe(options.worker_exe),
                     .args = {std::string(kWorkerFlag), std::to_string(::getpid())},
                     .pass_fd = region ? region->fd() : -1});
  } catch (const SpawnError& e) {
    throw ExecutorError("processes: cannot start worker '" + options.worker_exe +
                        "': " + e.reason());
  }
  return std::make_unique<ProcessWorker>(slot, std::move(spawned), std::move(region));
}

}  // namespace parbench
