// What must not outlive bench when it is interrupted: worker processes and temp directories.
//
// ProcessPool and TempDir register what they own here and unregister it when they clean up
// themselves. InstallInterruptHandler() makes SIGINT, SIGTERM, SIGHUP and SIGQUIT stop and
// reap every registered process, remove every registered directory, and exit with 128 + the
// signal (130, 143, 129, 131).
#pragma once

#include <sys/types.h>

#include <string>

namespace parbench::cleanup {

void AddProcess(pid_t pid);
void RemoveProcess(pid_t pid);
void AddDirectory(const std::string& path);
void RemoveDirectory(const std::string& path);

// Installs the SIGINT/SIGTERM/SIGHUP/SIGQUIT handler and starts the thread that acts on it.
// Call once, early in main(). The handler only writes to a pipe (async-signal-safe); the thread
// does the work: SIGKILL and waitpid every registered process, remove every registered
// directory, print one line naming the signal, then _exit(128 + signal) without running
// destructors that would race with the interrupted main thread. Returns "" when installed, else
// why not (the thread could not start: the process limit is reached); the signals then keep
// their default actions.
[[nodiscard]] std::string InstallInterruptHandler();

}  // namespace parbench::cleanup
