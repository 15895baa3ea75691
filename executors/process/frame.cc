#include "executors/process/frame.h"

#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>  // IOV_MAX
#include <system_error>

#include "executors/remote/link.h"

namespace parbench::wire {

void CheckHeader(const Header& header) {
  if (header.magic != kMagic) {
    throw ProtocolError("bad frame magic (the peer is not a parbench worker)");
  }
  if (header.version != kVersion) {
    throw ProtocolError("protocol version " + std::to_string(header.version) +
                        " where this binary speaks version " + std::to_string(kVersion));
  }
  if (header.type < static_cast<std::uint16_t>(FrameType::kHello) ||
      header.type > static_cast<std::uint16_t>(FrameType::kError)) {
    throw ProtocolError("unknown frame type " + std::to_string(header.type));
  }
  if (header.size > kMaxBody) {
    throw ProtocolError("frame body of " + std::to_string(header.size) +
                        " bytes exceeds the limit of " + std::to_string(kMaxBody));
  }
}

void AppendFrame(std::vector<std::byte>& out, FrameType type, std::span<const std::byte> body) {
  const Header header{.type = static_cast<std::uint16_t>(type), .size = body.size()};
  Writer w(out);
  w.Raw(&header, sizeof header);
  w.Raw(body.data(), body.size());
}

std::vector<std::byte> ConfigureFrame(std::string_view workload, std::string_view config) {
  std::vector<std::byte> frame;
  // One allocation; it also spares GCC 12 a false -Wstringop-overflow on the growth path.
  frame.reserve(sizeof(Header) + 2 * sizeof(std::uint32_t) + workload.size() + config.size());
  frame.resize(sizeof(Header));  // the header, filled in once the size is known
  Writer writer(frame);
  remote::WriteConfigure(writer, workload, config);
  const Header header{.type = static_cast<std::uint16_t>(FrameType::kConfigure),
                      .size = frame.size() - sizeof(Header)};
  std::memcpy(frame.data(), &header, sizeof header);
  return frame;
}

std::vector<std::byte> TasksFramePrefix(std::uint32_t first, std::uint32_t count,
                                        std::uint64_t payload_size, std::uint32_t flags) {
  std::vector<std::byte> out;
  out.reserve(sizeof(Header) + 20);
  const bool inline_payload = (flags & kPayloadInShm) == 0;
  const Header header{.type = static_cast<std::uint16_t>(FrameType::kTasks),
                      .size = 20 + (inline_payload ? payload_size : 0)};
  Writer w(out);
  w.Raw(&header, sizeof header);
  remote::WriteTaskRange(w, {.first = first, .count = count});
  w.U32(flags);
  w.U64(payload_size);
  return out;
}

bool ReadFull(int fd, void* data, std::size_t n) {
  auto* p = static_cast<char*>(data);
  std::size_t got = 0;
  while (got < n) {
    const ssize_t r = ::read(fd, p + got, n - got);
    if (r > 0) {
      got += static_cast<std::size_t>(r);
    } else if (r == 0) {
      if (got == 0) return false;
      throw ProtocolError("end of file inside a frame");
    } else if (errno != EINTR) {
      throw std::system_error(errno, std::generic_category(), "read");
    }
  }
  return true;
}

void WriteFull(int fd, std::span<const std::span<const std::byte>> pieces) {
  std::vector<iovec> iov;
  for (const auto& piece : pieces) {
    if (!piece.empty()) {
      iov.push_back({const_cast<std::byte*>(piece.data()), piece.size()});
    }
  }
  std::size_t first = 0;
  while (first < iov.size()) {
    const int count = static_cast<int>(std::min<std::size_t>(iov.size() - first, IOV_MAX));
    const ssize_t w = ::writev(fd, iov.data() + first, count);
    if (w < 0) {
      if (errno == EINTR) continue;
      throw std::system_error(errno, std::generic_category(), "write");
    }
    auto left = static_cast<std::size_t>(w);
    while (first < iov.size() && left >= iov[first].iov_len) {
      left -= iov[first].iov_len;
      ++first;
    }
    if (left > 0) {
      iov[first].iov_base = static_cast<char*>(iov[first].iov_base) + left;
      iov[first].iov_len -= left;
    }
  }
}

bool ReadFrame(int fd, Header& header, std::vector<std::byte>& body) {
  if (!ReadFull(fd, &header, sizeof header)) return false;
  CheckHeader(header);
  body.resize(static_cast<std::size_t>(header.size));
  if (header.size > 0 && !ReadFull(fd, body.data(), body.size())) {
    throw ProtocolError("end of file inside a frame");
  }
  return true;
}

}  // namespace parbench::wire

namespace parbench::wire {

bool FrameReader::Fill(std::size_t need) {
  if (end_ - start_ >= need) return true;
  if (buffer_.size() - start_ < need) {  // make room: move the unread bytes to the front
    std::memmove(buffer_.data(), buffer_.data() + start_, end_ - start_);
    end_ -= start_;
    start_ = 0;
    if (buffer_.size() < need) buffer_.resize(need);
  }
  while (end_ - start_ < need) {
    const ssize_t r = ::read(fd_, buffer_.data() + end_, buffer_.size() - end_);
    if (r > 0) {
      end_ += static_cast<std::size_t>(r);
    } else if (r == 0) {
      if (end_ == start_) return false;
      throw ProtocolError("end of file inside a frame");
    } else if (errno != EINTR) {
      throw std::system_error(errno, std::generic_category(), "read");
    }
  }
  return true;
}

void FrameReader::Shrink() {
  if (buffer_.size() <= kFirstSize) return;
  std::vector<std::byte> small(std::max(kFirstSize, end_ - start_));
  std::memcpy(small.data(), buffer_.data() + start_, end_ - start_);
  buffer_.swap(small);  // the large one is freed here
  end_ -= start_;
  start_ = 0;
}

bool FrameReader::Next(Header& header, std::span<const std::byte>& body) {
  if (!Fill(sizeof header)) return false;
  std::memcpy(&header, buffer_.data() + start_, sizeof header);
  CheckHeader(header);  // before sizing anything by header.size
  const std::size_t total = sizeof header + static_cast<std::size_t>(header.size);
  if (!Fill(total)) throw ProtocolError("end of file inside a frame");
  body = std::span<const std::byte>(buffer_.data() + start_ + sizeof header, header.size);
  start_ += total;
  return true;
}

}  // namespace parbench::wire
