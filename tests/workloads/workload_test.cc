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
  EXPECT_THROW(Config().Set("", "1"), WorkloadError);
  for (const char* bad : {"a=%", "a=%4", "a=%zz", "a%G1=1"}) {
    EXPECT_THROW(Config::Parse(bad), WorkloadError) << bad;
  }
}

TEST(ConfigTest, KeysAndValuesCarryEveryByteAPathCanHold) {
  // Every byte but NUL (which no path holds) in one value, and the separators in a key.
  std::string every;
  for (int c = 1; c < 256; ++c) every += static_cast<char>(c);
  Config config;
  config.Set("dir", "/tmp/a;b=c%41\nd\n%e")
      .Set("every", every)
      .Set("k;e=y%", "v")
      .Set("nul", std::string("a\0b", 3));
  const std::string text = config.Serialize();
  EXPECT_EQ(text.find('\n'), std::string::npos) << "one line: " << text;
  const Config back = Config::Parse(text);
  EXPECT_EQ(back, config);
  EXPECT_EQ(back.GetString("dir"), "/tmp/a;b=c%41\nd\n%e");
  EXPECT_EQ(back.GetString("every"), every);
  EXPECT_EQ(back.GetString("k;e=y%"), "v");
  EXPECT_EQ(back.GetString("nul"), std::string("a\0b", 3));
  EXPECT_EQ(Config().Set("dir", "/a;b").Serialize(), "dir=/a%3Bb") << "readable where it can be";
}

TEST(WorkloadTableTest, FindsKnownWorkloadsAndRejectsUnknownOnes) {
  EXPECT_EQ(FindWorkload("cpu").name, "cpu");
  EXPECT_THROW((void)FindWorkload("no-such-workload"), WorkloadError);
  EXPECT_THROW(RegisterWorkload(FindWorkload("cpu")), WorkloadError) << "duplicate name";
}

}  // namespace
}  // namespace parbench
