// Usable CPUs and interference accounting, on recorded /proc and cgroup files (never a timing).
#include "bench/machine.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace parbench {
namespace {

namespace fs = std::filesystem;

constexpr const char* kProcStat =
    "cpu  300 0 100 900 10 0 5 7 0 0\n"
    "cpu0 100 0 50 400 5 0 2 3 0 0\n"
    "cpu1 200 0 50 500 5 0 3 4 0 0\n"
    "cpu10 1000 0 0 0 0 0 0 0 0 0\n"
    "intr 12345 0 0\n"
    "ctxt 999\n";

TEST(MachineTest, ProcStatSumsOnlyTheUsableCpus) {
  CpuSample both;
  ParseProcStat(kProcStat, {0, 1}, both);
  EXPECT_EQ(both.cpus_busy_ticks, (100 + 50 + 2) + (200 + 50 + 3));  // user+nice+system+irq+softirq
  EXPECT_EQ(both.cpus_steal_ticks, 3 + 4);
  CpuSample one;
  ParseProcStat(kProcStat, {1}, one);
  EXPECT_EQ(one.cpus_busy_ticks, 200 + 50 + 3);
  CpuSample ten;
  ParseProcStat(kProcStat, {10}, ten);
  EXPECT_EQ(ten.cpus_busy_ticks, 1000) << "cpu10 is not cpu1";
}

TEST(MachineTest, PidStatTimesSurviveACommandWithSpacesAndParentheses) {
  // Fields after "(comm)": state ppid pgrp session tty tpgid flags minflt cminflt majflt
  // cmajflt utime stime cutime cstime ...
  const std::string stat = "42 (my (odd) cmd) S 7 42 42 0 -1 4194560 10 0 0 0 11 22 33 44 20 0";
  EXPECT_EQ(ParsePidStatTicks(stat, false), 11 + 22);
  EXPECT_EQ(ParsePidStatTicks(stat, true), 11 + 22 + 33 + 44);
  EXPECT_EQ(ParsePidStatParent(stat), 7);
  EXPECT_EQ(ParsePidStatTicks("garbage", true), 0);
  EXPECT_EQ(ParsePidStatParent("garbage"), -1);
}

TEST(MachineTest, RecordedProcFilesParse) {
  std::ifstream stat_in(PARBENCH_TEST_DATA "/pid_stat.txt");
  const std::string stat((std::istreambuf_iterator<char>(stat_in)), {});
  EXPECT_GT(ParsePidStatParent(stat), 0);
  std::ifstream status_in(PARBENCH_TEST_DATA "/pid_status.txt");
  const std::string status((std::istreambuf_iterator<char>(status_in)), {});
  EXPECT_GE(ParseInvoluntarySwitches(status), 0);
  EXPECT_EQ(
      ParseInvoluntarySwitches("voluntary_ctxt_switches:\t5\nnonvoluntary_ctxt_switches:\t17\n"),
      17);
  std::ifstream proc_in(PARBENCH_TEST_DATA "/proc_stat.txt");
  const std::string proc((std::istreambuf_iterator<char>(proc_in)), {});
  CpuSample s;
  ParseProcStat(proc, {0}, s);
  EXPECT_GT(s.cpus_busy_ticks, 0);
}

TEST(MachineTest, CpuQuotas) {
  EXPECT_FALSE(ParseCpuMax("max 100000\n"));
  EXPECT_DOUBLE_EQ(*ParseCpuMax("150000 100000\n"), 1.5);
  EXPECT_FALSE(ParseCpuMax(""));
  EXPECT_FALSE(ParseCfsQuota("-1\n", "100000\n"));
  EXPECT_DOUBLE_EQ(*ParseCfsQuota("50000\n", "100000\n"), 0.5);
  EXPECT_FALSE(ParseCfsQuota("", ""));
}

// A cgroup tree on disk, as /sys/fs/cgroup would have it.
class CgroupTree : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("parbench-cgroup-" + std::to_string(::getpid()));
    fs::create_directories(root_ / "ci/job");
    fs::create_directories(root_ / "cpu,cpuacct/docker/abc");
  }
  void TearDown() override { fs::remove_all(root_); }
  void Write(const fs::path& file, const std::string& text) { std::ofstream(root_ / file) << text; }
  fs::path root_;
};

