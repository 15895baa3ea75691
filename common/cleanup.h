// What must not outlive bench when it is interrupted: worker processes and temp directories.
//
// ProcessPool and TempDir register what they own here and unregister it when they clean up
// themselves. InstallInterruptHandler() makes SIGINT, SIGTERM, SIGHUP and SIGQUIT stop and
// reap every registered process, remove every registered directory, say what bench was waiting
// on (SetInterruptNote), and exit with 128 + the signal (130, 143, 129, 131).
#pragma once

#include <sys/types.h>

#include <string>

namespace parbench::cleanup {

void AddProcess(pid_t pid);
void RemoveProcess(pid_t pid);
void AddDirectory(const std::string& path);
void RemoveDirectory(const std::string& path);

// What bench is waiting on, for the interrupt message: one line without "bench: " (e.g. "mpi:
// waiting on rank 1 (host h1, pid 42): ..."), or "" when it waits on nothing worth naming. The
// handler's thread calls it while the main thread may be anywhere, so it reads only what is
// safe to read from another thread (constants, atomics). nullptr removes it.
using InterruptNote = std::string (*)();
// Sets the note the interrupt handler prints, on a line of its own, before its own line: a run
// stopped from outside (mpirun ending the job when a host is lost) says what it was waiting on.
void SetInterruptNote(InterruptNote note);

// Installs the SIGINT/SIGTERM/SIGHUP/SIGQUIT handler and starts the thread that acts on it.
// Call once, early in main(). The handler only writes to a pipe (async-signal-safe); the thread
// does the work: SIGKILL and waitpid every registered process, remove every registered
// directory, print the note (if any) and one line naming the signal, then _exit(128 + signal)
// without running destructors that would race with the interrupted main thread. Returns "" when
// installed, else why not (the thread could not start: the process limit is reached); the signals
// then keep their default actions.
[[nodiscard]] std::string InstallInterruptHandler();

}  // namespace parbench::cleanup
