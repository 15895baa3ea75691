// libparbench_uring.so: everything that touches liburing (see modules.h for why it is a
// module): a Ring of file operations for io's asynchronous form.
#include <fcntl.h>
#include <liburing.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "workloads/modules.h"

namespace parbench {
namespace {

// Why io_uring_queue_init() failed with `error` (a positive errno), as precisely as the
// machine lets us say.
std::string WhyUnavailable(int error) {
  std::string why =
      std::string("io: io_uring is not available here: io_uring_queue_init failed: ") +
      std::strerror(error);
  std::ifstream disabled_file("/proc/sys/kernel/io_uring_disabled");
  int disabled = 0;
  const bool has_sysctl = static_cast<bool>(disabled_file >> disabled);
  if (error == EPERM) {
    if (has_sysctl && disabled == 2) {
      why += " (the sysctl kernel.io_uring_disabled is 2: io_uring is off for every process)";
    } else if (has_sysctl && disabled == 1) {
      why +=
          " (the sysctl kernel.io_uring_disabled is 1: only the group in "
          "kernel.io_uring_group may use it)";
    } else {
      why +=
          " (a seccomp profile blocks io_uring_setup, as Docker's default profile does; run "
          "with a profile that allows it, or skip the async executor for io)";
    }
  } else if (error == ENOSYS) {
    why += " (the kernel was built without io_uring, or a seccomp profile answers ENOSYS)";
  } else if (error == ENOMEM) {
    why += " (the ring's memory exceeds RLIMIT_MEMLOCK on this kernel)";
  }
  return why;
}

class UringRing final : public Ring {
 public:
  explicit UringRing(unsigned entries) {
    if (const int r = io_uring_queue_init(entries, &ring_, 0); r < 0) {
      throw WorkloadError(WhyUnavailable(-r));
    }
    // Every operation io's task needs: openat, write, fsync, close (5.6), unlinkat (5.11).
    io_uring_probe* probe = io_uring_get_probe_ring(&ring_);
    std::string missing;
    for (const auto& [op, name] :
         {std::pair{IORING_OP_OPENAT, "openat"}, std::pair{IORING_OP_WRITE, "write"},
          std::pair{IORING_OP_FSYNC, "fsync"}, std::pair{IORING_OP_CLOSE, "close"},
          std::pair{IORING_OP_UNLINKAT, "unlinkat"}}) {
      if (probe == nullptr || io_uring_opcode_supported(probe, op) == 0) {
        missing += std::string(missing.empty() ? "" : ", ") + name;
      }
    }
    if (probe != nullptr) io_uring_free_probe(probe);
    if (!missing.empty()) {
      io_uring_queue_exit(&ring_);
      throw WorkloadError("io: this kernel's io_uring lacks " + missing +
                          " (io's asynchronous form needs Linux 5.11 or later)");
    }
  }
  ~UringRing() override { io_uring_queue_exit(&ring_); }
  UringRing(const UringRing&) = delete;
  UringRing& operator=(const UringRing&) = delete;

  void Open(const char* path, int flags, unsigned mode, std::uint64_t user_data) override {
    io_uring_prep_openat(Sqe(user_data), AT_FDCWD, path, flags, mode);
  }
  void Write(int fd, const void* data, unsigned bytes, std::uint64_t offset,
             std::uint64_t user_data) override {
    io_uring_prep_write(Sqe(user_data), fd, data, bytes, offset);
  }
  void Fsync(int fd, bool datasync, std::uint64_t user_data) override {
    io_uring_prep_fsync(Sqe(user_data), fd, datasync ? IORING_FSYNC_DATASYNC : 0U);
  }
  void Close(int fd, std::uint64_t user_data) override { io_uring_prep_close(Sqe(user_data), fd); }
  void Unlink(const char* path, std::uint64_t user_data) override {
    io_uring_prep_unlinkat(Sqe(user_data), AT_FDCWD, path, 0);
  }

  void Wait(int timeout_ms, std::vector<RingCompletion>& out) override {
    io_uring_cqe* cqe = nullptr;
    int r = 0;
    if (timeout_ms > 0 && io_uring_cq_ready(&ring_) == 0) {
      __kernel_timespec ts{.tv_sec = timeout_ms / 1000,
                           .tv_nsec = static_cast<long long>(timeout_ms % 1000) * 1'000'000};
      // Submits and waits in one system call.
      r = io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, &ts, nullptr);
    } else {
      r = io_uring_submit(&ring_);
    }
    if (r < 0 && r != -ETIME && r != -EINTR && r != -EAGAIN && r != -EBUSY) {
      throw WorkloadError(std::string("io: io_uring wait failed: ") + std::strerror(-r));
    }
    unsigned head = 0;
    unsigned seen = 0;
    io_uring_for_each_cqe(&ring_, head, cqe) {
      out.push_back({.user_data = cqe->user_data, .result = cqe->res});
      ++seen;
    }
    io_uring_cq_advance(&ring_, seen);
    pending_ -= seen;
  }

  [[nodiscard]] std::size_t pending() const override { return pending_; }

 private:
  // A free submission entry for `user_data`; when the queue is full, what is queued goes to
  // the kernel first.
  io_uring_sqe* Sqe(std::uint64_t user_data) {
    io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
    if (sqe == nullptr) {
      io_uring_submit(&ring_);
      sqe = io_uring_get_sqe(&ring_);
    }
    if (sqe == nullptr) throw WorkloadError("io: the io_uring submission queue is full");
    io_uring_sqe_set_data64(sqe, user_data);
    ++pending_;
    return sqe;
  }

  io_uring ring_{};
  std::size_t pending_ = 0;
};

constexpr UringModule kModule = {
    .abi = kModuleAbi,
    .make_ring = [](unsigned entries) -> std::unique_ptr<Ring> {
      return std::make_unique<UringRing>(entries);
    },
};

}  // namespace
}  // namespace parbench

extern "C" [[gnu::visibility("default")]] const parbench::UringModule* parbench_uring_module() {
  return &parbench::kModule;
}
