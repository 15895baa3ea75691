// ShmRegion: the shared memory one process worker uses with its parent (Transport::kShm).
//
// A memfd, which the worker inherits as descriptor wire::kShmFd, and the parent's mapping of
// it. The region holds the payload at offset 0 and the reply from wire::ReplyOffset() on. It
// grows on demand and never shrinks; growing maps it anew, and a result that points into an
// older mapping keeps that mapping alive through mapping().
#pragma once

#include <cstddef>
#include <memory>

#include "common/unique_fd.h"

namespace parbench {

// One worker's shared region. Not thread-safe: one thread grows it (a mapping handed out may be
// read from any thread).
class ShmRegion {
 public:
  // Creates an empty region (memfd_create, close-on-exec). Throws ExecutorError.
  ShmRegion();
  ShmRegion(const ShmRegion&) = delete;
  ShmRegion& operator=(const ShmRegion&) = delete;

  // The memfd, to pass to the worker.
  [[nodiscard]] int fd() const { return fd_.get(); }
  // Grows the region to at least `bytes` and maps it anew; a region that large already is kept
  // as it is. Throws ExecutorError.
  void Reserve(std::size_t bytes);
  // The current mapping's first byte (nullptr before the first Reserve()).
  [[nodiscard]] std::byte* data() const { return data_; }
  // The current mapping's size in bytes (0 before the first Reserve()).
  [[nodiscard]] std::size_t size() const { return size_; }
  // An owner of the current mapping: it stays mapped while any copy lives, after growth too.
  [[nodiscard]] std::shared_ptr<const void> mapping() const { return mapping_; }

 private:
  struct Mapping;  // one mmap of the memfd, unmapped by its destructor

  UniqueFd fd_;
  std::shared_ptr<Mapping> mapping_;
  std::byte* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace parbench
