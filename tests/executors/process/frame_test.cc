// The wire protocol: field encoding, header checks, and a real worker process serving frames
// (an empty payload, a multi-MiB one) and reporting malformed ones.
#include "executors/process/frame.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>

#include "common/unique_fd.h"
#include "tests/support.h"
#include "workloads/transfer.h"

extern char** environ;

namespace parbench::wire {
namespace {

TEST(FrameTest, FieldsRoundTrip) {
  std::vector<std::byte> body;
  Writer w(body);
  w.U32(7);
  w.U64(1ULL << 40);
  w.I64(-5);
  w.Str("hello");
  Reader r(body);
  EXPECT_EQ(r.U32(), 7U);
  EXPECT_EQ(r.U64(), 1ULL << 40);
  EXPECT_EQ(r.I64(), -5);
  EXPECT_EQ(r.Str(), "hello");
  EXPECT_NO_THROW(r.ExpectEnd());
}

TEST(FrameTest, ReadingPastTheEndIsAProtocolError) {
  std::vector<std::byte> body;
  Writer(body).U32(100);  // a string length with no characters behind it
  Reader r(body);
  EXPECT_THROW((void)r.Str(), ProtocolError);
}

TEST(FrameTest, TrailingBytesAreAProtocolError) {
  std::vector<std::byte> body;
  Writer(body).U64(1);
  Reader r(body);
  (void)r.U32();
  EXPECT_THROW(r.ExpectEnd(), ProtocolError);
}

TEST(FrameTest, HeaderChecksRejectMagicVersionTypeAndSize) {
  EXPECT_NO_THROW(CheckHeader({.type = 3, .size = 10}));
  EXPECT_THROW(CheckHeader({.magic = 0xdeadbeef, .type = 3}), ProtocolError);
  EXPECT_THROW(CheckHeader({.version = kVersion + 1, .type = 3}), ProtocolError);
  EXPECT_THROW(CheckHeader({.type = 0}), ProtocolError);
  EXPECT_THROW(CheckHeader({.type = 99}), ProtocolError);
  EXPECT_THROW(CheckHeader({.type = 3, .size = kMaxBody + 1}), ProtocolError);
}

TEST(FrameTest, ResultRecordsRoundTrip) {
  const std::vector<std::byte> reply(10, std::byte{42});
  std::vector<std::byte> body;
  Writer w(body);
  EncodeResult(w, {.task = 3,
                   .value = 9,
                   .start_ns = 1,
                   .stop_ns = 2,
                   .tid = 5,
                   .error = "boom",
                   .reply = reply});
  Reader r(body);
  const ResultRecord out = DecodeResult(r);
  EXPECT_EQ(out.task, 3U);
  EXPECT_EQ(out.value, 9U);
  EXPECT_EQ(out.error, "boom");
  ASSERT_EQ(out.reply.size(), 10U);
  EXPECT_EQ(out.reply[9], std::byte{42});
}

TEST(FrameTest, AConfigureFrameCarriesWorkloadAndConfig) {
  const std::vector<std::byte> frame = ConfigureFrame("transfer", "size=16");
  Header header;
  ASSERT_GE(frame.size(), sizeof header);
  std::memcpy(&header, frame.data(), sizeof header);
  EXPECT_NO_THROW(CheckHeader(header));
  EXPECT_EQ(header.type, static_cast<std::uint16_t>(FrameType::kConfigure));
  ASSERT_EQ(header.size, frame.size() - sizeof header);
  Reader r(std::span<const std::byte>(frame).subspan(sizeof header));
  EXPECT_EQ(r.Str(), "transfer");
  EXPECT_EQ(r.Str(), "size=16");
  EXPECT_NO_THROW(r.ExpectEnd());
}

TEST(FrameTest, AShrunkReaderKeepsTheFramesNotYetReturned) {
  // A large frame, then a small one behind it, in a file: one read() may take in both.
  UniqueFd file(::memfd_create("frames", MFD_CLOEXEC));
  ASSERT_TRUE(file.valid());
  std::vector<std::byte> large(1 << 20, std::byte{7});
  const std::vector<std::byte> small = {std::byte{1}, std::byte{2}, std::byte{3}};
  std::vector<std::byte> frames;
  AppendFrame(frames, FrameType::kConfigure, large);
  AppendFrame(frames, FrameType::kConfigure, small);
  const std::span<const std::byte> pieces[] = {frames};
  WriteFull(file.get(), pieces);
  ASSERT_EQ(::lseek(file.get(), 0, SEEK_SET), 0);

  FrameReader reader(file.get());
  Header header;
  std::span<const std::byte> body;
  ASSERT_TRUE(reader.Next(header, body));
  EXPECT_EQ(body.size(), large.size());
  reader.Shrink();  // gives the 1 MiB back
  ASSERT_TRUE(reader.Next(header, body));
  EXPECT_TRUE(std::equal(body.begin(), body.end(), small.begin(), small.end()));
  EXPECT_FALSE(reader.Next(header, body)) << "a clean end of file";
}

// A worker process (this test binary in worker mode) driven by hand over raw pipes.
class RawWorker {
 public:
  RawWorker() {
    int in[2];
    int out[2];
    EXPECT_EQ(::pipe2(in, O_CLOEXEC), 0);
    EXPECT_EQ(::pipe2(out, O_CLOEXEC), 0);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in[0], 0);
    posix_spawn_file_actions_adddup2(&actions, out[1], 1);
    const std::string exe = testing::SelfExe();
    const std::string parent = std::to_string(::getpid());
    char* argv[] = {const_cast<char*>(exe.c_str()), const_cast<char*>("--worker"),
                    const_cast<char*>(parent.c_str()), nullptr};
    EXPECT_EQ(::posix_spawn(&pid_, exe.c_str(), &actions, nullptr, argv, environ), 0);
    posix_spawn_file_actions_destroy(&actions);
    ::close(in[0]);
    ::close(out[1]);
    to_.Reset(in[1]);
    from_.Reset(out[0]);
    Header header;
    std::vector<std::byte> body;
    EXPECT_TRUE(ReadFrame(from_.get(), header, body));
    EXPECT_EQ(header.type, static_cast<std::uint16_t>(FrameType::kHello));
  }
  ~RawWorker() {
    to_.Reset();
    if (pid_ > 0) (void)Wait();
  }
  RawWorker(const RawWorker&) = delete;
  RawWorker& operator=(const RawWorker&) = delete;

