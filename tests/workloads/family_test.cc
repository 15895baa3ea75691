// Family table: Point, Cartesian, bytes, refusals, every family's prepare() and check() on tasks.
#include "workloads/family.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>

#include "common/temp_dir.h"
#include "harness/api_server.h"

namespace parbench {
namespace {

namespace fs = std::filesystem;

TEST(PointTest, GetIntAndSuffix) {
  const Point point({{"mode", "durable"}, {"transport", ""}, {"size", "4096"}});
  EXPECT_EQ(point.Get("mode"), "durable");
  EXPECT_EQ(point.Get("transport"), "");
  EXPECT_EQ(point.Int("size"), 4096);
  EXPECT_EQ(point.Suffix(), "/mode:durable/size:4096") << "a value \"\" is left out of the name";
  EXPECT_EQ(Point().Suffix(), "");
  EXPECT_EQ(Point(std::vector<std::pair<std::string, std::string>>{{"transport", ""}}).Suffix(),
            "");
}

TEST(PointTest, AnUnknownAxisOrANonIntegerIsALogicError) {
  const Point point({{"mode", "durable"}, {"n", "12x"}, {"empty", ""}});
  EXPECT_THROW((void)point.Get("size"), std::logic_error);
  EXPECT_THROW((void)point.Int("size"), std::logic_error);
  EXPECT_THROW((void)point.Int("mode"), std::logic_error);
  EXPECT_THROW((void)point.Int("n"), std::logic_error);
  EXPECT_THROW((void)point.Int("empty"), std::logic_error);
  try {
    (void)point.Get("size");
  } catch (const std::logic_error& e) {
    EXPECT_NE(std::string(e.what()).find("'size'"), std::string::npos) << e.what();
  }
}

std::vector<std::string> Suffixes(const std::vector<Point>& points) {
  std::vector<std::string> out;
  for (const Point& p : points) out.push_back(p.Suffix());
  return out;
}

TEST(CartesianTest, EveryCombinationTheLastAxisFastest) {
  const std::vector<Point> points =
      Cartesian({{"a", {"1", "2"}}, {"b", {"x", "y", "z"}}, {"c", {"", "on"}}});
  ASSERT_EQ(points.size(), 12U);
  EXPECT_EQ(Suffixes(points),
            (std::vector<std::string>{"/a:1/b:x", "/a:1/b:x/c:on", "/a:1/b:y", "/a:1/b:y/c:on",
                                      "/a:1/b:z", "/a:1/b:z/c:on", "/a:2/b:x", "/a:2/b:x/c:on",
                                      "/a:2/b:y", "/a:2/b:y/c:on", "/a:2/b:z", "/a:2/b:z/c:on"}));
  for (const Point& p : points) {
    ASSERT_EQ(p.values().size(), 3U);
    EXPECT_EQ(p.values()[0].first, "a");
    EXPECT_EQ(p.values()[1].first, "b");
    EXPECT_EQ(p.values()[2].first, "c");
  }
}

TEST(CartesianTest, NoAxesIsOneEmptyPointAndAnAxisWithoutValuesIsNone) {
  const std::vector<Point> one = Cartesian({});
  ASSERT_EQ(one.size(), 1U);
  EXPECT_TRUE(one[0].values().empty());
  EXPECT_TRUE(Cartesian({{"a", {"1", "2"}}, {"clients", {}}}).empty());
  EXPECT_TRUE(Cartesian({{"clients", {}}, {"a", {"1", "2"}}}).empty());
}

TEST(BytesTest, FormatUsesTheLargestExactUnit) {
  EXPECT_EQ(FormatBytes(0), "0B");
  EXPECT_EQ(FormatBytes(1000), "1000B");
  EXPECT_EQ(FormatBytes(1023), "1023B");
  EXPECT_EQ(FormatBytes(1024), "1KiB");
  EXPECT_EQ(FormatBytes(1536), "1536B");
  EXPECT_EQ(FormatBytes(4096), "4KiB");
  EXPECT_EQ(FormatBytes(1025 * 1024), "1025KiB");
  EXPECT_EQ(FormatBytes(16 << 20), "16MiB");
  EXPECT_EQ(FormatBytes(std::int64_t{1} << 30), "1GiB");
  EXPECT_EQ(FormatBytes(std::int64_t{3} << 30), "3GiB");
}

TEST(BytesTest, ParseIsTheInverseOfFormat) {
  for (std::int64_t bytes :
       {std::int64_t{0}, std::int64_t{1}, std::int64_t{1000}, std::int64_t{1023},
        std::int64_t{1024}, std::int64_t{1536}, std::int64_t{4096}, std::int64_t{1} << 20,
        std::int64_t{64} << 20, std::int64_t{1} << 30, std::int64_t{5} << 30}) {
    EXPECT_EQ(ParseBytes(FormatBytes(bytes)), bytes) << FormatBytes(bytes);
  }
  EXPECT_EQ(ParseBytes("16MiB"), 16 << 20);
}

TEST(BytesTest, ParseRefusesAnythingElse) {
  for (const char* bad : {"", "B", "KiB", "4", "4kib", "4KB", "4 KiB", "4KiBs", "x", "1.5MiB",
                          "MiB4", "0x10B", "4KiB "}) {
    EXPECT_THROW((void)ParseBytes(bad), std::logic_error) << "'" << bad << "'";
  }
}

// The table's names, and the workloads' names, as they are now.
std::vector<std::string> FamilyNamesNow() {
  std::vector<std::string> out;
  for (const Family& f : Families()) out.emplace_back(f.display_name());
  return out;
}
std::vector<std::string> WorkloadNamesNow() {
  std::vector<std::string> out;
  for (const Workload& w : Workloads()) out.emplace_back(w.name);
  return out;
}

TEST(FamilyTableTest, IsSortedByNameWithoutDuplicates) {
  const std::vector<std::string> names = FamilyNamesNow();
  ASSERT_FALSE(names.empty());
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));
  EXPECT_EQ(std::set<std::string>(names.begin(), names.end()).size(), names.size());
  for (const char* documented :
       {"cpu", "io", "dot", "api", "overhead", "transfer", "roundtrip", "startup", "cpu_scaling"}) {
    EXPECT_NE(std::find(names.begin(), names.end(), documented), names.end()) << documented;
  }
}

