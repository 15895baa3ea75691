// Heavy libraries loaded on first use.
//
// libcurl (with its ~30 dependencies) and OpenBLAS cost 4.3 ms and 2.4 ms of dynamic loading
// per process here. Every process-pool worker is this binary re-executed, so linking them into
// it would make every worker pay that at start, whether it runs api or dot tasks or not. They
// live instead in small modules next to the binary, dlopen()ed the first time an api or dot
// task (or the parent's machine context) needs them. liburing (io's asynchronous form) is
// small, but only an event loop running io uses it, so it is a module too: a process that
// never does pays nothing for it.
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

// The result of one io_uring operation: its user_data and what the system call would have
// returned (-errno on failure).
struct RingCompletion {
  std::uint64_t user_data = 0;
  std::int64_t result = 0;
};

// One io_uring (from libparbench_uring.so): file operations are queued with a user_data,
// submitted together by the next Wait(), and complete in any order. Paths and buffers must
// stay valid until their operation completes. Used by one thread at a time.
class Ring {
 public:
  virtual ~Ring() = default;
  // Queue one operation. Throws WorkloadError when the ring cannot take it.
  virtual void Open(const char* path, int flags, unsigned mode, std::uint64_t user_data) = 0;
  virtual void Write(int fd, const void* data, unsigned bytes, std::uint64_t offset,
                     std::uint64_t user_data) = 0;
  virtual void Fsync(int fd, bool datasync, std::uint64_t user_data) = 0;
  virtual void Close(int fd, std::uint64_t user_data) = 0;
  virtual void Unlink(const char* path, std::uint64_t user_data) = 0;
  // Submits what is queued and waits up to `timeout_ms` for completions, which it appends to
  // `out`. Throws WorkloadError when the ring fails.
  virtual void Wait(int timeout_ms, std::vector<RingCompletion>& out) = 0;
  // Operations queued or in the kernel whose completion has not been returned.
  [[nodiscard]] virtual std::size_t pending() const = 0;
};

// What libparbench_uring.so offers (extern "C" parbench_uring_module()).
struct UringModule {
  int abi;
  // A ring of `entries` submission slots. Throws WorkloadError saying exactly why io_uring
  // cannot be used here (blocked by seccomp, disabled by sysctl, an old kernel).
  std::unique_ptr<Ring> (*make_ring)(unsigned entries);
};

// The modules, loaded on first call (thread-safe); only what needs one loads it, so a cpu-only
// run works without them. Looked up beside the running binary, then in ../lib/parbench from it
// (the installed layout), then in SetModuleDir()'s directory. Throw WorkloadError naming the
// file and where it was looked for, or dlerror(), when a module cannot be loaded; the next call
// tries again.
[[nodiscard]] const CurlModule& Curl();
[[nodiscard]] const BlasModule& Blas();
[[nodiscard]] const MpiModule& Mpi();
[[nodiscard]] const UringModule& Uring();

// Adds a directory to look in last, for binaries that live apart from their modules (the test
// binaries). Call before any module is loaded, before threads start.
void SetModuleDir(std::string dir);

}  // namespace parbench
