// Manifest: executors with traits, families with (scoped) axes, counters and references, per run.
#include "bench/manifest.h"

#include <benchmark/benchmark.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>

#include "bench/flags.h"
#include "bench/profile.h"
#include "bench/suite.h"

namespace parbench {
namespace {

using nlohmann::json;

// Registers the suite for a small run, keeps its manifest, and unregisters the benchmarks
// again (they refer to this env, which a later test's run must not reach).
class ManifestTest : public ::testing::Test {
 protected:
  static Options SmallOptions(const std::string& executors = "") {
    Options options = DefaultOptions(2);
    options.Set("workers", std::vector<std::int64_t>{1, 2}, "1,2");
    options.Set("transfer_sizes", std::vector<std::int64_t>{4096}, "4096");
    if (!executors.empty()) options.Set("executors", executors, executors);
    return options;
  }
  void Build(Options options) {
    env_ = std::make_unique<SuiteEnv>(std::move(options), 2);
    names_ = RegisterSuite(*env_);
    manifest_ = json::parse(ManifestJson(*env_));
  }
  void TearDown() override {
    if (env_) env_->Release();
    benchmark::ClearRegisteredBenchmarks();
  }
  const json& FamilyJson(std::string_view name) const {
    for (const json& f : manifest_.at("families")) {
      if (f.at("name") == name) return f;
    }
    throw std::runtime_error("no family " + std::string(name) + " in the manifest");
  }
  static const json& AxisJson(const json& family, std::string_view name) {
    for (const json& a : family.at("axes")) {
      if (a.at("name") == name) return a;
    }
    throw std::runtime_error("no axis " + std::string(name));
  }
  std::vector<std::string> ExecutorNames() const {
    std::vector<std::string> out;
    for (const json& e : manifest_.at("executors")) out.push_back(e.at("name"));
    return out;
  }

