// Worker mode: what `bench --worker PARENT_PID` runs inside each process of the process pool.
#pragma once

#include <string_view>

namespace parbench {

// The flag that turns a parbench binary into a process worker.
inline constexpr std::string_view kWorkerFlag = "--worker";

// True when argv asks for worker mode.
[[nodiscard]] bool IsWorkerInvocation(int argc, char** argv);

// Serves frames on stdin/stdout until the parent closes stdin; returns the exit status:
// 0 after a clean end of file, 3 after a protocol error (reported to the parent in a kError
// frame first), 1 when the parent is already gone.
int WorkerMain(int argc, char** argv);

}  // namespace parbench
