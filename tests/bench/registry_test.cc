// The registered benchmarks follow the family table, and they run: names captured with a
// reporter, as Google Benchmark's own tests do (never a timing). The expected names are the
// documented ones; the expected count is derived from the table itself.
#include <benchmark/benchmark.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>

#include "bench/flags.h"
#include "bench/manifest.h"
#include "bench/profile.h"
#include "bench/suite.h"
#include "tests/bench/capture.h"

namespace parbench {
namespace {

using nlohmann::json;

Options SmallOptions(std::vector<std::int64_t> workers) {
  Options options = DefaultOptions(2);
  std::string text;
  for (std::int64_t w : workers) {
    if (!text.empty()) text += ',';
    text += std::to_string(w);
  }
  options.Set("workers", std::move(workers), text);
  return options;
}

TEST(RegistryTest, NamesFollowTheTableAndEveryCpuBenchmarkRuns) {
  Options options = SmallOptions({1, 2});
  options.Set("executors", std::string("serial,threads,processes"), "serial,threads,processes");
  options.Set("tasks", std::int64_t{3}, "3");
  options.Set("cpu_n", std::int64_t{1000}, "1000");
  SuiteEnv env(options, 2);
  const std::vector<std::string> registered = RegisterSuite(env);

  const std::vector<std::string> cpu_names = {
      "cpu/serial",
      "cpu/threads/workers:1",
      "cpu/threads/workers:2",
      "cpu/processes/workers:1",
      "cpu/processes/workers:2",
      "cpu_scaling/serial/steps:1000",
      "cpu_scaling/serial/steps:2000",
  };
  for (const auto& name : cpu_names) {
    EXPECT_NE(std::find(registered.begin(), registered.end(), name), registered.end()) << name;
  }

  const auto outcomes = testing::RunMatching("^cpu", "0.001");
  env.Release();

  std::set<std::string> expected;
  for (const auto& name : cpu_names) expected.insert(name + "/real_time");
  std::set<std::string> names;
  for (const auto& outcome : outcomes) {
    names.insert(outcome.name);
    EXPECT_EQ(outcome.error, "") << outcome.name;
    EXPECT_EQ(outcome.counters.count("tasks_per_second"), 1U) << outcome.name;
    EXPECT_EQ(outcome.counters.count("utilization"), 1U) << outcome.name;
  }
  EXPECT_EQ(names, expected);
  EXPECT_FALSE(env.timeline.empty());
}

// How many benchmarks the table asks for: every executor point of every family, every probe
// point, every reference.
std::size_t CountFromTable(const SuiteEnv& env) {
  std::size_t total = 0;
  for (const Family& family : Families()) {
    const SuiteWorkers suite = WorkersFlag(env.options());
    const std::size_t worker_counts =
        family.workers ? family.workers(suite, env.cpus()).size() : suite.counts.size();
    const std::vector<Axis> axes = ProfileAxes(
        family.axes ? family.axes(env.options(), env.cpus()) : std::vector<Axis>{}, env.options());
    if (family.under == Under::kNoExecutor) {
      std::size_t points = 1;
      for (const Axis& axis : axes) points *= axis.values.size();
      total += points;
    }
    for (const ExecutorInfo* e : ExecutorsFor(family, env.options())) {
      // The executor's own view of the axes: one left out ("") where it is out of scope.
      std::vector<Axis> seen;
      for (const Axis& axis : axes) {
        const bool in_scope =
            axis.scope == Scope::kEveryExecutor ||
            (axis.scope == Scope::kStartsProcesses && e->traits.starts_processes) ||
            ((axis.scope == Scope::kHasTransport || axis.scope == Scope::kTransport) &&
             e->traits.transport_axis) ||
            (axis.scope == Scope::kRemoteWorkers && e->traits.remote_workers) ||
            (axis.scope == Scope::kThreadWorkers && e->traits.shares_memory &&
             !e->traits.single_worker && !e->traits.async) ||
            (axis.scope == Scope::kDispatch && e->traits.sends_messages);
        seen.push_back({axis.name, in_scope ? axis.values : std::vector<std::string>{""}});
      }
      const std::vector<Point> points = Cartesian(seen);
      const auto measured = static_cast<std::size_t>(
          std::count_if(points.begin(), points.end(),
                        [&family](const Point& p) { return !family.LeavesOut(p); }));
      total += measured * (e->traits.single_worker ? 1 : worker_counts);
    }
    for (const Reference& ref : References()) {
      if (ref.family != family.display_name()) continue;
      // Registered when an executor it is a floor for runs the family (raw_mpi: under mpirun).
      const auto executors = ExecutorsFor(family, env.options());
      if (std::none_of(executors.begin(), executors.end(), [&ref](const ExecutorInfo* e) {
            return ref.compare_to == Scope::kEveryExecutor ||
                   (ref.compare_to == Scope::kStartsProcesses && e->traits.starts_processes) ||
                   (ref.compare_to == Scope::kHasTransport && e->traits.transport_axis) ||
                   (ref.compare_to == Scope::kRemoteWorkers && e->traits.remote_workers);
          })) {
        continue;
      }
      std::size_t points = 1;
      for (const Axis& axis :
           ProfileAxes(ref.axes ? ref.axes(env.options(), env.cpus()) : std::vector<Axis>{},
                       env.options())) {
        points *= axis.values.size();
      }
      total += points;
    }
  }
  return total;
}

TEST(RegistryTest, EveryFamilyIsRegisteredUnderItsDocumentedNames) {
  Options options = SmallOptions({1, 4});
  options.Set("transfer_sizes", std::vector<std::int64_t>{4096, 16 << 20}, "4096,16777216");
  SuiteEnv env(options, 2);
  const std::vector<std::string> names = RegisterSuite(env);
  for (const char* name : {"api/serial",
                           "api/threads/workers:4",
                           "api/processes/workers:1",
                           "io/serial/mode:buffered/payload:shipped",
                           "io/threads/workers:4/mode:durable/payload:local",
                           "io/processes/workers:4/mode:durable/payload:shipped",
                           "dot/serial/blas_threads:1",
                           "dot/processes/workers:4/blas_threads:1",
                           "dot/threads/workers:1/blas_threads:2",
                           "overhead/serial",
                           "overhead/threads/workers:1",
                           "overhead/processes/workers:4",
                           "transfer/serial/size:4KiB",
                           "transfer/processes/workers:4/size:16MiB",
                           "transfer/processes/workers:4/size:16MiB/transport:shm",
                           "startup/serial",
                           "startup/threads/workers:4",
                           "startup/processes/workers:4",
                           "startup/processes/workers:4/parent_mem:1GiB",
                           "roundtrip/serial",
                           "roundtrip/processes/workers:1",
                           "roundtrip/raw_pipe",
                           "roundtrip/raw_shm",
                           "roundtrip/threads/workers:1/kind:inline",
                           "roundtrip/threads/workers:4/kind:handoff",
                           "startup/raw_spawn/workers:4",
                           "api_server/clients:32/latency_ms:20",
                           "api_server/clients:256/latency_ms:20",
                           "api_server/clients:1024/latency_ms:20",
                           "api/async/workers:4",
                           "io/async/workers:4/mode:durable/payload:local"}) {
    EXPECT_NE(std::find(names.begin(), names.end(), name), names.end()) << name;
  }
  for (const char* absent :
       {"transfer/threads/workers:4/size:16MiB/transport:shm",
        "transfer/serial/size:16MiB/transport:shm", "startup/serial/parent_mem:1GiB",
        "cpu_scaling/threads/workers:1/steps:12000000",
        // kind: only executors whose workers are threads beside the caller have the choice.
        "roundtrip/threads/workers:4", "roundtrip/serial/kind:inline",
        "roundtrip/processes/workers:1/kind:handoff"}) {
    EXPECT_EQ(std::find(names.begin(), names.end(), absent), names.end()) << absent;
  }
  EXPECT_EQ(names.size(), CountFromTable(env));
  std::set<std::string> unique(names.begin(), names.end());
  EXPECT_EQ(unique.size(), names.size()) << "no name registered twice";
  env.Release();
}

bool Has(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

TEST(RegistryTest, AnExecutorsOwnCountsApplyWithoutWorkersAndItsLimitAlways) {
  {
    SuiteEnv env(DefaultOptions(2), 2);  // --workers not given
    const std::vector<std::string> names = RegisterSuite(env);
    const std::vector<int>& async_counts = FindExecutor("async")->default_workers;
    for (int w : async_counts) {
      EXPECT_TRUE(Has(names, "api/async/workers:" + std::to_string(w))) << w;
    }
    EXPECT_TRUE(Has(names, "api/threads/workers:2"));
    EXPECT_FALSE(Has(names, "api/threads/workers:" + std::to_string(async_counts.back())))
        << "a pool keeps --workers' default";
    for (const std::string& name : names) {
      EXPECT_FALSE(name.starts_with("cpu/async/")) << "cpu has no asynchronous form: " << name;
      EXPECT_FALSE(name.starts_with("transfer/async/")) << name;
    }
    env.Release();
  }
  {
    SuiteEnv env(SmallOptions({2, 512}), 2);
    const std::vector<std::string> names = RegisterSuite(env);
    EXPECT_TRUE(Has(names, "api/async/workers:512"));
    EXPECT_TRUE(Has(names, "api/threads/workers:2"));
    EXPECT_FALSE(Has(names, "api/threads/workers:512")) << "above the pool's limit of 256";
    EXPECT_FALSE(Has(names, "api/async/workers:1024")) << "--workers given: only its counts";
    env.Release();
  }
  benchmark::ClearRegisteredBenchmarks();
}

TEST(RegistryTest, ExecutorsFlagSelectsTheExecutors) {
  Options options = SmallOptions({2});
  options.Set("executors", std::string("serial,threads"), "serial,threads");
  SuiteEnv env(options, 2);
  for (const std::string& name : RegisterSuite(env)) {
    EXPECT_EQ(name.find("/processes/"), std::string::npos) << name;
  }
  env.Release();
}

TEST(RegistryTest, BenchmarkNameFormat) {
  const Point point({{"mode", "durable"}, {"payload", "shipped"}, {"transport", ""}});
  EXPECT_EQ(BenchmarkName("io", *FindExecutor("serial"), 1, point),
            "io/serial/mode:durable/payload:shipped");
  EXPECT_EQ(BenchmarkName("io", *FindExecutor("processes"), 4, point),
            "io/processes/workers:4/mode:durable/payload:shipped");
}

// Every registered name can be rebuilt from the manifest alone, as the tools do.
TEST(RegistryTest, TheManifestDescribesEveryRegisteredName) {
  SuiteEnv env(SmallOptions({1, 2}), 2);
  const std::vector<std::string> names = RegisterSuite(env);
  const json manifest = json::parse(ManifestJson(env));
  EXPECT_EQ(manifest.at("baseline"), "serial");
  std::map<std::string, json> executors;
  for (const json& e : manifest.at("executors")) executors[e.at("name")] = e;
  for (const char* name : {"serial", "threads", "processes"}) {
    EXPECT_TRUE(executors.contains(name)) << name;
  }
  EXPECT_TRUE(executors.at("serial").at("traits").at("single_worker").get<bool>());
  std::set<std::string> rebuilt;
  for (const json& family : manifest.at("families")) {
    const std::string fname = family.at("name");
    std::vector<std::vector<std::pair<std::string, std::string>>> points = {{}};
    for (const json& axis : family.at("axes")) {
      json values = axis.at("values");
      // An executor outside a scoped axis leaves it out of the name: value "".
      if (axis.contains("executors") &&
          std::find(values.begin(), values.end(), "") == values.end()) {
        values.push_back("");
      }
      decltype(points) next;
      for (const auto& p : points) {
        for (const json& v : values) {
          next.push_back(p);
          next.back().emplace_back(axis.at("name"), v);
        }
      }
      points = next;
    }
    for (const json& ref : family.at("references")) {
      const std::string base = fname + "/" + ref.at("name").get<std::string>();
      if (!ref.contains("axes")) rebuilt.insert(base);
      for (const json& axis : ref.value("axes", json::array())) {  // one axis each, so far
        for (const json& v : axis.at("values")) {
          rebuilt.insert(base + "/" + axis.at("name").get<std::string>() + ":" +
                         v.get<std::string>());
        }
      }
    }
    if (family.at("executors").empty()) {
      for (const auto& p : points) rebuilt.insert(fname + Point(p).Suffix());
    }
    for (const json& ename : family.at("executors")) {
      const json& e = executors.at(ename);
      for (const auto& p : points) {
        bool applies = true;  // an axis outside its executors must be "" there
        for (const json& axis : family.at("axes")) {
          if (!axis.contains("executors")) continue;
          const bool in = std::find(axis.at("executors").begin(), axis.at("executors").end(),
                                    ename) != axis.at("executors").end();
          const auto& value = std::find_if(p.begin(), p.end(), [&](const auto& kv) {
                                return kv.first == axis.at("name");
                              })->second;
          const json& own = axis.at("values");
          const bool own_plain = std::find(own.begin(), own.end(), "") != own.end();
          if (in ? value.empty() && !own_plain : !value.empty()) applies = false;
        }
        // A combination the family leaves out (per_task with a payload) is no benchmark.
        for (const json& combination : family.at("left_out")) {
          bool matches = true;
          for (const auto& [axis, value] : combination.items()) {
            const auto at =
                std::find_if(p.begin(), p.end(), [&](const auto& kv) { return kv.first == axis; });
            matches = matches && at != p.end() && at->second == value;
          }
          if (matches) applies = false;
        }
        if (!applies) continue;
        for (int w : {1, 2}) {
          std::string n = fname + "/" + ename.get<std::string>();
          if (!e.at("traits").at("single_worker").get<bool>()) n += "/workers:" + std::to_string(w);
          rebuilt.insert(n + Point(p).Suffix());
        }
      }
    }
  }
  EXPECT_EQ(rebuilt, std::set<std::string>(names.begin(), names.end()));
  env.Release();
}

}  // namespace
}  // namespace parbench