// A workload no table knows yet: a refused family must not register it.
constexpr Workload kUnregistered = {
    .name = "family_test_unregistered",
    .summary = "test: a refused family's workload",
    .make_runner = [](const Config&) -> std::unique_ptr<TaskRunner> { return nullptr; },
};

// RegisterFamily(family)'s logic_error message, or "" when it did not throw.
std::string RefusalOf(Family family) {
  try {
    RegisterFamily(std::move(family));
  } catch (const std::logic_error& e) {
    return e.what();
  }
  return "";
}

TEST(FamilyTableTest, RefusesADuplicateNameAndLeavesTheTablesUnchanged) {
  const std::vector<std::string> families = FamilyNamesNow();
  const std::vector<std::string> workloads = WorkloadNamesNow();

  // By explicit name, and by the name taken from the workload.
  const std::string explicit_name =
      RefusalOf({.workload = &kUnregistered, .name = "cpu", .summary = "again"});
  EXPECT_NE(explicit_name.find("'cpu'"), std::string::npos) << explicit_name;
  EXPECT_NE(explicit_name.find("registered twice"), std::string::npos) << explicit_name;
  const std::string from_workload = RefusalOf({.workload = &FindWorkload("io")});
  EXPECT_NE(from_workload.find("'io'"), std::string::npos) << from_workload;

  EXPECT_EQ(FamilyNamesNow(), families);
  EXPECT_EQ(WorkloadNamesNow(), workloads) << "a refused family's workload stays unregistered";
}

