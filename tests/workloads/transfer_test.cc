// transfer returns the bytes it was given, through every executor; overhead returns its index.
#include "workloads/transfer.h"

#include <gtest/gtest.h>

#include "executors/executor.h"

namespace parbench {
namespace {

TEST(TransferTest, ChecksumSumsWordsThenTailBytes) {
  EXPECT_EQ(transfer::Checksum({}), 0U);
  std::vector<std::byte> data(10, std::byte{1});
  // One 8-byte word of 0x0101010101010101 and two tail bytes of 1.
  EXPECT_EQ(transfer::Checksum(data), 0x0101010101010101ULL + 2);
}

TEST(TransferTest, MakePayloadIsDeterministic) {
  EXPECT_EQ(transfer::MakePayload(1000), transfer::MakePayload(1000));
  EXPECT_EQ(transfer::MakePayload(1000).size(), 1000U);
}

TEST(TransferTest, EchoReturnsThePayloadThroughEveryExecutor) {
  const auto payload = transfer::MakePayload((5 << 20) + 3);
  const std::uint64_t sum = transfer::Checksum(payload);
  const Job job{"transfer", Config()};
  for (const ExecutorInfo& info : Executors()) {
    if (info.available != nullptr && !info.available()) continue;
    // transfer has no asynchronous form: an event loop cannot run it (bench never asks it to).
    if (info.traits.async) continue;
    const std::string_view kind = info.name;
    ExecutorOptions options;
    options.workers = 2;
    auto executor = MakeExecutor(kind, options);
    for (const Result& r : executor->Run({.job = &job, .tasks = 3, .payload = payload})) {
      EXPECT_EQ(r.value, sum) << kind;
      ASSERT_EQ(r.reply.size(), payload.size()) << kind;
      EXPECT_TRUE(std::equal(r.reply.begin(), r.reply.end(), payload.begin())) << kind;
    }
  }
}

TEST(TransferTest, OverheadReturnsItsTaskIndex) {
  auto runner = MakeRunner("overhead", Config());
  EXPECT_EQ(runner->Run(0, {}).value, 0U);
  EXPECT_EQ(runner->Run(12345, {}).value, 12345U);
}

}  // namespace
}  // namespace parbench
