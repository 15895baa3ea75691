// mpi: tasks run on the worker ranks of an Open MPI job: the remote-worker core (remote/) over
// MPI messages (link.h; the session in session.h).
//
// Registered only when bench runs under mpirun with more than one rank: rank 0 runs Google
// Benchmark and dispatches; an executor of W workers uses ranks 1..W (W < N). The ranks outlive
// the executor: every executor of the run shares them, one Run() at a time. Scheduling is the
// core's, as the process pool's (see remote/dispatcher.h).
#pragma once

namespace parbench {

// The number of worker ranks of this job (0 without mpirun): the largest worker count of mpi.
[[nodiscard]] int MpiWorkerRanks();

}  // namespace parbench
