#include "workloads/modules.h"

#include <dlfcn.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <mutex>

namespace parbench {
namespace {

// The directory SetModuleDir() named ("" for none).
std::string& ExtraDir() {
  static auto* dir = new std::string;  // never destroyed: a detached thread may load a module late
  return *dir;
}

// Directories to look in for a module, in order: the running binary's own (a build tree keeps
// bench and its modules together), PARBENCH_INSTALL_MODULE_DIR relative to it (the installed
// layout: PREFIX/bin/bench, PREFIX/lib/parbench/*.so), then SetModuleDir()'s. Never a
// compiled-in absolute path: a copied or installed bench must not find a build tree's modules.
std::vector<std::filesystem::path> Directories() {
  std::vector<std::filesystem::path> out;
  std::error_code ec;
  const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    out.push_back(exe.parent_path());
    out.push_back((exe.parent_path() / PARBENCH_INSTALL_MODULE_DIR).lexically_normal());
  }
  if (!ExtraDir().empty()) out.emplace_back(ExtraDir());
  return out;
}

template <typename Table>
const Table& Load(const std::string& file, const char* symbol, int scope = RTLD_LOCAL) {
  const std::vector<std::filesystem::path> dirs = Directories();
  std::string denied;  // a place where the module may be but this user cannot look
  for (const auto& dir : dirs) {
    const std::string path = (dir / file).string();
    if (::access(path.c_str(), F_OK) != 0) {
      // ENOENT: not there. EACCES: a directory on the way is closed to this user (a build tree
      // under a mode-700 home, reached as another user): say so, not "not found".
      if (errno == EACCES && denied.empty()) denied = path;
      continue;
    }
    if (::access(path.c_str(), R_OK) != 0) {
      throw WorkloadError("cannot load " + path + ": " + std::strerror(errno) + " (user " +
                          std::to_string(::geteuid()) + " may not read it)");
    }
    // Never closed: the module lives as long as the process.
    void* handle = ::dlopen(path.c_str(), RTLD_NOW | scope);
    if (handle == nullptr) throw WorkloadError("cannot load " + path + ": " + ::dlerror());
    auto* entry = reinterpret_cast<const Table* (*)()>(::dlsym(handle, symbol));
    if (entry == nullptr) throw WorkloadError(path + ": no symbol " + symbol);
    const Table* table = entry();
    if (table->abi != kModuleAbi) {
      throw WorkloadError(path + ": module ABI " + std::to_string(table->abi) + ", expected " +
                          std::to_string(kModuleAbi));
    }
    return *table;
  }
  if (!denied.empty()) {
    throw WorkloadError("cannot load " + file + ": permission denied reaching " + denied +
                        " (user " + std::to_string(::geteuid()) +
                        " may not search a directory on its path)");
  }
  std::string looked;
  for (const auto& dir : dirs) looked += (looked.empty() ? "" : ", ") + dir.string();
  throw WorkloadError("cannot load " + file + ": it is not in " + looked +
                      " (keep the modules beside bench, or install bench with `cmake --install "
                      "BUILD --prefix PREFIX`)");
}

// Sets an environment variable for as long as it lives, unless the user has set it.
class ScopedDefaultEnv {
 public:
  ScopedDefaultEnv(const char* name, const char* value) : name_(name) {
    if (std::getenv(name) == nullptr) set_ = ::setenv(name, value, 0) == 0;
  }
  ~ScopedDefaultEnv() {
    if (set_) ::unsetenv(name_);
  }
  ScopedDefaultEnv(const ScopedDefaultEnv&) = delete;
  ScopedDefaultEnv& operator=(const ScopedDefaultEnv&) = delete;

 private:
  const char* name_;
  bool set_ = false;
};

std::atomic<bool> g_python_loaded{false};

}  // namespace

void SetModuleDir(std::string dir) { ExtraDir() = std::move(dir); }

const CurlModule& Curl() {
  static const CurlModule& module = Load<CurlModule>("libparbench_curl.so", "parbench_curl_module");
  return module;
}

const UringModule& Uring() {
  static const UringModule& module =
      Load<UringModule>("libparbench_uring.so", "parbench_uring_module");
  return module;
}

const BlasModule& Blas() {
  static const BlasModule& module = []() -> const BlasModule& {
    // Loaded, OpenBLAS starts a pool of (cores - 1) threads, and where one cannot start (the
    // process limit) it raises SIGINT, which would stop bench as if interrupted. Every dot
    // runner sets the count it needs anyway (checking first that the threads can start), so
    // load it with none unless the user chose a count.
    const ScopedDefaultEnv one_thread("OPENBLAS_NUM_THREADS", "1");
    return Load<BlasModule>("libparbench_blas.so", "parbench_blas_module");
  }();
  return module;
}

const MpiModule& Mpi() {
  static const MpiModule& module = Load<MpiModule>("libparbench_mpi.so", "parbench_mpi_module");
  return module;
}

const PythonModule& Python() {
  static const PythonModule& module = []() -> const PythonModule& {
    const PythonModule& loaded =
        Load<PythonModule>("libparbench_python.so", "parbench_python_module", RTLD_GLOBAL);
    g_python_loaded.store(true);
    return loaded;
  }();
  return module;
}

bool PythonLoaded() { return g_python_loaded.load(); }

}  // namespace parbench
