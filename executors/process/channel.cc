#include "executors/process/channel.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <string>
#include <utility>

#include "executors/executor.h"  // ExecutorError, NowNs

namespace parbench {
namespace {

// Reads ask for at least this much, so small frames cost one read() each.
constexpr std::size_t kReadChunk = 64 * 1024;

// Pipes of 1 MiB instead of 64 KiB: a large payload then crosses in 16 times fewer hand-offs
// between the two processes (each a context switch). Capped by /proc/sys/fs/pipe-max-size;
// failing is harmless (the pipe keeps its default size).
constexpr int kPipeBytes = 1 << 20;

void SetNonBlocking(int fd) {
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
    throw ExecutorError(std::string("processes: fcntl(O_NONBLOCK): ") + std::strerror(errno));
  }
}

// A peer that dies turns our next write into EPIPE; without this the signal would kill us.
// A handler someone installed on purpose is left alone.
void IgnoreSigpipe() {
  struct sigaction old {};
  ::sigaction(SIGPIPE, nullptr, &old);
  if (old.sa_handler == SIG_DFL) std::signal(SIGPIPE, SIG_IGN);
}

}  // namespace

int MillisUntil(std::int64_t deadline_ns) {
  const std::int64_t left = deadline_ns - NowNs();
  if (left <= 0) return 0;
  return static_cast<int>(std::min<std::int64_t>((left + 999'999) / 1'000'000, INT32_MAX));
}

Channel::Channel(UniqueFd to_peer, UniqueFd from_peer)
    : to_(std::move(to_peer)), from_(std::move(from_peer)) {
  IgnoreSigpipe();
  SetNonBlocking(to_.get());
  SetNonBlocking(from_.get());
  ::fcntl(to_.get(), F_SETPIPE_SZ, kPipeBytes);
  ::fcntl(from_.get(), F_SETPIPE_SZ, kPipeBytes);
}

void Channel::Queue(std::span<const std::byte> bytes) {
  out_.insert(out_.end(), bytes.begin(), bytes.end());
}

bool Channel::Flush() {
  while (sending()) {
    iovec iov[2];
    int n = 0;
    if (out_sent_ < out_.size()) {
      iov[n++] = {out_.data() + out_sent_, out_.size() - out_sent_};
    }
    if (payload_sent_ < payload_.size()) {
      // writev's iovec is not const-correct; the payload is only read.
      iov[n++] = {const_cast<std::byte*>(payload_.data()) + payload_sent_,
                  payload_.size() - payload_sent_};
    }
    const ssize_t w = ::writev(to_.get(), iov, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) return true;  // the pipe is full: poll() says when to go on
      return false;                      // EPIPE: the peer closed its stdin, i.e. it died
    }
    auto left = static_cast<std::size_t>(w);
    const std::size_t from_out = std::min(left, out_.size() - out_sent_);
    out_sent_ += from_out;
    left -= from_out;
    payload_sent_ += left;
  }
  out_.clear();  // keeps its capacity for the next frame
  out_sent_ = 0;
  payload_ = {};
  payload_sent_ = 0;
  return true;
}

Channel::Received Channel::Receive(std::size_t limit) {
  ConsumeFrame();  // before the buffer may move
  for (;;) {
    // Keep room to read into: a whole frame once its header is known (see NextFrame), at
    // least a chunk otherwise.
    if (in_.size() - have_ < kReadChunk / 16) in_.resize(have_ + kReadChunk);
    const std::size_t room = std::min(in_.size() - have_, limit);
    const ssize_t r = ::read(from_.get(), in_.data() + have_, room);
    drained_ = false;
    if (r > 0) {
      have_ += static_cast<std::size_t>(r);
      drained_ = static_cast<std::size_t>(r) < room;
      return Received::kData;
    }
    if (r < 0 && errno == EINTR) continue;
    if (r < 0 && errno == EAGAIN) return Received::kWouldBlock;
    return Received::kClosed;
  }
}

bool Channel::NextFrame(wire::Header& header, std::span<const std::byte>& body) {
  ConsumeFrame();
  if (have_ < sizeof header) return false;
  std::memcpy(&header, in_.data(), sizeof header);
  wire::CheckHeader(header);  // before sizing anything by header.size
  const std::size_t total = sizeof header + static_cast<std::size_t>(header.size);
  if (have_ < total) {
    if (in_.size() < total) in_.resize(total);  // room for the whole frame, read in place
    return false;
  }
  body = {in_.data() + sizeof header, static_cast<std::size_t>(header.size)};
  frame_size_ = total;
  return true;
}

std::shared_ptr<const void> Channel::KeepFrame() {
  if (!kept_) kept_ = std::make_shared<std::vector<std::byte>>();  // filled by ConsumeFrame()
  return kept_;
}

void Channel::ConsumeFrame() {
  if (frame_size_ == 0) return;
  const std::size_t rest = have_ - frame_size_;
  if (kept_) {
    // The frame's buffer goes to its keepers whole (moving a vector keeps its bytes where they
    // are); what follows the frame starts a fresh buffer.
    std::vector<std::byte> next(std::max(rest, kReadChunk));
    std::memcpy(next.data(), in_.data() + frame_size_, rest);
    *kept_ = std::move(in_);
    in_ = std::move(next);
    kept_.reset();
  } else {
    std::memmove(in_.data(), in_.data() + frame_size_, rest);
  }
  have_ = rest;
  frame_size_ = 0;
}

bool Channel::WaitReadable(std::int64_t deadline_ns) const {
  for (;;) {
    pollfd p{from_.get(), POLLIN, 0};
    const int ready = ::poll(&p, 1, MillisUntil(deadline_ns));
    if (ready < 0 && errno == EINTR) continue;
    return ready != 0;  // on a poll error, let the read that follows say what is wrong
  }
}

bool Channel::DrainUntilClosed(std::int64_t deadline_ns) {
  char sink[4096];
  while (from_.valid()) {
    pollfd p{from_.get(), POLLIN, 0};
    const int ready = ::poll(&p, 1, MillisUntil(deadline_ns));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) return false;
    const ssize_t r = ::read(from_.get(), sink, sizeof sink);
    if (r == 0) return true;
    if (r < 0 && errno != EAGAIN && errno != EINTR) return false;
  }
  return false;
}

}  // namespace parbench
