// The per-worker channel, looped back onto itself through one pipe (what it writes it reads):
// frames of every size arrive whole and in order, a frame larger than the pipe crosses in
// pieces, a kept frame outlives the next one, and a bad header, a gone peer and end of file are
// each reported.
#include "executors/process/channel.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <stdexcept>
#include <vector>

#include "tests/support.h"

namespace parbench {
namespace {

using testing::Watchdog;

// A channel whose output is its own input: one pipe, both ends.
Channel LoopbackChannel() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
  return Channel(UniqueFd(fds[1]), UniqueFd(fds[0]));
}

struct Loopback {
  Channel channel = LoopbackChannel();
};

// A frame of type kResults (any valid type will do) whose body is `body`.
std::vector<std::byte> Frame(std::span<const std::byte> body) {
  std::vector<std::byte> frame;
  wire::AppendFrame(frame, wire::FrameType::kResults, body);
  return frame;
}

std::vector<std::byte> Pattern(std::size_t size, unsigned seed) {
  std::vector<std::byte> bytes(size);
  for (std::size_t i = 0; i < size; ++i) bytes[i] = static_cast<std::byte>((i * 31 + seed) % 251);
  return bytes;
}

std::vector<std::byte> Copy(std::span<const std::byte> bytes) {
  return {bytes.begin(), bytes.end()};
}

TEST(ChannelTest, SmallFramesArriveWholeAndInOrder) {
  Loopback loop;
  const auto a = Pattern(10, 1);
  const auto b = Pattern(0, 2);
  const auto c = Pattern(3000, 3);
  for (const auto* body : {&a, &b, &c}) loop.channel.Queue(Frame(*body));
  ASSERT_TRUE(loop.channel.Flush());
  EXPECT_FALSE(loop.channel.sending());
  ASSERT_EQ(loop.channel.Receive(), Channel::Received::kData);
  wire::Header header;
  std::span<const std::byte> body;
  for (const auto* expected : {&a, &b, &c}) {
    ASSERT_TRUE(loop.channel.NextFrame(header, body));
    EXPECT_EQ(header.type, static_cast<std::uint16_t>(wire::FrameType::kResults));
    EXPECT_EQ(Copy(body), *expected);
  }
  EXPECT_FALSE(loop.channel.NextFrame(header, body));
  EXPECT_EQ(loop.channel.buffered(), 0U);
  EXPECT_EQ(loop.channel.Receive(), Channel::Received::kWouldBlock);
}

// A read that took everything the pipe held says so, and one that filled its room does not:
// the parent then skips the read that would only find the pipe empty.
TEST(ChannelTest, AReadThatEmptiedThePipeSaysItDrainedIt) {
  Loopback loop;
  loop.channel.Queue(Frame(Pattern(10, 1)));
  ASSERT_TRUE(loop.channel.Flush());
  ASSERT_EQ(loop.channel.Receive(), Channel::Received::kData);
  EXPECT_TRUE(loop.channel.drained());
  loop.channel.Queue(Frame(Pattern(10, 2)));
  ASSERT_TRUE(loop.channel.Flush());
  ASSERT_EQ(loop.channel.Receive(4), Channel::Received::kData);
  EXPECT_FALSE(loop.channel.drained()) << "4 bytes read of more: the pipe still holds some";
}

TEST(ChannelTest, AFrameLargerThanThePipeCrossesInPiecesAndArrivesWhole) {
  Watchdog watchdog(std::chrono::seconds(60));
  Loopback loop;
  const int pipe_bytes = ::fcntl(loop.channel.write_fd(), F_GETPIPE_SZ);
  ASSERT_GT(pipe_bytes, 0);
  // A task frame's prefix as owned bytes, then the payload as a view, as the pool sends them.
  const auto payload = Pattern(4 * static_cast<std::size_t>(pipe_bytes) + 12345, 7);
  loop.channel.Queue(wire::TasksFramePrefix(5, 1, payload.size()));
  loop.channel.QueuePayload(payload);
  int flushes = 0;
  wire::Header header;
  std::span<const std::byte> body;
  bool complete = false;
  while (!complete) {
    if (loop.channel.sending()) {
      ASSERT_TRUE(loop.channel.Flush());  // as much as the pipe takes
      ++flushes;
    }
    while (!complete && loop.channel.Receive() == Channel::Received::kData) {
      complete = loop.channel.NextFrame(header, body);
    }
  }
  EXPECT_GT(flushes, 1) << "the pipe took the whole frame at once";
  EXPECT_FALSE(loop.channel.sending());
  EXPECT_EQ(header.type, static_cast<std::uint16_t>(wire::FrameType::kTasks));
  wire::Reader reader(body);
  EXPECT_EQ(reader.U32(), 5U);  // first
  EXPECT_EQ(reader.U32(), 1U);  // count
  EXPECT_EQ(reader.U32(), 0U);  // flags
  ASSERT_EQ(reader.U64(), payload.size());
  EXPECT_EQ(Copy(reader.Bytes(payload.size())), payload);
  EXPECT_NO_THROW(reader.ExpectEnd());
}

TEST(ChannelTest, AKeptFrameOutlivesTheFramesAfterIt) {
  Loopback loop;
  const auto first = Pattern(500, 1);
  const auto second = Pattern(700, 2);
  loop.channel.Queue(Frame(first));
  loop.channel.Queue(Frame(second));
  ASSERT_TRUE(loop.channel.Flush());
  ASSERT_EQ(loop.channel.Receive(), Channel::Received::kData);
  wire::Header header;
  std::span<const std::byte> kept_body;
  ASSERT_TRUE(loop.channel.NextFrame(header, kept_body));
  const std::shared_ptr<const void> owner = loop.channel.KeepFrame();
  EXPECT_EQ(loop.channel.KeepFrame(), owner) << "one owner per frame";
  std::span<const std::byte> body;
  ASSERT_TRUE(loop.channel.NextFrame(header, body));
  EXPECT_EQ(Copy(body), second) << "the frame after a kept one moved intact";
  // More traffic through the channel's buffer must not touch the kept bytes.
  loop.channel.Queue(Frame(Pattern(900, 3)));
  ASSERT_TRUE(loop.channel.Flush());
  ASSERT_EQ(loop.channel.Receive(), Channel::Received::kData);
  ASSERT_TRUE(loop.channel.NextFrame(header, body));
  EXPECT_EQ(Copy(kept_body), first);
}

TEST(ChannelTest, ABadHeaderIsAProtocolErrorBeforeAnythingIsSizedByIt) {
  Loopback loop;
  const wire::Header bad{.magic = 0x12345678, .type = 4, .size = std::uint64_t{1} << 62};
  loop.channel.Queue({reinterpret_cast<const std::byte*>(&bad), sizeof bad});
  ASSERT_TRUE(loop.channel.Flush());
  ASSERT_EQ(loop.channel.Receive(), Channel::Received::kData);
  wire::Header header;
  std::span<const std::byte> body;
  EXPECT_THROW((void)loop.channel.NextFrame(header, body), wire::ProtocolError);
}

TEST(ChannelTest, ReceiveReadsNoMoreThanItsLimit) {
  Loopback loop;
  loop.channel.Queue(Frame(Pattern(24, 1)));  // 40 bytes on the wire
  ASSERT_TRUE(loop.channel.Flush());
  ASSERT_EQ(loop.channel.Receive(20), Channel::Received::kData);
  EXPECT_EQ(loop.channel.buffered(), 20U);
  wire::Header header;
  std::span<const std::byte> body;
  EXPECT_FALSE(loop.channel.NextFrame(header, body));
  EXPECT_TRUE(loop.channel.WaitReadable(NowNs())) << "the rest is still in the pipe";
  ASSERT_EQ(loop.channel.Receive(), Channel::Received::kData);
  ASSERT_TRUE(loop.channel.NextFrame(header, body));
  EXPECT_EQ(Copy(body), Pattern(24, 1));
}

TEST(ChannelTest, FlushSaysWhenThePeerIsGone) {
  int to_peer[2];
  int from_peer[2];
  ASSERT_EQ(::pipe2(to_peer, O_CLOEXEC), 0);
  ASSERT_EQ(::pipe2(from_peer, O_CLOEXEC), 0);
  Channel channel{UniqueFd(to_peer[1]), UniqueFd(from_peer[0])};  // also ignores SIGPIPE
  ::close(to_peer[0]);  // the peer's stdin is gone: it died
  channel.Queue(Frame(Pattern(10, 1)));
  EXPECT_FALSE(channel.Flush());
  ::close(from_peer[1]);
}

TEST(ChannelTest, EndOfFileIsReportedAndDrained) {
  Watchdog watchdog(std::chrono::seconds(60));
  int to_peer[2];
  int from_peer[2];
  ASSERT_EQ(::pipe2(to_peer, O_CLOEXEC), 0);
  ASSERT_EQ(::pipe2(from_peer, O_CLOEXEC), 0);
  Channel channel{UniqueFd(to_peer[1]), UniqueFd(from_peer[0])};
  ::close(to_peer[0]);
  ASSERT_EQ(::write(from_peer[1], "last words", 10), 10);
  ::close(from_peer[1]);                                            // the peer exits
  EXPECT_TRUE(channel.DrainUntilClosed(NowNs() + 30'000'000'000));  // a bound, never reached
  EXPECT_EQ(channel.Receive(), Channel::Received::kClosed);
}

TEST(ChannelTest, MillisUntilRoundsUpAndNeverGoesNegative) {
  EXPECT_EQ(MillisUntil(NowNs() - 5'000'000), 0);
  EXPECT_GE(MillisUntil(NowNs() + 1), 0);
  EXPECT_LE(MillisUntil(NowNs() + 1), 1);
  EXPECT_EQ(MillisUntil(INT64_MAX), INT32_MAX);
}

}  // namespace
}  // namespace parbench
