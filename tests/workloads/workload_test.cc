// The workload table and Config: what crosses the pipe must come back the same.
#include "workloads/workload.h"

#include <gtest/gtest.h>

namespace parbench {
namespace {

TEST(ConfigTest, SerializeThenParseRoundTrips) {
  Config config;
  config.Set("mode", "durable").Set("bytes", 1 << 20).Set("dir", "/tmp/x y");
  const Config back = Config::Parse(config.Serialize());
  EXPECT_EQ(back, config);
  EXPECT_EQ(back.GetInt("bytes"), 1 << 20);
  EXPECT_EQ(back.GetString("mode"), "durable");
  EXPECT_EQ(config.Serialize(), "bytes=1048576;dir=/tmp/x y;mode=durable") << "sorted keys";
}

TEST(ConfigTest, MissingAndMalformedValuesNameTheKey) {
  const Config config = Config::Parse("n=12;word=abc");
  EXPECT_EQ(config.GetInt("missing", 5), 5);
  try {
    (void)config.GetInt("word");
    FAIL();
  } catch (const WorkloadError& e) {
    EXPECT_NE(std::string(e.what()).find("'word'"), std::string::npos);
  }
  EXPECT_THROW((void)config.GetString("missing"), WorkloadError);
  EXPECT_THROW(Config::Parse("novalue"), WorkloadError);
  EXPECT_THROW(Config::Parse("=1"), WorkloadError);
  EXPECT_THROW(Config().Set("a;b", "1"), WorkloadError);
  EXPECT_THROW(Config().Set("a", "1;2"), WorkloadError);
}

TEST(WorkloadTableTest, FindsKnownWorkloadsAndRejectsUnknownOnes) {
  EXPECT_EQ(FindWorkload("cpu").name, "cpu");
  EXPECT_THROW((void)FindWorkload("no-such-workload"), WorkloadError);
  EXPECT_THROW(RegisterWorkload(FindWorkload("cpu")), WorkloadError) << "duplicate name";
}

}  // namespace
}  // namespace parbench