TEST(FamilyTableTest, RefusesAFlagAnotherFamilyOwnsAndLeavesTheTablesUnchanged) {
  const std::vector<std::string> families = FamilyNamesNow();
  const std::vector<std::string> workloads = WorkloadNamesNow();

  const std::string message = RefusalOf({
      .workload = &kUnregistered,
      .name = "family_test_flag_clash",
      .flags = {{.name = "family_test_own_flag", .lo = 1, .hi = 2, .default_value = "1"},
                {.name = "cpu_n", .lo = 1, .hi = 2, .default_value = "1"}},
  });
  EXPECT_NE(message.find("--cpu_n"), std::string::npos) << message;
  EXPECT_NE(message.find("cpu"), std::string::npos) << message;
  EXPECT_NE(message.find("family_test_flag_clash"), std::string::npos) << message;
  // A string flag of another family, too.
  EXPECT_NE(RefusalOf({.name = "family_test_flag_clash_2",
                       .flags = {{.name = "io_dir", .type = FlagType::kString}},
                       .under = Under::kNoExecutor})
                .find("--io_dir"),
            std::string::npos);

  EXPECT_EQ(FamilyNamesNow(), families);
  EXPECT_EQ(WorkloadNamesNow(), workloads) << "a refused family's workload stays unregistered";
}

TEST(ExpectValueTest, AcceptsTheValueAndNamesBothOtherwise) {
  const auto check = ExpectValue(42, " bytes");
  EXPECT_EQ(check(0, {.value = 42, .reply = {}}), "");
  EXPECT_EQ(check(3, {.value = 41, .reply = {}}), "returned 41 bytes, expected 42");
}

// What bench offers a family, at tiny settings: options built from the table's own flag specs
// (so a new family's flags are there with their defaults), temp directories under one private
// parent, and the suite's loopback server.
class TinyFixtures final : public Fixtures {
 public:
  TinyFixtures() : root_(fs::temp_directory_path().string(), "parbench-family-test-") {
    // Defaults first, each parsed as bench parses it.
    std::set<std::string> known;
    for (const Family& family : Families()) {
      for (const FlagSpec& spec : family.flags) {
        const std::string text = spec.machine_default != nullptr ? spec.machine_default(kCpus)
                                                                 : std::string(spec.default_value);
        options_.Set(
            spec.name,
            spec.type == FlagType::kString ? Options::Value(text) : ParseFlagValue(spec, text),
            text, /*was_set=*/false);
        known.emplace(spec.name);
      }
    }
    // Then the tiny values, validated by their own specs.
    const std::map<std::string, std::string> tiny = {{"cpu_n", "1000"},
                                                     {"io_bytes", "4096"},
                                                     {"dot_n", "8"},
                                                     {"transfer_sizes", "4096"},
                                                     {"transfer_tasks", "2"},
                                                     {"overhead_tasks", "3"},
                                                     {"api_bytes", "100"},
                                                     {"api_latency_ms", "0"},
                                                     {"io_dir", root_.path()},
                                                     {"granularity_work_ms", "1"},
                                                     {"granularity_min_tasks", "1"},
                                                     {"py_n", "1000"},
                                                     {"py_task", "parbench_test_tasks:work"},
                                                     {"py_path", PARBENCH_TEST_PY_DIR},
                                                     {"plugin", PARBENCH_EXAMPLE_PLUGIN}};
    for (const auto& [name, text] : tiny) {
      const FlagSpec* spec = FindSpec(name);
      if (spec == nullptr) {
        ADD_FAILURE() << "no family owns --" << name << " any more: update this test";
        continue;
      }
      options_.Set(name, ParseFlagValue(*spec, text), text);
    }
    // The suite's own flags (bench/flags.cc) that families read.
    options_.Set("tasks", std::int64_t{2}, "2");
    options_.Set("workers", std::vector<std::int64_t>{2}, "2", /*was_set=*/false);
  }

  [[nodiscard]] const Options& options() const override { return options_; }
  [[nodiscard]] int cpus() const override { return kCpus; }
  [[nodiscard]] const std::string& MakeTempDir() override {
    return dirs_.emplace_back(std::make_unique<TempDir>(options_.String("io_dir")))->path();
  }
  [[nodiscard]] std::string LoopbackHttpUrl(std::int64_t latency_ms, std::int64_t bytes) override {
    if (!server_) server_ = std::make_unique<api::Server>();
    return server_->Url(latency_ms, bytes);
  }
  [[nodiscard]] std::vector<double> TakeServerDelaysMs() override {
    return server_ ? server_->TakeAddedMs() : std::vector<double>{};
  }

 private:
  static constexpr int kCpus = 2;
  static const FlagSpec* FindSpec(const std::string& name) {
    for (const Family& family : Families()) {
      for (const FlagSpec& spec : family.flags) {
        if (spec.name == name) return &spec;
      }
    }
    return nullptr;
  }

