// Flag values: ParseFlagValue (int, int list, checked string), DescribeAllowed, Options getters.
#include "workloads/options.h"

#include <gtest/gtest.h>

#include <limits>

namespace parbench {
namespace {

constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();

FlagSpec IntFlag(std::int64_t lo, std::int64_t hi) {
  return {.name = "n", .type = FlagType::kInt, .lo = lo, .hi = hi};
}

FlagSpec ListFlag(std::int64_t lo, std::int64_t hi) {
  return {.name = "sizes", .type = FlagType::kIntList, .lo = lo, .hi = hi};
}

std::int64_t ParseInt(const FlagSpec& spec, std::string_view text) {
  return std::get<std::int64_t>(ParseFlagValue(spec, text));
}

std::vector<std::int64_t> ParseList(const FlagSpec& spec, std::string_view text) {
  return std::get<std::vector<std::int64_t>>(ParseFlagValue(spec, text));
}

// The FlagError's message for `text`, or "" when it parses.
std::string ErrorOf(const FlagSpec& spec, std::string_view text) {
  try {
    (void)ParseFlagValue(spec, text);
  } catch (const FlagError& e) {
    return e.what();
  }
  return "";
}

TEST(ParseFlagValueTest, IntAcceptsIntegersInRangeAndExactScientificForm) {
  const FlagSpec spec = IntFlag(1, 1'000'000);
  EXPECT_EQ(ParseInt(spec, "1"), 1);
  EXPECT_EQ(ParseInt(spec, "1000000"), 1'000'000);
  EXPECT_EQ(ParseInt(spec, "1e6"), 1'000'000);
  EXPECT_EQ(ParseInt(spec, "2.5e3"), 2500);
  EXPECT_EQ(ParseInt(IntFlag(-10, 10), "-7"), -7);
  EXPECT_EQ(ParseInt(IntFlag(-10, 10), "-1e1"), -10);
  EXPECT_EQ(ParseInt(IntFlag(0, kMax), "9223372036854775807"), kMax);
  EXPECT_EQ(ParseInt(IntFlag(0, kMax), "9e18"), 9'000'000'000'000'000'000);
}

TEST(ParseFlagValueTest, IntRefusesWhatIsOutOfRangeNotAnIntegerOrTooBig) {
  const FlagSpec spec = IntFlag(1, 1'000'000);
  for (const char* bad : {"0", "-1", "1000001", "1e7", "", "abc", "5x", "x5", "1.5", "1e-3", " 5",
                          "5 ", "0x10", "1,2", "inf", "nan", "1e300"}) {
    const std::string error = ErrorOf(spec, bad);
    EXPECT_EQ(error,
              "--n='" + std::string(bad) + "' is invalid: allowed is an integer from 1 to 1000000")
        << "'" << bad << "'";
  }
  // Past int64: refused, never wrapped around or saturated.
  const FlagSpec wide = IntFlag(std::numeric_limits<std::int64_t>::min(), kMax);
  for (const char* bad : {"9223372036854775808", "99999999999999999999", "-9223372036854775809",
                          "1e19", "-1e19", "9.3e18"}) {
    EXPECT_NE(ErrorOf(wide, bad), "") << bad;
  }
}

TEST(ParseFlagValueTest, IntListIsSortedWithoutDuplicates) {
  const FlagSpec spec = ListFlag(0, 1 << 30);
  EXPECT_EQ(ParseList(spec, "3"), (std::vector<std::int64_t>{3}));
  EXPECT_EQ(ParseList(spec, "8,2,2,4,8"), (std::vector<std::int64_t>{2, 4, 8}));
  EXPECT_EQ(ParseList(spec, "1e3,0,4096"), (std::vector<std::int64_t>{0, 1000, 4096}));
}

TEST(ParseFlagValueTest, IntListRefusesAnEmptyListAnEmptyItemAndABadItemNamingIt) {
  const FlagSpec spec = ListFlag(1, 256);
  EXPECT_EQ(ErrorOf(spec, ""),
            "--sizes is empty: allowed is a comma-separated list of integers from 1 to 256");
  for (const char* bad : {"1,,2", "1,", ",1"}) {
    EXPECT_EQ(ErrorOf(spec, bad),
              "--sizes: '' is invalid: allowed is a comma-separated list of integers from 1 to "
              "256")
        << bad;
  }
  EXPECT_EQ(ErrorOf(spec, "4,300,8"),
            "--sizes: '300' is invalid: allowed is a comma-separated list of integers from 1 to "
            "256");
  EXPECT_NE(ErrorOf(spec, "2,x").find("'x'"), std::string::npos);
  EXPECT_NE(ErrorOf(spec, "0").find("'0'"), std::string::npos);
}

void OnlyGood(std::string_view name, const std::string& value) {
  if (value != "good") throw FlagError("--" + std::string(name) + "='" + value + "' is not good");
}

TEST(ParseFlagValueTest, StringIsTakenAsItIsAndCheckedWhenTheSpecHasACheck) {
  const FlagSpec free_text{.name = "label", .type = FlagType::kString};
  EXPECT_EQ(std::get<std::string>(ParseFlagValue(free_text, "any text, 1,2")), "any text, 1,2");
  EXPECT_EQ(std::get<std::string>(ParseFlagValue(free_text, "")), "");

  const FlagSpec checked{.name = "mode", .type = FlagType::kString, .check = OnlyGood};
  EXPECT_EQ(std::get<std::string>(ParseFlagValue(checked, "good")), "good");
  EXPECT_EQ(ErrorOf(checked, "bad"), "--mode='bad' is not good");
  EXPECT_EQ(ErrorOf(checked, ""), "--mode='' is not good");
}

TEST(DescribeAllowedTest, SaysWhatEachTypeAccepts) {
  EXPECT_EQ(DescribeAllowed(IntFlag(1, 256)), "an integer from 1 to 256");
  EXPECT_EQ(DescribeAllowed(IntFlag(-5, 5)), "an integer from -5 to 5");
  EXPECT_EQ(DescribeAllowed(ListFlag(0, 1073741824)),
            "a comma-separated list of integers from 0 to 1073741824");
  const FlagSpec text{
      .name = "dir", .type = FlagType::kString, .allowed = "an existing writable directory"};
  EXPECT_EQ(DescribeAllowed(text), "an existing writable directory");
}

Options Sample() {
  Options options;
  options.Set("count", std::int64_t{7}, "7");
  options.Set("workers", std::vector<std::int64_t>{1, 4}, "4,1,1", /*was_set=*/false);
  options.Set("dir", std::string("/tmp"), "/tmp");
  return options;
}

TEST(OptionsTest, GettersReturnWhatWasSet) {
  const Options options = Sample();
  EXPECT_EQ(options.Int("count"), 7);
  EXPECT_EQ(options.IntList("workers"), (std::vector<std::int64_t>{1, 4}));
  EXPECT_EQ(options.String("dir"), "/tmp");
  EXPECT_EQ(options.Text("workers"), "4,1,1") << "the text as the user typed it";
  EXPECT_TRUE(options.WasSet("count"));
  EXPECT_FALSE(options.WasSet("workers"));
  EXPECT_EQ(options.Names(), (std::vector<std::string>{"count", "dir", "workers"}));
}

TEST(OptionsTest, SetReplacesAnEarlierValue) {
  Options options = Sample();
  options.Set("count", std::int64_t{9}, "9", /*was_set=*/false);
  EXPECT_EQ(options.Int("count"), 9);
  EXPECT_EQ(options.Text("count"), "9");
  EXPECT_FALSE(options.WasSet("count"));
  EXPECT_EQ(options.Names().size(), 3U);
}

TEST(OptionsTest, AnUnknownNameIsALogicErrorNamingTheFlag) {
  const Options options = Sample();
  EXPECT_THROW((void)options.Int("nope"), std::logic_error);
  EXPECT_THROW((void)options.IntList("nope"), std::logic_error);
  EXPECT_THROW((void)options.String("nope"), std::logic_error);
  EXPECT_THROW((void)options.Text("nope"), std::logic_error);
  EXPECT_THROW((void)options.WasSet("nope"), std::logic_error);
  try {
    (void)options.Int("nope");
  } catch (const std::logic_error& e) {
    EXPECT_NE(std::string(e.what()).find("--nope"), std::string::npos) << e.what();
  }
}

TEST(OptionsTest, TheWrongTypeIsALogicErrorNamingTheFlag) {
  const Options options = Sample();
  EXPECT_THROW((void)options.Int("workers"), std::logic_error);
  EXPECT_THROW((void)options.Int("dir"), std::logic_error);
  EXPECT_THROW((void)options.IntList("count"), std::logic_error);
  EXPECT_THROW((void)options.IntList("dir"), std::logic_error);
  EXPECT_THROW((void)options.String("count"), std::logic_error);
  EXPECT_THROW((void)options.String("workers"), std::logic_error);
  try {
    (void)options.String("count");
  } catch (const std::logic_error& e) {
    EXPECT_NE(std::string(e.what()).find("--count"), std::string::npos) << e.what();
  }
  // A FlagError is the user's mistake; these are a row's, and must not pass for one.
  try {
    (void)options.Int("dir");
  } catch (const FlagError&) {
    ADD_FAILURE() << "a wrong type is not a user error";
  } catch (const std::logic_error&) {
  }
}

}  // namespace
}  // namespace parbench