  void Send(std::span<const std::byte> bytes) {
    const std::span<const std::byte> pieces[] = {bytes};
    WriteFull(to_.get(), pieces);
  }
  void Configure(std::string_view workload, std::string_view config) {
    Send(ConfigureFrame(workload, config));
  }
  void SendTask(std::uint32_t task, std::span<const std::byte> payload) {
    Send(TasksFramePrefix(task, 1, payload.size()));
    Send(payload);
  }
  // Reads one frame; returns its type and body.
  FrameType Receive(std::vector<std::byte>& body) {
    Header header;
    EXPECT_TRUE(ReadFrame(from_.get(), header, body));
    return static_cast<FrameType>(header.type);
  }
  // Closes stdin and returns the raw wait status.
  int Wait() {
    to_.Reset();
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return status;
  }

 private:
  pid_t pid_ = -1;
  UniqueFd to_;
  UniqueFd from_;
};

TEST(WorkerModeTest, EchoesAnEmptyAndAMultiMiBPayload) {
  RawWorker worker;
  worker.Configure("transfer", "");
  std::vector<std::byte> big(6 << 20);
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = std::byte(i % 251);
  for (const auto& payload : {std::vector<std::byte>{}, big}) {
    worker.SendTask(4, payload);
    std::vector<std::byte> body;
    ASSERT_EQ(worker.Receive(body), FrameType::kResults);
    Reader r(body);
    ASSERT_EQ(r.U32(), 1U);
    const ResultRecord record = DecodeResult(r);
    r.ExpectEnd();
    EXPECT_EQ(record.task, 4U);
    EXPECT_EQ(record.error, "");
    EXPECT_EQ(record.value, transfer::Checksum(payload));
    ASSERT_EQ(record.reply.size(), payload.size());
    EXPECT_TRUE(std::equal(record.reply.begin(), record.reply.end(), payload.begin()));
  }
  const int status = worker.Wait();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "clean exit on end of file";
}

// Sends `frame` to a fresh worker; expects a kError frame containing `expect` and exit status 3.
void ExpectRejected(std::span<const std::byte> frame, const std::string& expect) {
  RawWorker worker;
  worker.Send(frame);
  std::vector<std::byte> body;
  ASSERT_EQ(worker.Receive(body), FrameType::kError);
  Reader r(body);
  const std::string message = r.Str();
  EXPECT_NE(message.find(expect), std::string::npos) << message;
  const int status = worker.Wait();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 3) << "status " << status;
}

std::vector<std::byte> RawHeader(const Header& header) {
  std::vector<std::byte> out(sizeof header);
  std::memcpy(out.data(), &header, sizeof header);
  return out;
}

TEST(WorkerModeTest, RejectsBadMagic) {
  ExpectRejected(RawHeader({.magic = 0x12345678, .type = 3, .size = 0}), "magic");
}

TEST(WorkerModeTest, RejectsAnotherProtocolVersion) {
  ExpectRejected(RawHeader({.version = kVersion + 1, .type = 3, .size = 0}), "protocol version");
}

TEST(WorkerModeTest, RejectsAnUnknownFrameType) {
  ExpectRejected(RawHeader({.type = 77, .size = 0}), "unknown frame type");
}

TEST(WorkerModeTest, RejectsAnAbsurdLengthWithoutAllocatingIt) {
  ExpectRejected(RawHeader({.type = 3, .size = std::uint64_t{1} << 62}), "exceeds the limit");
}

TEST(WorkerModeTest, RejectsTasksBeforeConfigure) {
  RawWorker worker;
  worker.SendTask(0, {});
  std::vector<std::byte> body;
  ASSERT_EQ(worker.Receive(body), FrameType::kError);
}

TEST(WorkerModeTest, RejectsATruncatedBody) {
  std::vector<std::byte> frame = RawHeader({.type = 2, .size = 4});
  Writer(frame).U32(1000);  // a string length of 1000 with no characters in a 4-byte body
  ExpectRejected(frame, "ends early");
}

}  // namespace
}  // namespace parbench::wire
