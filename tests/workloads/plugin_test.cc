// Native plugins: the example loads and runs under every kind of executor; a library that is
// not a plugin, or one of another ABI version, is refused with one line naming the file.
#include "workloads/plugin.h"

#include <gtest/gtest.h>

#include <fstream>

#include "executors/executor.h"
#include "tests/support.h"

namespace parbench {
namespace {

std::string LoadError(const std::string& path) {
  try {
    (void)plugin::Load(path);
  } catch (const WorkloadError& e) {
    return e.what();
  }
  return "no error";
}

TEST(PluginTest, TheExampleLoadsWithItsNameAndTable) {
  const parbench_plugin_v1& table = plugin::Load(PARBENCH_EXAMPLE_PLUGIN);
  EXPECT_EQ(table.abi_version, PARBENCH_PLUGIN_ABI_VERSION);
  EXPECT_STREQ(table.name, "example");
  EXPECT_EQ(&plugin::Load(PARBENCH_EXAMPLE_PLUGIN), &table) << "loaded once per process";
}

TEST(PluginTest, AnotherAbiVersionIsRefused) {
  const std::string error = LoadError(PARBENCH_WRONG_ABI_PLUGIN);
  EXPECT_EQ(error, std::string(PARBENCH_WRONG_ABI_PLUGIN) +
                       " has plugin ABI version 99, this bench needs version 1 (rebuild it "
                       "against this parbench/plugin.h)");
}

TEST(PluginTest, ALibraryThatIsNotAPluginIsRefused) {
  EXPECT_EQ(LoadError(PARBENCH_NOT_A_PLUGIN),
            std::string(PARBENCH_NOT_A_PLUGIN) +
                " is not a parbench plugin: it exports no parbench_plugin() (see "
                "include/parbench/plugin.h)");
  // Not a shared library at all: dlopen's reason, on one line.
  const std::string text = ::testing::TempDir() + "/parbench-not-elf.so";
  std::ofstream(text) << "hello\n";
  const std::string error = LoadError(text);
  EXPECT_EQ(error.rfind(text + " is not a parbench plugin: cannot load it: ", 0), 0U) << error;
  EXPECT_EQ(error.find('\n'), std::string::npos) << error;
  std::remove(text.c_str());
  EXPECT_NE(LoadError("/no/such/plugin.so").find("cannot load it"), std::string::npos);
}

TEST(PluginTest, TheExampleRunsUnderEveryKindOfExecutor) {
  testing::Watchdog watchdog(std::chrono::seconds(120));
  const Job job{"plugin", plugin::MakeConfig(PARBENCH_EXAMPLE_PLUGIN, "example", 16)};
  // The proofs the example's own check() accepts: (index + 1) * its salt.
  const std::uint64_t salt = 0x9E3779B97F4A7C15ULL;
  for (const char* executor : {"serial", "threads", "processes"}) {
    SCOPED_TRACE(executor);
    ExecutorOptions options;
    options.workers = 2;
    auto pool = MakeExecutor(executor, options);
    const std::vector<Result> results = pool->Run({.job = &job, .tasks = 16});
    ASSERT_EQ(results.size(), 16U);
    for (std::uint32_t i = 0; i < 16; ++i) {
      EXPECT_EQ(results[i].error, "");
      EXPECT_EQ(results[i].value, (std::uint64_t{i} + 1) * salt);
    }
  }
}

TEST(PluginTest, SplitPathsDropsNothingButEmptyItems) {
  EXPECT_EQ(plugin::SplitPaths(""), std::vector<std::string>{});
  EXPECT_EQ(plugin::SplitPaths("a.so,b.so"), (std::vector<std::string>{"a.so", "b.so"}));
}

}  // namespace
}  // namespace parbench
