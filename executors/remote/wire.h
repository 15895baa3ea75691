// The fields every remote transport encodes the same way: fixed-width integers and strings in
// native byte order (both ends are the same binary), and one task's result record.
//
// A transport wraps these in its own messages (the process pool in length-prefixed frames, see
// process/frame.h; mpi in tagged MPI messages). A body that ends early or has bytes left over
// is a ProtocolError, never a read past the end.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "workloads/workload.h"  // kMaxPayloadBytes

namespace parbench::wire {

// The largest payload a task may carry (the io and transfer sizes are validated against it).
inline constexpr auto kMaxPayload = static_cast<std::uint64_t>(kMaxPayloadBytes);
// An error text longer than this is cut, so one runaway message cannot fill a message.
inline constexpr std::size_t kMaxErrorText = 4096;

// Flags of a result record: where its reply bytes are, when not right after the record.
inline constexpr std::uint32_t kReplyInShm = 1;  // in the worker's shared region (processes)
inline constexpr std::uint32_t kReplyApart = 2;  // in a message of its own that follows (mpi)

// A message that breaks the protocol.
class ProtocolError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Appends fixed-width fields to a byte buffer.
class Writer {
 public:
  explicit Writer(std::vector<std::byte>& out) : out_(out) {}
  void U32(std::uint32_t v) { Raw(&v, sizeof v); }
  void U64(std::uint64_t v) { Raw(&v, sizeof v); }
  void I32(std::int32_t v) { Raw(&v, sizeof v); }
  void I64(std::int64_t v) { Raw(&v, sizeof v); }
  // A u32 length and the characters.
  void Str(std::string_view s);
  void Raw(const void* data, std::size_t n);

 private:
  std::vector<std::byte>& out_;
};

// Reads fixed-width fields from a message body; any read past the end throws ProtocolError.
class Reader {
 public:
  explicit Reader(std::span<const std::byte> body) : body_(body) {}
  std::uint32_t U32() { return Fixed<std::uint32_t>(); }
  std::uint64_t U64() { return Fixed<std::uint64_t>(); }
  std::int32_t I32() { return Fixed<std::int32_t>(); }
  std::int64_t I64() { return Fixed<std::int64_t>(); }
  std::string Str();
  // A view of the next n bytes.
  std::span<const std::byte> Bytes(std::uint64_t n);
  // Throws unless every byte was read.
  void ExpectEnd() const;

 private:
  template <typename T>
  T Fixed() {
    T v;
    const auto bytes = Bytes(sizeof(T));
    std::memcpy(&v, bytes.data(), sizeof(T));
    return v;
  }
  std::span<const std::byte> body_;
  std::size_t pos_ = 0;
};

// One task's outcome as a worker reports it.
struct ResultRecord {
  std::uint32_t task = 0;
  std::uint64_t value = 0;
  std::int64_t start_ns = 0;
  std::int64_t stop_ns = 0;
  std::int32_t tid = 0;
  std::uint32_t flags = 0;  // kReplyInShm, kReplyApart: the reply is not in the record
  std::string error;
  std::uint64_t reply_size = 0;
  std::span<const std::byte> reply;  // in the record: a view into the body (else empty)
};

// Encodes a record's fixed fields and error; `reply_size` bytes of reply must follow in the
// body unless r.flags says the reply is elsewhere.
void EncodeResultHead(Writer& w, const ResultRecord& r, std::uint64_t reply_size);
// Encodes a whole record, reply bytes included.
void EncodeResult(Writer& w, const ResultRecord& r);
[[nodiscard]] ResultRecord DecodeResult(Reader& r);

}  // namespace parbench::wire
