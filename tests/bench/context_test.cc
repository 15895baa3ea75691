// The context a family adds: only for the families a run measures, as Google Benchmark's filter
// selects them, so a run that does not measure dot never loads OpenBLAS for its version.
#include "bench/context.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "bench/flags.h"

namespace parbench {
namespace {

// The names of the families with context keys that `filter` selects among a few registered
// benchmarks (registered by hand: nothing is handed to Google Benchmark here).
std::set<std::string> Selected(const std::string& filter) {
  SuiteEnv env(DefaultOptions(2), 2);
  for (const char* family : {"cpu", "api", "dot"}) {
    const std::string name = std::string(family) + "/serial";
    env.registered.push_back({name, family, "serial", 1, {}});
  }
  env.registered.push_back({"dot/processes/workers:2", "dot", "processes", 2, {}});
  std::set<std::string> out;
  for (const Family* f : FamiliesToRun(env, filter)) out.insert(std::string(f->display_name()));
  return out;
}

TEST(ContextTest, OnlyTheFamiliesTheFilterSelectsAddTheirKeys) {
  using Names = std::set<std::string>;
  EXPECT_EQ(Selected(""), (Names{"api", "dot"})) << "no filter: every family that has keys";
  EXPECT_EQ(Selected("all"), (Names{"api", "dot"}));
  EXPECT_EQ(Selected("^cpu"), Names{}) << "cpu has no keys of its own";
  EXPECT_EQ(Selected("^dot/processes"), Names{"dot"});
  EXPECT_EQ(Selected("serial/real_time$"), (Names{"api", "dot"})) << "matched on the full name";
  EXPECT_EQ(Selected("-^dot"), Names{"api"}) << "a leading '-' inverts the filter";
  EXPECT_EQ(Selected("^(cpu|api)/"), Names{"api"});
}

TEST(ContextTest, DotAndApiNameTheirLibrariesVersions) {
  std::set<std::string> keys;
  for (const Family& family : Families()) {
    if (!family.context) continue;
    for (const auto& [key, value] : family.context()) {
      keys.insert(key);
      EXPECT_FALSE(value.empty()) << key;
    }
  }
  for (const char* key :
       {"openblas_config", "openblas_core", "openblas_threads", "libcurl_version"}) {
    EXPECT_TRUE(keys.contains(key)) << key;
  }
}

}  // namespace
}  // namespace parbench
