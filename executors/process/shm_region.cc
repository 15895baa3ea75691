#include "executors/process/shm_region.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "executors/executor.h"  // ExecutorError

namespace parbench {

struct ShmRegion::Mapping {
  Mapping(int fd, std::size_t bytes) : size(bytes) {
    void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
      throw ExecutorError(std::string("processes: mmap of a shared region: ") +
                          std::strerror(errno));
    }
    data = static_cast<std::byte*>(p);
  }
  ~Mapping() { ::munmap(data, size); }
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;

  std::byte* data = nullptr;
  std::size_t size = 0;
};

ShmRegion::ShmRegion() : fd_(::memfd_create("parbench-worker", MFD_CLOEXEC)) {
  if (!fd_.valid()) {
    throw ExecutorError(std::string("processes: memfd_create: ") + std::strerror(errno));
  }
}

void ShmRegion::Reserve(std::size_t bytes) {
  if (mapping_ && size_ >= bytes) return;
  if (::ftruncate(fd_.get(), static_cast<off_t>(bytes)) != 0) {
    throw ExecutorError(std::string("processes: growing a shared region: ") + std::strerror(errno));
  }
  mapping_ = std::make_shared<Mapping>(fd_.get(), bytes);  // older owners keep the old mapping
  data_ = mapping_->data;
  size_ = mapping_->size;
}

}  // namespace parbench