TEST_F(CgroupTree, V2TakesTheSmallestQuotaUpTheTree) {
  Write("ci/job/cpu.max", "max 100000\n");
  Write("ci/cpu.max", "100000 100000\n");  // the parent limits to one CPU
  const auto quota = CgroupCpuQuota("0::/ci/job\n", root_.string());
  ASSERT_TRUE(quota);
  EXPECT_DOUBLE_EQ(*quota, 1.0);
  EXPECT_FALSE(CgroupCpuQuota("0::/\n", root_.string())) << "no cpu.max: unlimited";
}

TEST_F(CgroupTree, V1ReadsCfsQuotaOfTheCpuController) {
  Write("cpu,cpuacct/docker/abc/cpu.cfs_quota_us", "150000\n");
  Write("cpu,cpuacct/docker/abc/cpu.cfs_period_us", "100000\n");
  const auto quota = CgroupCpuQuota("4:memory:/x\n3:cpu,cpuacct:/docker/abc\n", root_.string());
  ASSERT_TRUE(quota);
  EXPECT_DOUBLE_EQ(*quota, 1.5);
}

TEST(MachineTest, InterferenceIsOthersTimeOverTheUsableCapacity) {
  const auto hz = TicksPerSecond();
  CpuSample before{.wall_ns = 0,
                   .cpus_busy_ticks = 0,
                   .cpus_steal_ticks = 0,
                   .tree_ticks = 0,
                   .involuntary_switches = 10};
  // 1 s on 2 CPUs: 2 CPU-seconds of capacity; busy 1.5 s of which the tree used 0.5 s.
  CpuSample after{.wall_ns = 1'000'000'000,
                  .cpus_busy_ticks = hz * 3 / 2,
                  .cpus_steal_ticks = hz / 5,
                  .tree_ticks = hz / 2,
                  .involuntary_switches = 14};
  const Interference i = Between(before, after, 2);
  EXPECT_DOUBLE_EQ(i.other_cpu_frac, 0.5);
  EXPECT_DOUBLE_EQ(i.steal_frac, 0.1);
  EXPECT_DOUBLE_EQ(i.tree_cpu_s, 0.5);
  EXPECT_DOUBLE_EQ(i.involuntary_switches, 4);
  // Coarse ticks can make the tree look busier than the CPUs: clamped at 0, never negative.
  after.tree_ticks = hz * 2;
  EXPECT_DOUBLE_EQ(Between(before, after, 2).other_cpu_frac, 0.0);
}

TEST(MachineTest, ThePreciseTreeCpuTimeWinsOverTicksWhenBothSamplesHaveIt) {
  const auto hz = TicksPerSecond();
  CpuSample before{.wall_ns = 0, .tree_ticks = 0, .tree_cpu_ns = 1'000'000};
  CpuSample after{.wall_ns = 1'000'000'000, .tree_ticks = hz, .tree_cpu_ns = 4'000'000};
  EXPECT_DOUBLE_EQ(Between(before, after, 2).tree_cpu_s, 0.003);
  after.tree_cpu_ns = -1;  // not read: the ticks count
  EXPECT_DOUBLE_EQ(Between(before, after, 2).tree_cpu_s, 1.0);
}

TEST(MachineTest, SchedstatGivesTheTimeOnCpuInNanoseconds) {
  EXPECT_EQ(ParseSchedstatNs("311263 103764 2\n"), 311263);
  EXPECT_EQ(ParseSchedstatNs(""), -1);
  EXPECT_EQ(ParseSchedstatNs("x 1 2\n"), -1);
}

TEST(MachineTest, AProcessTreeSampleReadsThePreciseCpuTime) {
  const CpuSample a = SampleCpu({0});
  volatile std::uint64_t spin = 0;
  for (int i = 0; i < 10'000'000; ++i) spin = spin + static_cast<std::uint64_t>(i);
  const CpuSample b = SampleCpu({0});
  ASSERT_GE(a.tree_cpu_ns, 0);
  EXPECT_GT(b.tree_cpu_ns, a.tree_cpu_ns) << "the loop used CPU";
}

TEST(MachineTest, TheBudgetNeverExceedsTheAffinityMask) {
  const CpuBudget budget = ReadCpuBudget();
  EXPECT_GE(budget.usable, 1);
  EXPECT_LE(budget.usable, static_cast<int>(budget.affinity.size()));
  EXPECT_LE(static_cast<int>(budget.affinity.size()), budget.machine);
}

}  // namespace
}  // namespace parbench
