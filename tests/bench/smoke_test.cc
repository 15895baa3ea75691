// A smoke run of the real bench binary: tiny sizes, valid JSON, a valid trace, and bad flags
// rejected with one line and exit status 2.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

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
  const Outcome o = RunBench("--benchmark_filter=cpu --cpu_n=1000 --tasks=4 --workers=1,2 "
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
                          "--workers=", "--no_such_flag"}) {
    const Outcome o = RunBench(bad, dir.path());
    EXPECT_EQ(o.exit_status, 2) << bad;
    EXPECT_EQ(std::count(o.err.begin(), o.err.end(), '\n'), 1) << bad << ": " << o.err;
    EXPECT_TRUE(o.out.empty()) << bad << ": nothing may run";
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
