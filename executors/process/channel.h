// Channel: the parent's end of one worker's pipe pair, driven without blocking from a poll loop.
//
// Outgoing, owned bytes (a configure frame, a task frame's prefix) and then a view of a payload
// leave with writev, as much as the pipe takes each time. Incoming bytes collect in one buffer
// that is sized to the whole frame once its header is in, so a frame of any size is read in
// place, and a small frame costs one read(). Frames are frame.h's.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <span>
#include <vector>

#include "common/unique_fd.h"
#include "executors/process/frame.h"

namespace parbench {

// The poll() timeout in milliseconds from now (NowNs) to `deadline_ns`, rounded up; 0 if past.
[[nodiscard]] int MillisUntil(std::int64_t deadline_ns);

// The parent's end of one worker's pipe pair. Not thread-safe: one thread drives a channel.
class Channel {
 public:
  // What one Receive() found.
  enum class Received {
    kData,        // bytes arrived; look for frames with NextFrame()
    kWouldBlock,  // the pipe is empty for now
    kClosed,      // end of file (or a read error): the peer closed its stdout or died
  };

  // Takes the write end of the peer's stdin and the read end of its stdout, makes both
  // non-blocking, asks for 1 MiB pipes and ignores SIGPIPE. Throws ExecutorError.
  Channel(UniqueFd to_peer, UniqueFd from_peer);
  Channel(Channel&&) = default;
  Channel& operator=(Channel&&) = default;
  Channel(const Channel&) = delete;
  Channel& operator=(const Channel&) = delete;

  // The descriptors to poll: POLLOUT on the write end while sending(), POLLIN on the read end.
  [[nodiscard]] int write_fd() const { return to_.get(); }
  [[nodiscard]] int read_fd() const { return from_.get(); }

  // Queues a copy of `bytes` to send.
  void Queue(std::span<const std::byte> bytes);
  // Queues a view of `payload`, sent after the queued bytes; it must stay valid until sent.
  // One payload at a time: call again only once the previous one is sent.
  void QueuePayload(std::span<const std::byte> payload) { payload_ = payload; }
  // True while queued bytes are left to send.
  [[nodiscard]] bool sending() const {
    return out_sent_ < out_.size() || payload_sent_ < payload_.size();
  }
  // Writes what the pipe takes now; false if the peer is gone (EPIPE: it closed its stdin).
  [[nodiscard]] bool Flush();
  // Closes the write end: the peer reads end of file on its stdin.
  void CloseOutput() { to_.Reset(); }

  // Reads what the pipe holds into the frame buffer, at most `limit` bytes (so that bytes past
  // a frame can be left in the pipe for poll() to see). Retries on EINTR.
  Received Receive(std::size_t limit = std::numeric_limits<std::size_t>::max());
  // True when the last Receive() read less than it had room for: the pipe held no more bytes
  // at that moment, so reading again now would only find it empty (one system call saved per
  // answer; poll() sees what comes later).
  [[nodiscard]] bool drained() const { return drained_; }
  // The next complete frame received, its header checked first (a bad one throws
  // wire::ProtocolError before anything is sized by it); false when no frame is complete.
  // `body` is valid until the next NextFrame() or Receive() call, unless KeepFrame() was called.
  bool NextFrame(wire::Header& header, std::span<const std::byte>& body);
  // Keeps the body of the frame NextFrame() last returned alive after the channel moves on: the
  // owner returned (the same for every call on one frame) will hold its buffer.
  [[nodiscard]] std::shared_ptr<const void> KeepFrame();
  // Bytes received and not yet returned by NextFrame().
  [[nodiscard]] std::size_t buffered() const { return have_ - frame_size_; }
  // Waits until the read end has something (bytes or end of file) or `deadline_ns` passes;
  // false on the deadline.
  [[nodiscard]] bool WaitReadable(std::int64_t deadline_ns) const;
  // Discards incoming bytes until end of file or `deadline_ns`; true at end of file.
  bool DrainUntilClosed(std::int64_t deadline_ns);
  // Closes the read end.
  void CloseInput() { from_.Reset(); }

 private:
  void ConsumeFrame();  // drops the frame NextFrame() last returned, moving what follows forward

  UniqueFd to_;
  UniqueFd from_;

  // Outgoing: `out_` (owned) and then `payload_` (a view), each sent up to its counter.
  std::vector<std::byte> out_;
  std::size_t out_sent_ = 0;
  std::span<const std::byte> payload_;
  std::size_t payload_sent_ = 0;

  // Incoming: the first `have_` bytes of `in_` are received; the first `frame_size_` of them
  // are the frame NextFrame() last returned (0: none), kept by `kept_` if KeepFrame() was called.
  std::vector<std::byte> in_;
  std::size_t have_ = 0;
  std::size_t frame_size_ = 0;
  std::shared_ptr<std::vector<std::byte>> kept_;
  bool drained_ = false;
};

}  // namespace parbench
