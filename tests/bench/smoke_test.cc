// A smoke run of the real bench binary: tiny sizes, valid JSON, a valid trace, and bad flags
// rejected with one line and exit status 2.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>

#include "bench/flags.h"
#include "tests/support.h"

extern char** environ;

namespace parbench {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// A private temp directory, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    std::string templ = (fs::temp_directory_path() / "parbench-smoke-XXXXXX").string();
    if (::mkdtemp(templ.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = templ;
  }
  ~TempDir() { fs::remove_all(path_); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  [[nodiscard]] const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

struct Outcome {
  int exit_status = -1;
  std::string out;
  std::string err;
};

Outcome RunBench(const std::string& args, const fs::path& dir) {
  const fs::path out = dir / "stdout.txt";
  const fs::path err = dir / "stderr.txt";
  const std::string command = std::string(PARBENCH_BENCH_EXE) + " " + args + " >" +
                              out.string() + " 2>" + err.string() + " </dev/null";
  const int status = std::system(command.c_str());
  auto slurp = [](const fs::path& p) {
    std::ifstream in(p);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  };
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, slurp(out), slurp(err)};
}

json ReadJson(const fs::path& path) {
  std::ifstream in(path);
  return json::parse(in);  // throws on invalid JSON, failing the test
}

TEST(SmokeTest, TinyCpuRunWritesValidJsonAndTrace) {
  TempDir dir;
  const fs::path run = dir.path() / "run.json";
  const Outcome o = RunBench("--benchmark_filter=cpu --executors=serial,threads,processes "
                             "--cpu_n=1000 --tasks=4 --workers=1,2 "
                             "--benchmark_min_time=0.01 --benchmark_out_format=json "
                             "--benchmark_out=" + run.string(),
                             dir.path());
  ASSERT_EQ(o.exit_status, 0) << o.err;

  const json result = ReadJson(run);
  const json& context = result.at("context");
  for (const char* key : {"parbench_cpu_model", "parbench_cores", "parbench_compiler",
                          "parbench_build_type", "parbench_git_revision",
                          "parbench_openblas_config", "parbench_openblas_threads",
                          "parbench_boost_version", "parbench_libcurl_version",
                          "parbench_google_benchmark_version"}) {
    EXPECT_TRUE(context.contains(key)) << key;
  }
  // Every flag --help lists is in the context, set or default.
  for (const FlagSpec& flag : AllFlags()) {
    EXPECT_TRUE(context.contains("parbench_" + std::string(flag.name))) << flag.name;
  }
  EXPECT_EQ(context.at("parbench_tasks"), "4");
  EXPECT_EQ(context.at("parbench_io_bytes"), "16777216") << "a default is recorded too";
  const json manifest = json::parse(context.at("parbench_manifest").get<std::string>());
  EXPECT_EQ(manifest.at("schema"), 1);
  EXPECT_EQ(manifest.at("baseline"), "serial");
  std::set<std::string> names;
  for (const json& b : result.at("benchmarks")) {
    EXPECT_FALSE(b.value("error_occurred", false)) << b.dump();
    names.insert(b.at("run_name").get<std::string>());
  }
  EXPECT_EQ(names.size(), 7U);

  const json trace = ReadJson(dir.path() / "run.trace.json");
  std::map<int, std::string> process_names;
  std::map<int, int> task_events;
  for (const json& e : trace.at("traceEvents")) {
    const std::string ph = e.at("ph");
    if (ph == "M" && e.at("name") == "process_name") {
      process_names[e.at("pid")] = e.at("args").at("name");
    } else if (ph == "X") {
      EXPECT_TRUE(e.at("ts").is_number());
      EXPECT_GE(e.at("dur").get<double>(), 0.0);
      if (e.at("cat") == "task") {
        ++task_events[e.at("pid")];
        EXPECT_TRUE(e.at("args").contains("task"));
        EXPECT_TRUE(e.at("args").contains("os_pid"));
      }
    }
  }
  EXPECT_EQ(process_names.size(), names.size());
  for (const auto& [pid, name] : process_names) {
    EXPECT_TRUE(names.count(name + "/real_time")) << name;
    const int expected_tasks = name.rfind("cpu_scaling", 0) == 0 ? 1 : 4;
    EXPECT_EQ(task_events[pid], expected_tasks) << name;
  }
}

TEST(SmokeTest, BadFlagsFailWithOneLineAndStatusTwo) {
  TempDir dir;
  for (const char* bad : {"--workers=0", "--workers=100000", "--tasks=abc", "--cpu_n=-1",
                          "--workers=", "--no_such_flag", "--io_bytes=1e15", "--api_url=ftp://x",
                          "--transfer_sizes=1,-4", "--dot_n=0", "--api_latency_ms=1.5"}) {
    const Outcome o = RunBench(bad, dir.path());
    EXPECT_EQ(o.exit_status, 2) << bad;
    EXPECT_EQ(std::count(o.err.begin(), o.err.end(), '\n'), 1) << bad << ": " << o.err;
    EXPECT_TRUE(o.out.empty()) << bad << ": nothing may run";
  }
}

// bench started in the background, its output going to files in `dir`.
class Background {
 public:
  Background(const std::vector<std::string>& args, const fs::path& dir) {
    std::vector<std::string> all = {PARBENCH_BENCH_EXE};
    all.insert(all.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : all) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, (dir / "stdout.txt").c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&actions, 2, (dir / "stderr.txt").c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0600);
    EXPECT_EQ(::posix_spawn(&pid_, PARBENCH_BENCH_EXE, &actions, nullptr, argv.data(), environ), 0);
    posix_spawn_file_actions_destroy(&actions);
  }
  ~Background() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  Background(const Background&) = delete;
  Background& operator=(const Background&) = delete;

  // Waits (up to 60 s) until bench has `n` children; returns their pids.
  std::vector<pid_t> WaitForChildren(std::size_t n) {
    for (int i = 0; i < 6000; ++i) {
      auto children = testing::ChildrenOf(pid_);
      if (children.size() >= n) return children;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ADD_FAILURE() << "bench never started " << n << " workers";
    return {};
  }
  // Sends `sig` and returns the exit status.
  int Signal(int sig) {
    ::kill(pid_, sig);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
  }

 private:
  pid_t pid_ = -1;
};

bool Gone(pid_t pid) { return ::kill(pid, 0) != 0 && errno == ESRCH; }

std::string Slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(SmokeTest, SigintStopsTheProcessPoolAndTheApiServerAndSaysSo) {
  testing::Watchdog watchdog(std::chrono::seconds(120));
  TempDir dir;
  Background bench({"--benchmark_filter=^api/processes/workers:2", "--tasks=2",
                    "--api_latency_ms=30000", "--api_timeout_ms=60000"},
                   dir.path());
  const auto workers = bench.WaitForChildren(2);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // requests are waiting now
  EXPECT_EQ(bench.Signal(SIGINT), 130);
  for (pid_t pid : workers) EXPECT_TRUE(Gone(pid)) << "worker " << pid << " survived";
  EXPECT_NE(Slurp(dir.path() / "stderr.txt").find("interrupted by SIGINT: stopped 2 worker"),
            std::string::npos)
      << Slurp(dir.path() / "stderr.txt");
}

TEST(SmokeTest, SigtermRemovesTheIoTempDirectoryAndStopsTheWorkers) {
  testing::Watchdog watchdog(std::chrono::seconds(120));
  TempDir dir;
  const fs::path io_dir = dir.path() / "io";
  fs::create_directory(io_dir);
  Background bench({"--benchmark_filter=^io/processes/workers:2/mode:buffered/payload:local",
                    "--io_dir=" + io_dir.string(), "--io_bytes=1000000", "--tasks=1000000"},
                   dir.path());
  const auto workers = bench.WaitForChildren(2);
  EXPECT_FALSE(fs::is_empty(io_dir)) << "the private temp dir exists while it runs";
  EXPECT_EQ(bench.Signal(SIGTERM), 143);
  for (pid_t pid : workers) EXPECT_TRUE(Gone(pid)) << "worker " << pid << " survived";
  EXPECT_TRUE(fs::is_empty(io_dir)) << "the temp dir was removed";
}

TEST(SmokeTest, AFullDiskFailsTheIoBenchmarkWithTheCauseAndLeavesNothing) {
  testing::TmpfsMount disk(512 * 1024);
  if (!disk.mounted()) GTEST_SKIP() << "cannot make a small file system here: " << disk.error();
  TempDir dir;
  const fs::path run = dir.path() / "run.json";
  const Outcome o = RunBench("--benchmark_filter=^io/processes/workers:1/mode:buffered/payload:shipped "
                             "--io_dir=" + disk.path() + " --io_bytes=1000000 --tasks=2 "
                             "--benchmark_out_format=json --benchmark_out=" + run.string(),
                             dir.path());
  EXPECT_EQ(o.exit_status, 1) << o.err;
  const json result = ReadJson(run);
  const std::string error = result.at("benchmarks").at(0).value("error_message", "");
  EXPECT_NE(error.find("No space left on device"), std::string::npos) << error;
  EXPECT_TRUE(fs::is_empty(disk.path())) << "partial files and the temp dir are gone";
}

TEST(SmokeTest, ApiUnderTheEventLoopRunsAndEveryApiExecutorReportsCpuPerRequest) {
  TempDir dir;
  const fs::path run = dir.path() / "run.json";
  const Outcome o = RunBench("--benchmark_filter='^api/(threads|async)/workers:(2|8)/' --tasks=16 "
                             "--workers=2,8 --api_latency_ms=5 --benchmark_min_time=0.01 "
                             "--benchmark_out_format=json --benchmark_out=" + run.string(),
                             dir.path());
  EXPECT_EQ(o.exit_status, 0) << o.err;
  std::set<std::string> names;
  const json result = ReadJson(run);
  for (const json& b : result.at("benchmarks")) {
    names.insert(b.at("name").get<std::string>());
    EXPECT_FALSE(b.contains("error_message")) << b.at("name") << ": " << b.value("error_message", "");
    for (const char* counter : {"cpu_per_request_us", "server_cpu_per_request_us", "ideal_fraction"}) {
      EXPECT_TRUE(b.contains(counter)) << b.at("name") << " has no " << counter;
    }
  }
  EXPECT_TRUE(names.contains("api/async/workers:8/real_time"));
  EXPECT_TRUE(names.contains("api/threads/workers:8/real_time"));
}

// io under the event loop runs through io_uring or fails with the reason io_uring is refused:
// never quietly on threads.
TEST(SmokeTest, IoUnderTheEventLoopRunsOrSaysWhyNot) {
  TempDir dir;
  const fs::path run = dir.path() / "run.json";
  const Outcome o = RunBench("--benchmark_filter=^io/async/workers:4/mode:durable/payload:local "
                             "--workers=4 --io_bytes=100000 --tasks=8 --benchmark_min_time=0.01 "
                             "--benchmark_out_format=json --benchmark_out=" + run.string(),
                             dir.path());
  const json b = ReadJson(run).at("benchmarks").at(0);
  if (b.contains("error_message")) {
    EXPECT_EQ(o.exit_status, 1);
    EXPECT_NE(b.at("error_message").get<std::string>().find("io_uring is not available here"),
              std::string::npos) << b.at("error_message");
  } else {
    EXPECT_EQ(o.exit_status, 0) << o.err;
    EXPECT_GT(b.at("bytes_per_second").get<double>(), 0);
  }
}

TEST(SmokeTest, AnUnusableIoDirIsABadFlag) {
  TempDir dir;
  for (const char* bad : {"--io_dir=/nonexistent/parbench", "--io_dir=/proc/self"}) {
    const Outcome o = RunBench(bad, dir.path());
    EXPECT_EQ(o.exit_status, 2) << bad;
    EXPECT_NE(o.err.find("--io_dir"), std::string::npos) << o.err;
  }
}

TEST(SmokeTest, AFilterThatMatchesNothingFailsAndLeavesNoResultsFile) {
  TempDir dir;
  const fs::path run = dir.path() / "run.json";
  const Outcome o = RunBench("--benchmark_filter=no_such_benchmark --benchmark_out=" + run.string(),
                             dir.path());
  EXPECT_EQ(o.exit_status, 2) << o.err;
  EXPECT_NE(o.err.find("bench: no benchmark matched --benchmark_filter"), std::string::npos) << o.err;
  EXPECT_FALSE(fs::exists(run)) << "no empty results file for a CI gate to read as a pass";
}

// With repetitions Google Benchmark writes NaN (the cv of a counter that is 0 throughout), which
// is not JSON: bench must still add its closing context key and exit 0.
TEST(SmokeTest, RepetitionsWithANaNAggregateStillGetTheClosingContextKey) {
  TempDir dir;
  const fs::path run = dir.path() / "run.json";
  const Outcome o = RunBench("--benchmark_filter=^cpu/serial --cpu_n=1000 --tasks=2 "
                             "--benchmark_repetitions=2 --benchmark_min_time=0.01 "
                             "--benchmark_out=" + run.string(), dir.path());
  EXPECT_EQ(o.exit_status, 0) << o.err;
  std::ifstream in(run);
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_NE(text.str().find("\"parbench_noise_efficiency_end\": \""), std::string::npos);
  EXPECT_NE(text.str().find("/real_time_cv\""), std::string::npos) << "aggregates were written";
}

TEST(SmokeTest, OneUsableCpuUnderTasksetSetsTheDefaultsAndTheContext) {
  if (std::system("command -v taskset >/dev/null") != 0) GTEST_SKIP() << "no taskset here";
  TempDir dir;
  const fs::path run = dir.path() / "run.json";
  const std::string args = "--benchmark_filter=^cpu/threads --cpu_n=1000 --tasks=2 "
                           "--benchmark_min_time=0.01 --benchmark_out=" + run.string();
  const std::string command = "taskset -c 0 " + std::string(PARBENCH_BENCH_EXE) + " " + args +
                              " >/dev/null 2>&1 </dev/null";
  ASSERT_EQ(std::system(command.c_str()), 0);
  const json result = ReadJson(run);
  const json& context = result.at("context");
  EXPECT_EQ(context.at("parbench_usable_cpus"), "1");
  EXPECT_EQ(context.at("parbench_affinity_cpus"), "0");
  EXPECT_EQ(context.at("parbench_workers"), "1,2,4,8") << "1,2,4,8 and the usable count (1)";
  EXPECT_TRUE(context.contains("parbench_noise_efficiency_end"));
  for (const json& b : result.at("benchmarks")) {
    for (const char* counter : {"interference_cpu_frac", "steal_frac", "tree_cpu_ms",
                                "cpu_efficiency", "involuntary_switches"}) {
      EXPECT_TRUE(b.contains(counter)) << b.at("name") << " lacks " << counter;
    }
    EXPECT_LE(b.at("cpu_efficiency").get<double>(), 1.5) << "efficiency is against 1 CPU";
  }
}

TEST(SmokeTest, HelpListsSuiteAndGoogleBenchmarkFlags) {
  TempDir dir;
  const Outcome o = RunBench("--help", dir.path());
  EXPECT_EQ(o.exit_status, 0);
  EXPECT_NE(o.out.find("--workers"), std::string::npos);
  EXPECT_NE(o.out.find("benchmark_filter"), std::string::npos);
}

}  // namespace
}  // namespace parbench
