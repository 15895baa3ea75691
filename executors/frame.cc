#include "executors/frame.h"

#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>  // IOV_MAX
#include <system_error>

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

void Writer::Str(std::string_view s) {
  U32(static_cast<std::uint32_t>(s.size()));
  Raw(s.data(), s.size());
}

void Writer::Raw(const void* data, std::size_t n) {
  const auto* p = static_cast<const std::byte*>(data);
  out_.insert(out_.end(), p, p + n);
}

std::string Reader::Str() {
  const std::uint32_t n = U32();
  const auto bytes = Bytes(n);
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

std::span<const std::byte> Reader::Bytes(std::uint64_t n) {
  if (n > body_.size() - pos_) {
    throw ProtocolError("frame body ends early: " + std::to_string(n) + " bytes wanted, " +
                        std::to_string(body_.size() - pos_) + " left");
  }
  const auto out = body_.subspan(pos_, static_cast<std::size_t>(n));
  pos_ += static_cast<std::size_t>(n);
  return out;
}

void Reader::ExpectEnd() const {
  if (pos_ != body_.size()) {
    throw ProtocolError("frame body has " + std::to_string(body_.size() - pos_) +
                        " unexpected trailing bytes");
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
  writer.Str(workload);
  writer.Str(config);
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
  w.U32(first);
  w.U32(count);
  w.U32(flags);
  w.U64(payload_size);
  return out;
}

void EncodeResultHead(Writer& w, const ResultRecord& r, std::uint64_t reply_size) {
  w.U32(r.task);
  w.U64(r.value);
  w.I64(r.start_ns);
  w.I64(r.stop_ns);
  w.I32(r.tid);
  w.U32(r.flags);
  w.Str(std::string_view(r.error).substr(0, kMaxErrorText));
  w.U64(reply_size);
}

void EncodeResult(Writer& w, const ResultRecord& r) {
  EncodeResultHead(w, r, r.reply.size());
  if ((r.flags & kReplyInShm) == 0) w.Raw(r.reply.data(), r.reply.size());
}

ResultRecord DecodeResult(Reader& r) {
  ResultRecord out;
  out.task = r.U32();
  out.value = r.U64();
  out.start_ns = r.I64();
  out.stop_ns = r.I64();
  out.tid = r.I32();
  out.flags = r.U32();
  out.error = r.Str();
  out.reply_size = r.U64();
  if ((out.flags & (kReplyInShm | kReplyApart)) == 0) out.reply = r.Bytes(out.reply_size);
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
