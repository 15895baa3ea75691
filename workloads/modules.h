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

// The modules, loaded on first call (thread-safe); only what needs one loads it, so a cpu-only
// run works without them. Looked up beside the running binary, then in ../lib/parbench from it
// (the installed layout), then in SetModuleDir()'s directory. Throw WorkloadError naming the
// file and where it was looked for, or dlerror(), when a module cannot be loaded; the next call
// tries again.
[[nodiscard]] const CurlModule& Curl();
[[nodiscard]] const BlasModule& Blas();

// Adds a directory to look in last, for binaries that live apart from their modules (the test
// binaries). Call before any module is loaded, before threads start.
void SetModuleDir(std::string dir);

}  // namespace parbench