  TempDir root_;  // destroyed last: the job directories live in it
  Options options_;
  std::vector<std::unique_ptr<TempDir>> dirs_;
  std::unique_ptr<api::Server> server_;
};

// Every family that runs under executors, by name (GoogleTest asks after static
// initialization, so every row is in).
std::vector<std::string> ExecutorFamilies() {
  std::vector<std::string> out;
  for (const Family& f : Families()) {
    if (f.under != Under::kNoExecutor) out.emplace_back(f.display_name());
  }
  return out;
}

const Family& FamilyNamed(const std::string& name) {
  for (const Family& f : Families()) {
    if (f.display_name() == name) return f;
  }
  throw std::logic_error("no family " + name);
}

// Every executor family at tiny settings, each task run by the workload's own runner: its check()
// must accept the real output and refuse the value + 1, so no family can pass a no-op.
class EveryFamilyTest : public ::testing::TestWithParam<std::string> {};

TEST_P(EveryFamilyTest, ItsCheckAcceptsWhatItsTasksReturnAndRefusesACorruptedValue) {
  const Family& family = FamilyNamed(GetParam());
  ASSERT_NE(family.workload, nullptr);
  ASSERT_TRUE(family.prepare) << "an executor family needs prepare()";
  TinyFixtures fixtures;
  const std::vector<Axis> axes =
      family.axes ? family.axes(fixtures.options(), fixtures.cpus()) : std::vector<Axis>{};
  const std::vector<Point> points = Cartesian(axes);
  ASSERT_FALSE(points.empty()) << "a family with no point registers nothing";
  std::set<std::string> specified;
  for (const CounterSpec& c : family.counter_specs) specified.emplace(c.name);

  for (const Point& point : points) {
    SCOPED_TRACE(GetParam() + point.Suffix());
    const Prepared prepared = family.prepare(point, fixtures);
    ASSERT_TRUE(prepared.check) << "no check: any output would pass";
    // Process workers find the job's workload by name in the table (startup's interpreter
    // variant runs another workload than the family's).
    EXPECT_NO_THROW((void)FindWorkload(prepared.job.workload));
    if (family.body != Body::kStartup) {
      EXPECT_EQ(prepared.job.workload, family.workload->name);
    }
    // A startup iteration runs one task per worker (the body sets the count); a batch family
    // must give its tasks.
    std::uint32_t tasks = prepared.tasks;
    if (family.body == Body::kStartup) {
      tasks = 2;
    } else {
      ASSERT_GT(prepared.tasks, 0U) << "an iteration without tasks measures nothing";
    }
    // Built as a process worker builds it: from the config that crossed the pipe.
    const std::unique_ptr<TaskRunner> runner =
        MakeRunner(prepared.job.workload, Config::Parse(prepared.job.config.Serialize()));
    ASSERT_NE(runner, nullptr);
    std::int64_t busy_ns = 0;
    for (std::uint32_t task = 0; task < tasks; ++task) {
      const TaskOutput output = runner->Run(task, prepared.payload);
      ASSERT_EQ(prepared.check(task, output), "") << "task " << task;
      TaskOutput corrupted = output;
      ++corrupted.value;
      ASSERT_NE(prepared.check(task, corrupted), "") << "task " << task << " value + 1 passed";
      busy_ns += 1000;
    }
    // Its counters are the ones it declares (the manifest gives their units from the specs).
    if (family.counters) {
      const Measurement m{
          .workers = 2, .iterations = 1, .tasks = tasks, .wall_ns = 1'000'000, .busy_ns = busy_ns};
      for (const auto& [name, value] : family.counters(point, prepared, m, fixtures)) {
        EXPECT_TRUE(specified.contains(name)) << "counter " << name << " has no CounterSpec";
      }
    }
  }
}

std::string ParamName(const ::testing::TestParamInfo<std::string>& param) { return param.param; }

INSTANTIATE_TEST_SUITE_P(Families, EveryFamilyTest, ::testing::ValuesIn(ExecutorFamilies()),
                         ParamName);

}  // namespace
}  // namespace parbench
