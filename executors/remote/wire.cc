#include "executors/remote/wire.h"

namespace parbench::wire {

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

}  // namespace parbench::wire