  std::unique_ptr<SuiteEnv> env_;
  std::vector<std::string> names_;
  json manifest_;
};

json TraitsJson(const ExecutorTraits& t) {
  return {{"shares_memory", t.shares_memory},
          {"single_worker", t.single_worker},
          {"transport_axis", t.transport_axis},
          {"starts_processes", t.starts_processes},
          {"remote_workers", t.remote_workers},
          {"sends_messages", t.sends_messages},
          {"async", t.async}};
}

TEST_F(ManifestTest, SaysWhatItIsAndWhichExecutorIsTheBaseline) {
  Build(SmallOptions());
  EXPECT_EQ(manifest_.at("schema"), 1);
  EXPECT_EQ(manifest_.at("baseline"), "serial");
  EXPECT_EQ(manifest_.at("name_scheme"), "FAMILY/EXECUTOR[/workers:W][/AXIS:VALUE...]");
  EXPECT_EQ(manifest_.at("counters").at("tasks_per_second"),
            (json{{"unit", "1/s"}, {"bigger_is_better", true}}));
  EXPECT_EQ(manifest_.at("counters").at("utilization"),
            (json{{"unit", ""}, {"bigger_is_better", true}}));
  EXPECT_TRUE(manifest_.at("counters").contains("tasks_per_message"));
}

TEST_F(ManifestTest, ListsTheRunsExecutorsInRegistryOrderWithTheirTraits) {
  Build(SmallOptions());
  std::set<std::string> used;
  for (const Registered& r : env_->registered) used.insert(r.executor);
  std::vector<std::string> expected;
  for (const ExecutorInfo& info : Executors()) {
    if (used.contains(std::string(info.name))) expected.emplace_back(info.name);
  }
  EXPECT_EQ(ExecutorNames(), expected);
  for (const char* name : {"serial", "threads", "processes"}) {
    EXPECT_NE(std::find(expected.begin(), expected.end(), name), expected.end()) << name;
  }
  for (const json& e : manifest_.at("executors")) {
    const ExecutorInfo* info = FindExecutor(e.at("name").get<std::string>());
    ASSERT_NE(info, nullptr) << e.at("name");
    EXPECT_EQ(e.at("summary"), info->summary);
    EXPECT_EQ(e.at("dispatch"), info->dispatch);
    EXPECT_EQ(e.at("traits"), TraitsJson(info->traits)) << info->name;
  }
}

// How tasks reach the workers, said for every executor: in messages for the executors that
// send them (their dispatch axis), one task at a time for the ones that share memory.
TEST_F(ManifestTest, EveryExecutorSaysHowItsWorkersGetTheirTasks) {
  Build(SmallOptions());
  for (const json& e : manifest_.at("executors")) {
    const std::string dispatch = e.at("dispatch");
    const bool messages = e.at("traits").at("sends_messages").get<bool>();
    if (messages) {
      EXPECT_NE(dispatch.find("per_task"), std::string::npos) << e.at("name") << ": " << dispatch;
      EXPECT_NE(dispatch.find("adaptive"), std::string::npos) << e.at("name") << ": " << dispatch;
    } else {
      EXPECT_EQ(dispatch.rfind("no messages: one task", 0), 0U) << e.at("name") << ": " << dispatch;
    }
  }
  const auto dispatch_of = [](std::string_view name) { return FindExecutor(name)->dispatch; };
  for (const char* peer : {"threads", "tbb", "openmp"}) {
    EXPECT_NE(dispatch_of(peer).find("one task at a time"), std::string::npos) << peer;
  }
  EXPECT_TRUE(FindExecutor("processes")->traits.sends_messages);
}

TEST_F(ManifestTest, ListsEveryRegisteredFamilyWithItsAxesExecutorsAndCounters) {
  Build(SmallOptions());
  std::set<std::string> registered;
  for (const Registered& r : env_->registered) registered.insert(r.family);
  std::set<std::string> listed;
  for (const json& f : manifest_.at("families")) listed.insert(f.at("name"));
  EXPECT_EQ(listed, registered);

  for (const Family& family : Families()) {
    const std::string name(family.display_name());
    if (!registered.contains(name)) continue;
    const json& f = FamilyJson(name);
    EXPECT_EQ(f.at("summary"), family.display_summary()) << name;
    EXPECT_EQ(f.at("time_unit"), family.time_unit) << name;
    EXPECT_EQ(f.at("workload"), family.workload != nullptr ? family.workload->name : "") << name;
    json executors = json::array();
    for (const ExecutorInfo* e : ExecutorsFor(family, env_->options())) {
      executors.push_back(e->name);
    }
    EXPECT_EQ(f.at("executors"), executors) << name;

    const std::vector<Axis> axes =
        ProfileAxes(family.axes ? family.axes(env_->options(), env_->cpus()) : std::vector<Axis>{},
                    env_->options());
    ASSERT_EQ(f.at("axes").size(), axes.size()) << name;
    for (std::size_t i = 0; i < axes.size(); ++i) {
      const json& a = f.at("axes").at(i);
      EXPECT_EQ(a.at("name"), axes[i].name) << name;
      EXPECT_EQ(a.at("values"), axes[i].values) << name << " " << axes[i].name;
      EXPECT_EQ(a.contains("executors"), axes[i].scope != Scope::kEveryExecutor)
          << name << " " << axes[i].name << ": only a scoped axis names its executors";
    }

    json counters = json::object();
    for (const CounterSpec& c : family.counter_specs) {
      counters[std::string(c.name)] = {{"unit", c.unit}, {"bigger_is_better", c.bigger_is_better}};
    }
    EXPECT_EQ(f.at("counters"), counters) << name;
  }
}

TEST_F(ManifestTest, DocumentedAxesCountersAndTheRawPipeReference) {
  Build(SmallOptions());
  const json& io = FamilyJson("io");
  EXPECT_EQ(AxisJson(io, "mode").at("values"), (json{"buffered", "durable"}));
  EXPECT_EQ(AxisJson(io, "payload").at("values"), (json{"shipped", "local"}));
  EXPECT_EQ(io.at("counters").at("bytes_per_second"),
            (json{{"unit", "B/s"}, {"bigger_is_better", true}}));
  EXPECT_EQ(FamilyJson("cpu_scaling").at("counters").at("ns_per_step"),
            (json{{"unit", "ns"}, {"bigger_is_better", false}}));
  EXPECT_EQ(FamilyJson("cpu_scaling").at("executors"), (json{"serial"}));

  // The transport axis belongs to the executors with a transport: processes, not threads.
  const json& transfer = FamilyJson("transfer");
  EXPECT_EQ(AxisJson(transfer, "size").at("values"), (json{"4KiB"}));
  const json& transport = AxisJson(transfer, "transport");
  EXPECT_EQ(transport.at("values"), (json{"", "shm"}));
  const Family& transfer_family =
      *std::find_if(Families().begin(), Families().end(),
                    [](const Family& f) { return f.display_name() == "transfer"; });
  json with_transport = json::array();
  for (const ExecutorInfo* e : ExecutorsFor(transfer_family, env_->options())) {
    if (e->traits.transport_axis) with_transport.push_back(e->name);
  }
  EXPECT_EQ(transport.at("executors"), with_transport);
  const auto has = [](const json& list, const char* name) {
    return std::find(list.begin(), list.end(), name) != list.end();
  };
  EXPECT_TRUE(has(transport.at("executors"), "processes"));
  EXPECT_FALSE(has(transport.at("executors"), "threads"));
  EXPECT_FALSE(has(transport.at("executors"), "serial"));
  const json& parent_mem = AxisJson(FamilyJson("startup"), "parent_mem");
  EXPECT_TRUE(has(parent_mem.at("executors"), "processes"));
  EXPECT_FALSE(has(parent_mem.at("executors"), "threads"));

  // dispatch: "" is adaptive (the names of before), per_task one task per message; for the
  // executors that send messages only.
  for (const char* family : {"granularity", "overhead"}) {
    const json& dispatch = AxisJson(FamilyJson(family), "dispatch");
    EXPECT_EQ(dispatch.at("values"), (json{"", "per_task"})) << family;
    EXPECT_EQ(dispatch.at("plain"), "adaptive") << family;
    EXPECT_TRUE(has(dispatch.at("executors"), "processes")) << family;
    EXPECT_FALSE(has(dispatch.at("executors"), "threads")) << family;
  }
  EXPECT_EQ(transport.at("plain"), "pipe");

  const json& kind = AxisJson(FamilyJson("roundtrip"), "kind");
  EXPECT_EQ(kind.at("values"), json::array({"inline", "handoff"}));
  EXPECT_TRUE(has(kind.at("executors"), "threads"));
  EXPECT_FALSE(has(kind.at("executors"), "serial"));
  EXPECT_FALSE(has(kind.at("executors"), "processes"));

  // roundtrip/raw_pipe: a floor for the executors that start processes; roundtrip/raw_shm, the
  // fastest hand-off, for every executor.
  const json& refs = FamilyJson("roundtrip").at("references");
  ASSERT_EQ(refs.size(), 2U);
  EXPECT_EQ(refs.at(0).at("name"), "raw_pipe");
  EXPECT_EQ(refs.at(1).at("name"), "raw_shm");
  EXPECT_TRUE(has(refs.at(1).at("compare_to"), "threads"));
  EXPECT_TRUE(has(refs.at(1).at("compare_to"), "processes"));
  EXPECT_FALSE(refs.at(0).at("summary").get<std::string>().empty());
  json starts_processes = json::array();
  for (const json& e : manifest_.at("executors")) {
    if (e.at("traits").at("starts_processes").get<bool>()) starts_processes.push_back(e.at("name"));
  }
  EXPECT_EQ(refs.at(0).at("compare_to"), starts_processes);
  EXPECT_TRUE(has(refs.at(0).at("compare_to"), "processes"));
  EXPECT_TRUE(FamilyJson("io").at("references").empty());
}

TEST_F(ManifestTest, ARunRestrictedByExecutorsListsOnlyThose) {
  Build(SmallOptions("serial,threads"));
  EXPECT_EQ(ExecutorNames(), (std::vector<std::string>{"serial", "threads"}));
  for (const json& f : manifest_.at("families")) {
    for (const json& e : f.at("executors")) {
      EXPECT_TRUE(e == "serial" || e == "threads") << f.at("name") << " lists " << e;
    }
    for (const json& a : f.at("axes")) {
      if (a.contains("executors")) {
        for (const json& e : a.at("executors")) {
          EXPECT_TRUE(e == "serial" || e == "threads") << f.at("name") << " axis lists " << e;
        }
      }
    }
  }
  EXPECT_TRUE(AxisJson(FamilyJson("transfer"), "transport").at("executors").empty());
  // A floor with nothing of this run to compare with is left out (no process pool here): only
  // the hand-off floor, which holds for threads too, stays.
  const json& refs = FamilyJson("roundtrip").at("references");
  ASSERT_EQ(refs.size(), 1U);
  EXPECT_EQ(refs.at(0).at("name"), "raw_shm");
  EXPECT_EQ(FamilyJson("startup").at("references").size(), 0U);
}

}  // namespace
}  // namespace parbench
