// Timeline: last iteration per name, written as valid Chrome trace JSON with one X event per task.
#include "bench/timeline.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "common/temp_dir.h"

namespace parbench {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// One iteration of `tasks` tasks on `executor`, timed around Run() as the suite does.
struct Iteration {
  std::int64_t start_ns = 0;
  std::int64_t stop_ns = 0;
  std::vector<Result> results;
};

Iteration RunOnce(std::string_view executor, int workers, std::uint32_t tasks) {
  ExecutorOptions options;
  options.workers = workers;
  auto pool = MakeExecutor(executor, options);
  const Job job{"overhead", Config()};
  Iteration it;
  it.start_ns = NowNs();
  it.results = pool->Run({.job = &job, .tasks = tasks, .payload = {}});
  it.stop_ns = NowNs();
  return it;
}

json WriteAndParse(const Timeline& timeline) {
  const TempDir dir(fs::temp_directory_path().string());
  const std::string path = dir.path() + "/trace.json";
  timeline.Write(path);
  std::ifstream in(path);
  return json::parse(in);  // throws (and fails the test) on invalid JSON
}

// The events of the trace whose "pid" is that of the process named `name`.
std::vector<json> EventsOf(const json& trace, const std::string& name) {
  int pid = -1;
  for (const json& e : trace.at("traceEvents")) {
    if (e.at("ph") == "M" && e.at("name") == "process_name" && e.at("args").at("name") == name) {
      EXPECT_EQ(pid, -1) << name << " is named twice";
      pid = e.at("pid");
    }
  }
  std::vector<json> out;
  for (const json& e : trace.at("traceEvents")) {
    if (e.at("pid") == pid) out.push_back(e);
  }
  return out;
}

std::vector<json> TaskEvents(const std::vector<json>& events) {
  std::vector<json> out;
  for (const json& e : events) {
    if (e.at("ph") == "X" && e.value("cat", "") == "task") out.push_back(e);
  }
  return out;
}

TEST(TimelineTest, StartsEmpty) {
  Timeline timeline;
  EXPECT_TRUE(timeline.empty());
  const json trace = WriteAndParse(timeline);
  EXPECT_TRUE(trace.at("traceEvents").empty());
  timeline.Record("cpu/serial", 1, 0, 10, {});
  EXPECT_FALSE(timeline.empty());
}

TEST(TimelineTest, WritesOneNamedProcessPerBenchmarkWithOneXEventPerTask) {
  const Iteration it = RunOnce("threads", 2, 6);
  Timeline timeline;
  timeline.Record("overhead/threads/workers:2", 2, it.start_ns, it.stop_ns, it.results);
  const json trace = WriteAndParse(timeline);
  EXPECT_EQ(trace.at("displayTimeUnit"), "ms");
  // Spans name their host by index: host 0 is this machine.
  ASSERT_FALSE(trace.at("otherData").at("hosts").empty());
  EXPECT_EQ(trace.at("otherData").at("hosts").at(0), timeline.hosts().at(0));

  const std::vector<json> events = EventsOf(trace, "overhead/threads/workers:2");
  ASSERT_FALSE(events.empty()) << "no process_name event for the benchmark";
  // A thread_name per worker slot, and the iteration's own lane after them.
  std::map<int, std::string> thread_names;
  for (const json& e : events) {
    if (e.at("ph") == "M" && e.at("name") == "thread_name") {
      thread_names[e.at("tid")] = e.at("args").at("name");
    }
  }
  EXPECT_EQ(thread_names,
            (std::map<int, std::string>{{0, "worker 0"}, {1, "worker 1"}, {2, "iteration"}}));

  double iteration_dur = -1;
  for (const json& e : events) {
    if (e.at("ph") == "X" && e.at("name") == "iteration") {
      EXPECT_EQ(e.at("ts").get<double>(), 0.0);
      iteration_dur = e.at("dur");
      EXPECT_EQ(e.at("args").at("tasks"), 6);
      EXPECT_EQ(e.at("args").at("workers"), 2);
    }
  }
  EXPECT_DOUBLE_EQ(iteration_dur, static_cast<double>(it.stop_ns - it.start_ns) / 1000.0);

  const std::vector<json> tasks = TaskEvents(events);
  ASSERT_EQ(tasks.size(), it.results.size());
  std::set<std::uint32_t> seen;
  for (const json& e : tasks) {
    const std::uint32_t task = e.at("args").at("task");
    ASSERT_LT(task, it.results.size());
    EXPECT_TRUE(seen.insert(task).second) << "task " << task << " twice";
    const Span& span = it.results[task].span;
    EXPECT_EQ(e.at("name"), "task " + std::to_string(task));
    EXPECT_EQ(e.at("tid"), span.slot);
    EXPECT_EQ(e.at("args").at("os_pid"), span.pid);
    EXPECT_EQ(e.at("args").at("os_tid"), span.tid);
    EXPECT_EQ(e.at("args").at("host"), span.host);
    EXPECT_EQ(e.at("args").at("rank"), span.rank);
    const double ts = e.at("ts");
    const double dur = e.at("dur");
    EXPECT_GE(ts, 0.0) << "task " << task << " starts before its iteration";
    EXPECT_GE(dur, 0.0) << "task " << task;
    EXPECT_LE(ts + dur, iteration_dur + 1e-3) << "task " << task << " ends after its iteration";
  }
}

// Ranks on two hosts: one lane group (trace process) per host, each worker's lane and tasks in
// its host's group, the iteration's lane in rank 0's host's.
TEST(TimelineTest, WritesOneLaneGroupPerHost) {
  Timeline timeline;
  timeline.SetHosts({"pb-host0", "pb-host1"});
  std::vector<Result> results(4);
  for (std::uint32_t t = 0; t < 4; ++t) {
    Span& s = results[t].span;
    s.task = t;
    s.slot = static_cast<std::int32_t>(t % 2);
    s.rank = s.slot + 1;
    s.host = s.slot;  // slot 0: rank 1 on pb-host0; slot 1: rank 2 on pb-host1
    s.start_ns = 10 + t;
    s.stop_ns = 20 + t;
  }
  timeline.Record("cpu/mpi", 2, 0, 100, results);
  const json trace = WriteAndParse(timeline);
  const std::vector<json> here = EventsOf(trace, "cpu/mpi");
  const std::vector<json> there = EventsOf(trace, "cpu/mpi @ pb-host1");
  ASSERT_FALSE(here.empty());
  ASSERT_FALSE(there.empty()) << "no lane group for the second host";
  std::map<std::string, int> lanes;  // lane name -> the group it is in (0 here, 1 there)
  for (const auto& [group, events] : {std::pair{0, &here}, std::pair{1, &there}}) {
    for (const json& e : *events) {
      if (e.at("name") == "thread_name") lanes[e.at("args").at("name")] = group;
      if (e.value("cat", "") == "task") {
        EXPECT_EQ(e.at("args").at("host"), group) << e.dump();
      }
    }
  }
  EXPECT_EQ(lanes, (std::map<std::string, int>{{"pb-host0 rank 1 (worker 0)", 0},
                                               {"pb-host1 rank 2 (worker 1)", 1},
                                               {"iteration", 0}}));
  EXPECT_EQ(TaskEvents(here).size() + TaskEvents(there).size(), 4U);
  EXPECT_EQ(TaskEvents(there).size(), 2U);
}

TEST(TimelineTest, ASecondRecordOfTheSameNameReplacesTheFirst) {
  const Iteration first = RunOnce("serial", 1, 3);
  const Iteration second = RunOnce("threads", 4, 9);
  const Iteration other = RunOnce("serial", 1, 2);
  Timeline timeline;
  timeline.Record("a", 1, first.start_ns, first.stop_ns, first.results);
  timeline.Record("b", 1, other.start_ns, other.stop_ns, other.results);
  timeline.Record("a", 4, second.start_ns, second.stop_ns, second.results);
  const json trace = WriteAndParse(timeline);

  std::vector<std::string> processes;
  for (const json& e : trace.at("traceEvents")) {
    if (e.at("name") == "process_name") processes.push_back(e.at("args").at("name"));
  }
  EXPECT_EQ(processes, (std::vector<std::string>{"a", "b"}))
      << "one process each, first-seen order";

  const std::vector<json> a = TaskEvents(EventsOf(trace, "a"));
  ASSERT_EQ(a.size(), 9U) << "the second iteration's tasks only";
  std::set<int> tids;
  for (const json& e : a) tids.insert(e.at("args").at("os_tid").get<int>());
  std::set<int> second_tids;
  for (const Result& r : second.results) second_tids.insert(r.span.tid);
  EXPECT_EQ(tids, second_tids);
  EXPECT_EQ(TaskEvents(EventsOf(trace, "b")).size(), 2U);
}

// A granularity point runs up to 100,000 tasks an iteration: the trace keeps the first
// kMaxSpans and says how many there were, and how many iterations and runs it saw.
TEST(TimelineTest, ABenchmarkKeepsAtMostItsSpanBoundAndSaysHowManyTasksThereWere) {
  const auto many = static_cast<std::uint32_t>(Timeline::kMaxSpans + 500);
  const Iteration it = RunOnce("serial", 1, many);
  Timeline timeline;
  timeline.Record("big", 1, it.start_ns, it.stop_ns, it.results, 7);
  timeline.Record("big", 1, it.start_ns, it.stop_ns, it.results, 5);
  const json trace = WriteAndParse(timeline);
  const std::vector<json> events = EventsOf(trace, "big");
  const std::vector<json> tasks = TaskEvents(events);
  ASSERT_EQ(tasks.size(), Timeline::kMaxSpans);
  std::set<std::uint32_t> kept;
  for (const json& e : tasks) kept.insert(e.at("args").at("task").get<std::uint32_t>());
  EXPECT_EQ(*kept.rbegin(), Timeline::kMaxSpans - 1) << "the first tasks are kept";
  const auto iteration = std::find_if(events.begin(), events.end(), [](const json& e) {
    return e.at("ph") == "X" && e.at("name") == "iteration";
  });
  ASSERT_NE(iteration, events.end());
  EXPECT_EQ(iteration->at("args").at("tasks"), many);
  EXPECT_EQ(iteration->at("args").at("tasks_recorded"), Timeline::kMaxSpans);
  EXPECT_EQ(iteration->at("args").at("iterations"), 5) << "the last run's";
  EXPECT_EQ(iteration->at("args").at("runs"), 2);
}

TEST(TimelineTest, AnUnwritablePathThrowsNamingIt) {
  const TempDir dir(fs::temp_directory_path().string());
  std::ofstream(dir.path() + "/file") << "x";
  // A path under a regular file cannot be created, whoever runs the test (root included).
  const std::string path = dir.path() + "/file/trace.json";
  Timeline timeline;
  timeline.Record("a", 1, 0, 1, {});
  try {
    timeline.Write(path);
    FAIL() << "Write() did not throw";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace parbench
