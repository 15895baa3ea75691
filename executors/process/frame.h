// The wire protocol between the process pool and its workers: length-prefixed binary frames.
//
// Every frame is a 16-byte Header followed by `size` body bytes. Both ends are the same binary
// (the worker is `bench --worker`), so integers travel in native byte order. A frame with the
// wrong magic, another protocol version, an unknown type or a body over kMaxBody is a
// ProtocolError: the receiver never allocates more than kMaxBody for one frame.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "executors/remote/wire.h"

namespace parbench::wire {

inline constexpr std::uint32_t kMagic = 0x31464250;  // "PBF1" in little-endian bytes
inline constexpr std::uint16_t kVersion = 2;
// Room for a frame's fixed fields and a batch of result records beside the payload.
inline constexpr std::uint64_t kMaxBody = kMaxPayload + (std::uint64_t{16} << 20);

enum class FrameType : std::uint16_t {
  kHello = 1,      // worker -> parent, once at start: {i32 pid}
  kConfigure = 2,  // parent -> worker: {str workload, str config}: build the runner for a job
  kTasks = 3,      // parent -> worker: {u32 first, u32 count, u32 flags, u64 n, n payload
                   //   bytes (none with kPayloadInShm: they are in the shared region)}
  kResults = 4,    // worker -> parent: {u32 count, count x ResultRecord}
  kError = 5,      // worker -> parent, before exiting: {str message}
};

// Flags of a kTasks frame.
inline constexpr std::uint32_t kPayloadInShm = 1;  // the payload is at offset 0 of the region
// Once it has answered, the worker may spin for its next frame before it blocks (the parent saw a
// CPU free for it; see process/spin.h).
inline constexpr std::uint32_t kSpinAfter = 2;

// The shared-memory transport: one region per worker (a memfd the worker sees as descriptor 3),
// holding the payload at offset 0 and the reply from ReplyOffset(payload size) to its end.
inline constexpr int kShmFd = 3;
[[nodiscard]] constexpr std::uint64_t ReplyOffset(std::uint64_t payload_size) {
  return (payload_size + 4095) / 4096 * 4096;  // page-aligned
}

struct Header {
  std::uint32_t magic = kMagic;
  std::uint16_t version = kVersion;
  std::uint16_t type = 0;
  std::uint64_t size = 0;  // body bytes that follow
};
static_assert(sizeof(Header) == 16, "the header is 16 bytes on the wire");

// Throws ProtocolError unless `header` is a frame this version accepts.
void CheckHeader(const Header& header);

// Appends a whole frame (header and body) to `out`.
void AppendFrame(std::vector<std::byte>& out, FrameType type, std::span<const std::byte> body);

// A whole kConfigure frame: build the runner for `workload` with `config` (Config::Serialize()).
[[nodiscard]] std::vector<std::byte> ConfigureFrame(std::string_view workload,
                                                    std::string_view config);

// The fixed part of a kTasks frame; the payload follows it on the wire unless `flags` has
// kPayloadInShm.
[[nodiscard]] std::vector<std::byte> TasksFramePrefix(std::uint32_t first, std::uint32_t count,
                                                      std::uint64_t payload_size,
                                                      std::uint32_t flags = 0);

// Blocking I/O for the worker side and for tests. Both retry on EINTR and short transfers.
// ReadFull returns false on end of file before the first byte; a partial frame throws.
bool ReadFull(int fd, void* data, std::size_t n);
void WriteFull(int fd, std::span<const std::span<const std::byte>> pieces);

// Reads one frame into `body` (reusing its capacity); returns false on a clean end of file.
bool ReadFrame(int fd, Header& header, std::vector<std::byte>& body);

// Reads frames from a blocking descriptor with one read() per frame when header and body
// arrive together (a small task frame), instead of one for each.
class FrameReader {
 public:
  explicit FrameReader(int fd) : fd_(fd) {}
  // The next frame's body (valid until the next call); false on a clean end of file.
  // Throws ProtocolError on a bad header or end of file inside a frame.
  bool Next(Header& header, std::span<const std::byte>& body);
  // Gives back a buffer grown past its first size for a large frame, keeping the bytes not yet
  // returned; the body Next() returned last is invalid afterwards. A worker calls it when its
  // job changes, so it never holds the last job's payload beside the new job's data.
  void Shrink();
  // True when bytes of a frame have been read and not yet returned by Next().
  [[nodiscard]] bool buffered() const { return end_ > start_; }

 private:
  static constexpr std::size_t kFirstSize = 64 * 1024;  // a small frame, header and body
  int fd_;
  std::vector<std::byte> buffer_ = std::vector<std::byte>(kFirstSize);
  std::size_t start_ = 0;  // the unread bytes are buffer_[start_, end_)
  std::size_t end_ = 0;
  bool Fill(std::size_t need);  // until end_ - start_ >= need; false on end of file at 0 bytes
};

}  // namespace parbench::wire
