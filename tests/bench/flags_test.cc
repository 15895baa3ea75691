// Suite flags: parsed out of argv, validated with one-line errors naming the flag.
#include "bench/flags.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "executors/executor.h"

namespace parbench {
namespace {

// Parses `args` (without the program name); returns options and leaves the remaining args.
ParsedFlags Parse(std::vector<std::string> args, std::vector<std::string>* rest = nullptr) {
  args.insert(args.begin(), "bench");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  int argc = static_cast<int>(args.size());
  ParsedFlags parsed = ParseFlags(&argc, argv.data(), 2);
  if (rest != nullptr) rest->assign(argv.begin() + 1, argv.begin() + argc);
  return parsed;
}

std::string ErrorOf(std::vector<std::string> args) {
  try {
    (void)Parse(std::move(args));
  } catch (const FlagError& e) {
    return e.what();
  }
  return "";
}

TEST(FlagsTest, DefaultsIncludeTheCoreCountOnce) {
  const Options options = Parse({}).options;
  EXPECT_EQ(options.String("profile"), "quick");
  EXPECT_EQ(WorkersFlag(options).counts, (std::vector<int>{1, 2}))
      << "quick: 1 and the usable CPUs";
  EXPECT_FALSE(WorkersFlag(options).given);
  EXPECT_EQ(WorkersFlag(Parse({"--profile=full"}).options).counts, (std::vector<int>{1, 2, 4, 8}));
  EXPECT_EQ(WorkersFlag(Parse({"--profile=full", "--workers=3"}).options).counts,
            (std::vector<int>{3}));
  EXPECT_EQ(WorkersFlag(Parse({"--workers=4"}).options).counts, (std::vector<int>{4}));
  EXPECT_TRUE(WorkersFlag(Parse({"--workers=4"}).options).given);
  EXPECT_EQ(options.Int("tasks"), 16);
  EXPECT_TRUE(options.String("timeline_out").empty());
  EXPECT_FALSE(options.WasSet("tasks"));
}

TEST(FlagsTest, AProfileOtherThanQuickOrFullIsRefusedInOneLine) {
  EXPECT_EQ(ErrorOf({"--profile=slow"}), "--profile: 'slow' is invalid: allowed is quick or full");
}

TEST(FlagsTest, TheProfileSetsGoogleBenchmarksTimingUnlessGivenAndAResultsFile) {
  ParsedFlags quick = Parse({});
  EXPECT_EQ(AddedBenchmarkFlags(&quick),
            (std::vector<std::string>{"--benchmark_min_time=0.05", "--benchmark_repetitions=3",
                                      "--benchmark_out=parbench-run.json",
                                      "--benchmark_out_format=json"}));
  EXPECT_EQ(quick.benchmark_out, "parbench-run.json");
  EXPECT_EQ(quick.options.String("timeline_out"), "parbench-run.trace.json");

  ParsedFlags full = Parse({"--profile=full"});
  const std::vector<std::string> added = AddedBenchmarkFlags(&full);
  EXPECT_EQ(added.at(0), "--benchmark_min_time=0.2");
  EXPECT_EQ(added.at(1), "--benchmark_repetitions=5");

  ParsedFlags given =
      Parse({"--benchmark_min_time=1", "--benchmark_repetitions=9", "--benchmark_out=x.json"});
  EXPECT_TRUE(AddedBenchmarkFlags(&given).empty()) << "what the user gives wins";
  EXPECT_EQ(given.benchmark_out, "x.json");

  ParsedFlags none = Parse({"--benchmark_out="});
  EXPECT_EQ(AddedBenchmarkFlags(&none).size(), 2U) << "an empty --benchmark_out: no file";
  EXPECT_TRUE(none.benchmark_out.empty());
  ParsedFlags listing = Parse({"--benchmark_list_tests"});
  EXPECT_EQ(AddedBenchmarkFlags(&listing).size(), 2U) << "nothing runs: no results file";
}

TEST(FlagsTest, ParsesOurFlagsAndLeavesGoogleBenchmarksAlone) {
  std::vector<std::string> rest;
  const Options options = Parse({"--workers=8,2,2", "--benchmark_filter=cpu", "--tasks=5",
                                 "--cpu_n=1e6", "--benchmark_out=out/run.json"},
                                &rest)
                              .options;
  EXPECT_EQ(WorkersFlag(options).counts, (std::vector<int>{2, 8}));
  EXPECT_TRUE(WorkersFlag(options).given);
  EXPECT_EQ(options.Int("tasks"), 5);
  EXPECT_TRUE(options.WasSet("tasks"));
  EXPECT_EQ(options.Int("cpu_n"), 1'000'000);
  EXPECT_EQ(options.String("timeline_out"), "out/run.trace.json");
  EXPECT_EQ(rest,
            (std::vector<std::string>{"--benchmark_filter=cpu", "--benchmark_out=out/run.json"}));
}

TEST(FlagsTest, ExplicitTimelineWins) {
  EXPECT_EQ(
      Parse({"--benchmark_out=a.json", "--timeline_out=t.json"}).options.String("timeline_out"),
      "t.json");
  EXPECT_EQ(Parse({"--benchmark_out=dir.v1/run"}).options.String("timeline_out"),
            "dir.v1/run.trace.json");
}

TEST(FlagsTest, BadValuesNameTheFlagAndTheAllowedRange) {
  for (const auto& bad : {"--workers=0", "--workers=-1", "--workers=abc", "--workers=100000",
                          "--workers=", "--workers=1,,2", "--workers=1.5"}) {
    const std::string error = ErrorOf({bad});
    EXPECT_NE(error.find("--workers"), std::string::npos) << bad << ": " << error;
    // The limit is the largest any executor takes (an event loop's tasks in flight).
    const std::string range = "1 to " + std::to_string(MaxWorkersOfAnyExecutor());
    EXPECT_NE(error.find(range), std::string::npos) << bad << ": " << error;
  }
  for (const auto& bad : {"--tasks=0", "--tasks=-3", "--tasks=x", "--tasks=1e15", "--tasks"}) {
    EXPECT_NE(ErrorOf({bad}).find("--tasks"), std::string::npos) << bad;
  }
  EXPECT_NE(ErrorOf({"--cpu_n=0"}).find("--cpu_n"), std::string::npos);
  EXPECT_NE(ErrorOf({"--cpu_n=1e300"}).find("--cpu_n"), std::string::npos);
  EXPECT_NE(ErrorOf({"--task_timeout_s=0"}).find("--task_timeout_s"), std::string::npos);
  EXPECT_NE(ErrorOf({"--timeline_out="}).find("--timeline_out"), std::string::npos);
  for (const auto& bad : {"--workers=0", "--tasks=x"}) {
    EXPECT_EQ(ErrorOf({bad}).find('\n'), std::string::npos) << "one line";
  }
}

TEST(FlagsTest, HelpIsNoticedAndPassedOn) {
  std::vector<std::string> rest;
  EXPECT_TRUE(Parse({"--help"}, &rest).help);
  EXPECT_EQ(rest, std::vector<std::string>{"--help"});
  const std::string help = FlagsHelp(2);
  for (const FlagSpec& flag : AllFlags()) {
    EXPECT_NE(help.find("--" + std::string(flag.name) + "="), std::string::npos) << flag.name;
  }
  for (const Family& family : Families()) {
    EXPECT_NE(help.find("\n  " + std::string(family.display_name()) + " "), std::string::npos)
        << "help lists family " << family.display_name();
  }
  for (const ExecutorInfo& executor : Executors()) {
    EXPECT_NE(help.find("\n  " + std::string(executor.name) + " "), std::string::npos)
        << "help lists executor " << executor.name;
  }
}

// docs/flags.md's help block is the binary's own help, so the two cannot drift apart.
TEST(FlagsTest, TheFlagsPageListsTheFlagsAsHelpPrintsThem) {
  std::ifstream in(std::string(PARBENCH_SOURCE_DIR) + "/docs/flags.md");
  ASSERT_TRUE(in) << "docs/flags.md not found";
  const std::string page((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::string help = FlagsHelp(2);
  std::string listed = help.substr(0, help.find("\nGoogle Benchmark flags:"));
  while (!listed.empty() && listed.back() == '\n') listed.pop_back();
  // Machine-dependent defaults as printed on a 2-CPU machine with TMPDIR unset.
  if (std::getenv("TMPDIR") != nullptr) GTEST_SKIP() << "TMPDIR changes the io_dir default";
  EXPECT_NE(page.find("```\n" + listed + "\n```"), std::string::npos)
      << "update docs/flags.md's help block from ./build/bench --help:\n"
      << listed;
}

}  // namespace
}  // namespace parbench
