#include "workloads/modules.h"

#include <dlfcn.h>
#include <unistd.h>

#include <filesystem>
#include <mutex>

namespace parbench {
namespace {

// Candidate paths for module `file`: beside /proc/self/exe, then PARBENCH_MODULE_DIR (the
// build directory, for test binaries that live elsewhere in it).
std::vector<std::string> Candidates(const std::string& file) {
  std::vector<std::string> out;
  std::error_code ec;
  const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) out.push_back((exe.parent_path() / file).string());
  out.push_back(std::string(PARBENCH_MODULE_DIR) + "/" + file);
  return out;
}

template <typename Table>
const Table& Load(const std::string& file, const char* symbol) {
  std::string why;
  for (const std::string& path : Candidates(file)) {
    if (::access(path.c_str(), F_OK) != 0) continue;
    void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);  // never closed: lives as long as the process
    if (handle == nullptr) {
      why = ::dlerror();
      continue;
    }
    auto* entry = reinterpret_cast<const Table* (*)()>(::dlsym(handle, symbol));
    if (entry == nullptr) throw WorkloadError(path + ": no symbol " + symbol);
    const Table* table = entry();
    if (table->abi != kModuleAbi) {
      throw WorkloadError(path + ": module ABI " + std::to_string(table->abi) + ", expected " +
                          std::to_string(kModuleAbi));
    }
    return *table;
  }
  throw WorkloadError("cannot load " + file + (why.empty() ? ": not found next to the binary or in " PARBENCH_MODULE_DIR : ": " + why));
}

}  // namespace

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
  static const BlasModule& module = Load<BlasModule>("libparbench_blas.so", "parbench_blas_module");
  return module;
}

}  // namespace parbench
