// Heavy libraries loaded on first use.
//
// libcurl (with its ~30 dependencies) and OpenBLAS cost 4.3 ms and 2.4 ms of dynamic loading
// per process here. Every process-pool worker is this binary re-executed, so linking them into
// it would make every worker pay that at start, whether it runs api or dot tasks or not. They
// live instead in two small modules next to the binary, dlopen()ed the first time an api or dot
// task (or the parent's machine context) needs them.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "workloads/workload.h"

namespace parbench {

// Bumped when a module table changes shape; a module of another version is refused.
inline constexpr int kModuleAbi = 2;

// What libparbench_curl.so offers (extern "C" parbench_curl_module()).
struct CurlModule {
  int abi;
  void (*global_init)();
  const char* (*version)();
  std::unique_ptr<TaskRunner> (*make_runner)(const Config& config);
  std::unique_ptr<AsyncTaskRunner> (*make_async_runner)(const Config& config);
};

// What libparbench_blas.so offers (extern "C" parbench_blas_module()).
struct BlasModule {
  int abi;
  std::unique_ptr<TaskRunner> (*make_runner)(const Config& config);
  const char* (*config)();
  const char* (*core)();
  int (*threads)();
};

// What libparbench_mpi.so offers (extern "C" parbench_mpi_module()): a thin shim over Open MPI's
// C API, so that nothing else is compiled against mpi.h and a bench run without mpirun never
// loads libmpi. Every call returns an MPI error code (0: success) unless it says otherwise;
// a request is an opaque handle that Test() frees when it completes.
struct MpiModule {
  int abi;
  // MPI_Init_thread (MPI_THREAD_FUNNELED) and MPI_ERRORS_RETURN on MPI_COMM_WORLD.
  int (*init)(int* rank, int* size);
  int (*finalize)();
  void (*abort)(int status);
  // MPI_Get_processor_name; Open MPI's MPI_Get_library_version (first line).
  std::string (*processor_name)();
  std::string (*library_version)();
  std::string (*error_string)(int code);
  int (*isend)(const void* data, std::uint64_t bytes, int dest, int tag, void** request);
  // `source` or `tag` -1: any.
  int (*irecv)(void* data, std::uint64_t bytes, int source, int tag, void** request);
  // *done = 1 when the request finished (it is freed and *request set to nullptr); for a
  // receive, *tag and *bytes (when not null) say what arrived.
  int (*test)(void** request, int* done, int* tag, std::uint64_t* bytes);
  // Whether a message from `source` (-1: any) with `tag` (-1: any) is waiting; its source, tag
  // and size in bytes.
  int (*iprobe)(int source, int tag, int* found, int* from, int* got_tag, std::uint64_t* bytes);
  // Blocking receive of at most `bytes`; *received (if not null) says how many came.
  int (*recv)(void* data, std::uint64_t bytes, int source, int tag, std::uint64_t* received);
  int (*send)(const void* data, std::uint64_t bytes, int dest, int tag);
  // Cancels (a receive) or abandons (a send) a request that will never complete, and frees it.
  void (*forget)(void** request);
};

// The modules, loaded on first call (thread-safe); only what needs one loads it, so a cpu-only
// run works without them. Looked up beside the running binary, then in ../lib/parbench from it
// (the installed layout), then in SetModuleDir()'s directory. Throw WorkloadError naming the
// file and where it was looked for, or dlerror(), when a module cannot be loaded; the next call
// tries again.
[[nodiscard]] const CurlModule& Curl();
[[nodiscard]] const BlasModule& Blas();
[[nodiscard]] const MpiModule& Mpi();

// Adds a directory to look in last, for binaries that live apart from their modules (the test
// binaries). Call before any module is loaded, before threads start.
void SetModuleDir(std::string dir);

}  // namespace parbench
