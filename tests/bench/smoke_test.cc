// A smoke run of the real bench binary: tiny sizes, valid JSON, a valid trace, and bad flags
// rejected with one line and exit status 2.
#include <fcntl.h>
#include <grp.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string_view>
#include <thread>
#include <tuple>

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

// Runs `exe` with `args` (through the shell), its output going to files in `dir`.
Outcome RunProgram(const std::string& exe, const std::string& args, const fs::path& dir) {
  const fs::path out = dir / "stdout.txt";
  const fs::path err = dir / "stderr.txt";
  const std::string command =
      exe + " " + args + " >" + out.string() + " 2>" + err.string() + " </dev/null";
  const int status = std::system(command.c_str());
  auto slurp = [](const fs::path& p) {
    std::ifstream in(p);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  };
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, slurp(out), slurp(err)};
}

// The smoke runs' own defaults where the args say nothing: one repetition (the quick profile's
// three are tested on their own) and no results file in the test's working directory.
std::string WithSmokeDefaults(std::string args) {
  if (args.find("benchmark_repetitions") == std::string::npos &&
      args.find("--profile") == std::string::npos) {
    args += " --benchmark_repetitions=1";
  }
  if (args.find("--benchmark_out=") == std::string::npos) args += " --benchmark_out=";
  return args;
}

Outcome RunBench(const std::string& args, const fs::path& dir) {
  return RunProgram(PARBENCH_BENCH_EXE, WithSmokeDefaults(args), dir);
}

json ReadJson(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  // Google Benchmark writes NaN for the cv of a counter that is always 0 (with repetitions);
  // JSON has no NaN, so it becomes null. (No std::regex: GCC 12 warns maybe-uninitialized
  // inside it in the ASan build, and warnings are errors.)
  std::string valid = text.str();
  for (const std::string nan : {": -nan", ": nan", ": NaN"}) {
    for (std::size_t at = valid.find(nan); at != std::string::npos; at = valid.find(nan, at)) {
      valid.replace(at, nan.size(), ": null");
    }
  }
  return json::parse(valid);  // throws on invalid JSON, failing the test
}

TEST(SmokeTest, TinyCpuRunWritesValidJsonAndTrace) {
  TempDir dir;
  const fs::path run = dir.path() / "run.json";
  const Outcome o = RunBench(
      "--benchmark_filter=^cpu --executors=serial,threads,processes "
      "--cpu_n=1000 --tasks=4 --workers=1,2 "
      "--benchmark_min_time=0.01 --benchmark_out_format=json "
      "--benchmark_out=" +
          run.string(),
      dir.path());
  ASSERT_EQ(o.exit_status, 0) << o.err;

  const json result = ReadJson(run);
  const json& context = result.at("context");
  for (const char* key :
       {"parbench_cpu_model", "parbench_cores", "parbench_compiler", "parbench_build_type",
        "parbench_git_revision", "parbench_openblas_config", "parbench_openblas_threads",
        "parbench_boost_version", "parbench_libcurl_version", "parbench_google_benchmark_version",
        "parbench_smt", "parbench_memory_bytes", "parbench_kernel", "parbench_end_time"}) {
    EXPECT_TRUE(context.contains(key)) << key;
  }
  // Google Benchmark's own record of how its library was built (Debian's: "debug", i.e.
  // without NDEBUG; docs/gbench-build.md says what that costs): kept, so runs say it.
  ASSERT_TRUE(context.contains("library_build_type"));
  EXPECT_TRUE(context.at("library_build_type") == "debug" ||
              context.at("library_build_type") == "release")
      << context.at("library_build_type");
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

// True when process `pid` ignores `sig` (the SigIgn mask in /proc/PID/status).
bool Ignores(pid_t pid, int sig) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("SigIgn:", 0) == 0) {
      const unsigned long long mask = std::stoull(line.substr(7), nullptr, 16);
      return ((mask >> (sig - 1)) & 1) != 0;
    }
  }
  return false;
}

TEST(SmokeTest, SighupAndSigquitCleanUpAsSigintDoesAndExitWith129And131) {
  // A closed terminal and Ctrl-\ reach the whole process group: the workers get the signal too
  // and must leave the stopping to bench.
  testing::Watchdog watchdog(std::chrono::seconds(180));
  for (const auto& [sig, status, name] :
       {std::tuple{SIGHUP, 129, "SIGHUP"}, std::tuple{SIGQUIT, 131, "SIGQUIT"}}) {
    TempDir dir;
    const fs::path io_dir = dir.path() / "io";
    fs::create_directory(io_dir);
    Background bench({"--benchmark_filter=^io/processes/workers:2/mode:buffered/payload:local",
                      "--io_dir=" + io_dir.string(), "--io_bytes=1000000", "--tasks=1000000"},
                     dir.path());
    const auto workers = bench.WaitForChildren(2);
    EXPECT_FALSE(fs::is_empty(io_dir)) << "the private temp dir exists while it runs";
    for (pid_t pid : workers) {
      // Once the worker is up (it may still be starting), it ignores the signal.
      for (int i = 0; i < 3000 && !Ignores(pid, sig); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      EXPECT_TRUE(Ignores(pid, sig)) << name << ": worker " << pid;
      ::kill(pid, sig);
    }
    EXPECT_EQ(bench.Signal(sig), status) << name;
    for (pid_t pid : workers) EXPECT_TRUE(Gone(pid)) << name << ": worker " << pid << " survived";
    EXPECT_TRUE(fs::is_empty(io_dir)) << name << ": the temp dir was removed";
    const std::string err = Slurp(dir.path() / "stderr.txt");
    EXPECT_NE(err.find(std::string("interrupted by ") + name +
                       ": stopped 2 worker process(es), "
                       "removed 1 temp dir(s)"),
              std::string::npos)
        << err;
    const std::string out = Slurp(dir.path() / "stdout.txt");
    EXPECT_EQ(out.find("was killed by signal"), std::string::npos)
        << "no worker died of it: " << out;
  }
}

// Runs bench as testing::LimitedUserForThisProcess() with room for `spare` threads or processes
// besides its main thread (RLIMIT_NPROC), its output going to files in `dir`. Its environment
// carries `mark`, so that anything it leaves running can be found (see Marked()).
Outcome RunBenchLimited(const std::vector<std::string>& args, const fs::path& dir, int spare,
                        const std::string& mark) {
  const testing::LimitedUser user = testing::LimitedUserForThisProcess();
  // The child counts once it is that user (or once forked, as this user).
  const auto limit = static_cast<rlim_t>(testing::TaskCountOf(user.uid) + 1 + spare);
  // Another user may not reach the build tree (root's home is mode 700): run a staged copy.
  const testing::StagedCopy staged(testing::BenchAndModules(PARBENCH_BENCH_EXE));
  if (!staged.ok()) return {.exit_status = -2, .out = "", .err = staged.error()};
  const std::string exe = staged.Path("bench");
  const std::string cwd = staged.dir().string();
  // Everything the child needs is built before fork(): after it, only system calls.
  std::vector<std::string> all = {exe};
  all.insert(all.end(), args.begin(), args.end());
  all.insert(all.end(), {"--benchmark_repetitions=1", "--benchmark_out="});
  std::vector<char*> argv;
  for (auto& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_strings = {mark + "=1"};
  for (char** e = environ; *e != nullptr; ++e) env_strings.emplace_back(*e);
  std::vector<char*> envp;
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  const std::string out_path = (dir / "stdout.txt").string();
  const std::string err_path = (dir / "stderr.txt").string();
  const rlimit nproc{.rlim_cur = limit, .rlim_max = limit};

  const pid_t pid = ::fork();
  if (pid == 0) {
    const int in = ::open("/dev/null", O_RDONLY);
    const int out = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (in < 0 || out < 0 || err < 0 || ::dup2(in, 0) < 0 || ::dup2(out, 1) < 0 ||
        ::dup2(err, 2) < 0) {
      ::_exit(125);
    }
    if (user.switch_user &&
        (::setgroups(0, nullptr) != 0 || ::setresgid(user.gid, user.gid, user.gid) != 0 ||
         ::setresuid(user.uid, user.uid, user.uid) != 0)) {
      ::_exit(125);
    }
    if (::setrlimit(RLIMIT_NPROC, &nproc) != 0 || ::chdir(cwd.c_str()) != 0) ::_exit(125);
    ::execve(exe.c_str(), argv.data(), envp.data());
    // Why exec failed, on the stderr the test reads (strerrordesc_np: a static string, no
    // allocation after fork).
    const char* why = ::strerrordesc_np(errno);
    const std::string_view head = "execve(bench) failed: ";
    (void)!::write(2, head.data(), head.size());
    (void)!::write(2, why, std::strlen(why));
    ::_exit(127);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, Slurp(dir / "stdout.txt"),
          Slurp(dir / "stderr.txt")};
}

// The pids of running processes whose environment holds `mark`.
std::vector<pid_t> Marked(const std::string& mark) {
  std::vector<pid_t> out;
  for (const auto& entry : fs::directory_iterator("/proc")) {
    const std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream in(entry.path() / "environ", std::ios::binary);
    std::string env((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (env.find(mark + "=1") != std::string::npos) out.push_back(std::stoi(name));
  }
  return out;
}

TEST(SmokeTest, UnderAProcessLimitWhatCannotStartFailsItsBenchmarkAndBenchExitsOne) {
  // `ulimit -u` reached: no thread or process beyond the main thread (spare 0), or beyond the
  // interrupt handler's thread (spare 1). Before, std::thread's exception ended bench in
  // std::terminate (exit 134, a core dump).
  testing::Watchdog watchdog(std::chrono::seconds(120));
  for (int spare : {0, 1}) {
    TempDir dir;
    const std::string mark =
        "PARBENCH_LIMIT_TEST_" + std::to_string(::getpid()) + "_" + std::to_string(spare);
    const Outcome o = RunBenchLimited(
        {"--benchmark_filter=^(cpu/serial|cpu/threads/workers:2|cpu/processes/workers:2|"
         "api/serial)/",
         "--workers=2", "--cpu_n=1000", "--tasks=2", "--api_latency_ms=0",
         "--benchmark_min_time=0.01"},
        dir.path(), spare, mark);
    if (o.exit_status == -2) GTEST_SKIP() << "cannot stage bench for another user: " << o.err;
    EXPECT_EQ(o.exit_status, 1) << "spare " << spare << ": " << o.err << o.out;
    EXPECT_EQ(o.err.find("terminate"), std::string::npos) << o.err;
    const bool handler_started = o.err.find(
                                     "cannot start the thread that handles SIGINT, "
                                     "SIGTERM, SIGHUP and SIGQUIT") == std::string::npos;
    EXPECT_EQ(handler_started, spare == 1) << o.err;
    EXPECT_NE(o.err.find("the noise probe cannot start thread 1 of"), std::string::npos) << o.err;
    EXPECT_NE(o.err.find("benchmark(s) failed"), std::string::npos) << o.err;
    for (const char* error :
         {"threads: cannot start worker thread 1 of 2: Resource temporarily unavailable",
          "processes: cannot start worker", "api server: cannot start its I/O thread"}) {
      EXPECT_NE(o.out.find(error), std::string::npos) << error << " in\n" << o.out;
    }
    const std::size_t serial = o.out.find("cpu/serial ");
    ASSERT_NE(serial, std::string::npos) << o.out;
    const std::string serial_line = o.out.substr(serial, o.out.find('\n', serial) - serial);
    EXPECT_EQ(serial_line.find("ERROR"), std::string::npos) << "serial needs no thread: " << o.out;
    EXPECT_TRUE(Marked(mark).empty()) << "nothing of bench is left running";
  }
}

TEST(SmokeTest, AFullDiskFailsTheIoBenchmarkWithTheCauseAndLeavesNothing) {
  testing::TmpfsMount disk(512 * 1024);
  if (!disk.mounted()) GTEST_SKIP() << "cannot make a small file system here: " << disk.error();
  TempDir dir;
  const fs::path run = dir.path() / "run.json";
  const Outcome o = RunBench(
      "--benchmark_filter=^io/processes/workers:1/mode:buffered/payload:shipped "
      "--io_dir=" +
          disk.path() +
          " --io_bytes=1000000 --tasks=2 "
          "--benchmark_out_format=json --benchmark_out=" +
          run.string(),
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
  const Outcome o = RunBench(
      "--benchmark_filter='^api/(threads|async)/workers:(2|8)/' --tasks=16 "
      "--workers=2,8 --api_latency_ms=5 --benchmark_min_time=0.01 "
      "--benchmark_out_format=json --benchmark_out=" +
          run.string(),
      dir.path());
  EXPECT_EQ(o.exit_status, 0) << o.err;
  std::set<std::string> names;
  const json result = ReadJson(run);
  for (const json& b : result.at("benchmarks")) {
    names.insert(b.at("name").get<std::string>());
    EXPECT_FALSE(b.contains("error_message"))
        << b.at("name") << ": " << b.value("error_message", "");
    for (const char* counter : {"cpu_per_request_us", "client_cpu_per_request_us",
                                "server_cpu_per_request_us", "ideal_fraction"}) {
      EXPECT_TRUE(b.contains(counter)) << b.at("name") << " has no " << counter;
    }
    // The client's figure is the one users know as cpu_per_request_us, under a clearer name.
    EXPECT_EQ(b.value("client_cpu_per_request_us", -1.0), b.value("cpu_per_request_us", -2.0))
        << b.at("name");
  }
  EXPECT_TRUE(names.contains("api/async/workers:8/real_time"));
  EXPECT_TRUE(names.contains("api/threads/workers:8/real_time"));
}

// io under the event loop runs through io_uring or fails with the reason io_uring is refused:
// never quietly on threads.
TEST(SmokeTest, IoUnderTheEventLoopRunsOrSaysWhyNot) {
  TempDir dir;
  const fs::path run = dir.path() / "run.json";
  const Outcome o = RunBench(
      "--benchmark_filter=^io/async/workers:4/mode:durable/payload:local "
      "--workers=4 --io_bytes=100000 --tasks=8 --benchmark_min_time=0.01 "
      "--benchmark_out_format=json --benchmark_out=" +
          run.string(),
      dir.path());
  const json b = ReadJson(run).at("benchmarks").at(0);
  if (b.contains("error_message")) {
    EXPECT_EQ(o.exit_status, 1);
    EXPECT_NE(b.at("error_message").get<std::string>().find("io_uring is not available here"),
              std::string::npos)
        << b.at("error_message");
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
  const Outcome o =
      RunBench("--benchmark_filter=no_such_benchmark --benchmark_out=" + run.string(), dir.path());
  EXPECT_EQ(o.exit_status, 2) << o.err;
  EXPECT_NE(o.err.find("bench: no benchmark matched --benchmark_filter"), std::string::npos)
      << o.err;
  EXPECT_FALSE(fs::exists(run)) << "no empty results file for a CI gate to read as a pass";
}

// A bare run: the quick profile, its settings and what it left out in the context, a results
// file in the current directory, and a console that fits 120 columns and ends with the
// summary and the tools' command.
TEST(SmokeTest, ABareRunIsQuickRecordsItsProfileAndLeavesResultsTheToolsRead) {
  TempDir dir;
  const std::string command = "cd " + dir.path().string() + " && " + PARBENCH_BENCH_EXE +
                              " --benchmark_filter=^cpu/ --cpu_n=1000 --tasks=2 "
                              "--executors=serial,threads >stdout.txt 2>stderr.txt </dev/null";
  ASSERT_EQ(std::system(command.c_str()), 0);
  const json result = ReadJson(dir.path() / "parbench-run.json");
  EXPECT_TRUE(fs::exists(dir.path() / "parbench-run.trace.json"));
  const json& context = result.at("context");
  EXPECT_EQ(context.at("parbench_profile"), "quick");
  EXPECT_EQ(context.at("parbench_benchmark_repetitions"), "3");
  EXPECT_EQ(context.at("parbench_benchmark_min_time"), "0.05");
  const json left = json::parse(context.at("parbench_profile_left_out").get<std::string>());
  EXPECT_EQ(left.at("profile"), "quick");
  if (context.at("parbench_usable_cpus") == "2") {
    EXPECT_EQ(left.at("workers_left_out"), json({4, 8}));
  }
  EXPECT_TRUE(left.at("axes_left_out").empty()) << "cpu has no axis quick thins: " << left;
  std::map<std::string, int> repetitions;
  for (const json& b : result.at("benchmarks")) {
    if (b.at("run_type") == "iteration") ++repetitions[b.at("run_name").get<std::string>()];
  }
  for (const auto& [name, count] : repetitions) EXPECT_EQ(count, 3) << name;

  std::ifstream in(dir.path() / "stdout.txt");
  const std::string console((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(console.find("profile quick: 3 repetitions"), std::string::npos) << console;
  EXPECT_EQ(console.find("parbench_manifest"), std::string::npos) << "the manifest is JSON only";
  EXPECT_NE(console.find("\n  cpu: at "), std::string::npos) << "a summary line for cpu";
  EXPECT_NE(console.find(" speedup parbench-run.json --format text"), std::string::npos) << console;
  std::istringstream lines(console);
  for (std::string line; std::getline(lines, line);) {
    std::size_t columns = 0;  // UTF-8: count the first byte of each character
    for (const char c : line) columns += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
    EXPECT_LE(columns, 120U) << line;
  }
}

TEST(SmokeTest, OneUsableCpuUnderTasksetSetsTheDefaultsAndTheContext) {
  if (std::system("command -v taskset >/dev/null") != 0) GTEST_SKIP() << "no taskset here";
  TempDir dir;
  const fs::path run = dir.path() / "run.json";
  const std::string args =
      "--benchmark_filter=^cpu/threads --cpu_n=1000 --tasks=2 "
      "--benchmark_min_time=0.01 --benchmark_out=" +
      run.string();
  const std::string command = "taskset -c 0 " + std::string(PARBENCH_BENCH_EXE) + " " + args +
                              " >/dev/null 2>&1 </dev/null";
  ASSERT_EQ(std::system(command.c_str()), 0);
  const json result = ReadJson(run);
  const json& context = result.at("context");
  EXPECT_EQ(context.at("parbench_usable_cpus"), "1");
  EXPECT_EQ(context.at("parbench_affinity_cpus"), "0");
  EXPECT_EQ(context.at("parbench_workers"), "1") << "quick: 1 and the usable count (1)";
  const std::string full = "taskset -c 0 " + std::string(PARBENCH_BENCH_EXE) + " " + args +
                           " --profile=full --benchmark_repetitions=1 >/dev/null 2>&1 </dev/null";
  ASSERT_EQ(std::system(full.c_str()), 0);
  EXPECT_EQ(ReadJson(run).at("context").at("parbench_workers"), "1,2,4,8")
      << "full: 1,2,4,8 and the usable count (1)";
  EXPECT_TRUE(context.contains("parbench_noise_efficiency_end"));
  for (const json& b : result.at("benchmarks")) {
    for (const char* counter : {"interference_cpu_frac", "steal_frac", "tree_cpu_ms",
                                "cpu_efficiency", "involuntary_switches"}) {
      EXPECT_TRUE(b.contains(counter)) << b.at("name") << " lacks " << counter;
    }
  }
}

// With repetitions Google Benchmark writes NaN (the cv of a constant counter), which is not
// JSON: adding the end-of-run noise probe must not need to parse the file.
TEST(SmokeTest, TheEndProbeIsAddedToResultsWithRepetitions) {
  TempDir dir;
  const fs::path run = dir.path() / "run.json";
  const Outcome o = RunBench(
      "--benchmark_filter=^cpu/serial --cpu_n=1000 --tasks=2 "
      "--benchmark_repetitions=2 --benchmark_min_time=0.01 "
      "--benchmark_out=" +
          run.string(),
      dir.path());
  ASSERT_EQ(o.exit_status, 0) << o.err;
  std::ifstream in(run);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("\"parbench_noise_efficiency_end\": \""), std::string::npos);
  EXPECT_NE(text.find("\"aggregate_name\": \"cv\""), std::string::npos);
}

TEST(SmokeTest, AnUnusableOrClashingTimelineIsABadFlagBeforeAnythingRuns) {
  TempDir dir;
  const fs::path run = dir.path() / "run.json";
  struct Case {
    std::string args;
    std::string says;
  };
  for (const Case& c : std::vector<Case>{
           {"--timeline_out=/proc/x", "--timeline_out='/proc/x' is invalid: cannot be written: "},
           {"--benchmark_out=" + run.string() + " --timeline_out=" + run.string(),
            "whose results the trace would replace"},
           {"--benchmark_out=" + (dir.path() / "no/such/dir/run.json").string(),
            "the trace next to it"}}) {
    const Outcome o = RunBench("--benchmark_filter=^cpu/serial " + c.args, dir.path());
    EXPECT_EQ(o.exit_status, 2) << c.args << ": " << o.err;
    EXPECT_NE(o.err.find(c.says), std::string::npos) << c.args << ": " << o.err;
    EXPECT_EQ(o.out.find("cpu/serial"), std::string::npos) << "nothing ran: " << o.out;
  }
  EXPECT_FALSE(fs::exists(run)) << "the results file was not touched";
}

TEST(SmokeTest, AnIoDirNamedWithTheConfigSeparatorsWorks) {
  TempDir dir;
  const fs::path io_dir = dir.path() / "io;x=1%";
  fs::create_directory(io_dir);
  // Quoted for the shell RunBench goes through.
  const Outcome o = RunBench(
      "--benchmark_filter=^io/processes/workers:1/mode:buffered/ "
      "'--io_dir=" +
          io_dir.string() +
          "' --io_bytes=1000 --tasks=2 "
          "--workers=1 --benchmark_min_time=0.01",
      dir.path());
  EXPECT_EQ(o.exit_status, 0) << o.err << o.out;
  EXPECT_NE(o.out.find("payload:shipped"), std::string::npos) << o.out;
  EXPECT_EQ(o.out.find("ERROR"), std::string::npos) << o.out;
  EXPECT_TRUE(fs::is_empty(io_dir)) << "the private temp dir is gone";
}

TEST(SmokeTest, BenchRaisesItsSoftDescriptorLimitAndSaysSoInTheContext) {
  rlimit limit{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &limit), 0);
  if (limit.rlim_max != RLIM_INFINITY && limit.rlim_max <= 256) {
    GTEST_SKIP() << "the hard limit (" << limit.rlim_max << ") leaves nothing to raise";
  }
  TempDir dir;
  const fs::path run = dir.path() / "run.json";
  Outcome o;
  {
    const testing::ScopedDescriptorLimit low(256);  // bench inherits it
    o = RunBench(
        "--benchmark_filter=^cpu/serial --cpu_n=1000 --tasks=2 "
        "--benchmark_min_time=0.01 --benchmark_out_format=json --benchmark_out=" +
            run.string(),
        dir.path());
  }
  ASSERT_EQ(o.exit_status, 0) << o.err;
  const std::string described = ReadJson(run).at("context").value("parbench_descriptor_limit", "");
  EXPECT_NE(described.find("(raised from 256, the hard limit)"), std::string::npos) << described;
}

TEST(SmokeTest, ACopiedBenchWithoutItsModulesFailsOnlyTheBenchmarksThatNeedThem) {
  // Before, main() loaded libcurl whatever ran, and a compiled-in path to the build tree hid a
  // missing module as long as that tree existed.
  TempDir dir;
  const fs::path bench = dir.path() / "bench";
  fs::copy_file(PARBENCH_BENCH_EXE, bench);
  const fs::path run = dir.path() / "run.json";
  const Outcome cpu = RunProgram(bench.string(),
                                 "--benchmark_filter=^cpu/ --cpu_n=1000 --tasks=2 --workers=2 "
                                 "--benchmark_min_time=0.01 --benchmark_out_format=json "
                                 "--benchmark_out=" +
                                     run.string(),
                                 dir.path());
  EXPECT_EQ(cpu.exit_status, 0) << cpu.err << cpu.out;
  EXPECT_EQ(cpu.out.find("ERROR"), std::string::npos) << cpu.out;
  const json context = ReadJson(run).at("context");
  EXPECT_NE(context.value("parbench_libcurl_version", "")
                .find("unavailable: cannot load "
                      "libparbench_curl.so"),
            std::string::npos)
      << context.dump();

  const Outcome mixed =
      RunProgram(bench.string(),
                 "'--benchmark_filter=^(cpu/serial|api/serial|api/processes/workers:1|"
                 "dot/serial/blas_threads:1)/' --cpu_n=1000 --tasks=2 --workers=1 --dot_n=16 "
                 "--api_latency_ms=0 --benchmark_min_time=0.01 --benchmark_out_format=json "
                 "--benchmark_out=" +
                     run.string(),
                 dir.path());
  EXPECT_EQ(mixed.exit_status, 1) << mixed.err << mixed.out;
  std::map<std::string, std::string> errors;
  const json result = ReadJson(run);
  for (const json& b : result.at("benchmarks")) {
    errors[b.at("run_name").get<std::string>()] = b.value("error_message", "");
  }
  EXPECT_EQ(errors.at("cpu/serial/real_time"), "");
  for (const auto& [name, module] :
       {std::pair{"api/serial/real_time", "libparbench_curl.so"},
        std::pair{"api/processes/workers:1/real_time", "libparbench_curl.so"},
        std::pair{"dot/serial/blas_threads:1/real_time", "libparbench_blas.so"}}) {
    const std::string& error = errors.at(name);
    EXPECT_NE(
        error.find(std::string("cannot load ") + module + ": it is not in " + dir.path().string()),
        std::string::npos)
        << name << ": " << error;
  }
}

TEST(SmokeTest, ApiReportsBytesPerRequestAndPeakMemoryAndRefusesAnUnreadableCa) {
  TempDir dir;
  const Outcome bad =
      RunBench("--benchmark_filter=^api/serial --api_ca=/no/such/ca.pem", dir.path());
  EXPECT_EQ(bad.exit_status, 2) << bad.err;
  EXPECT_NE(bad.err.find("--api_ca='/no/such/ca.pem' is invalid: allowed is a readable file"),
            std::string::npos)
      << bad.err;
  EXPECT_EQ(
      RunBench("--benchmark_filter=^api/serial --api_expect_bytes=-2", dir.path()).exit_status, 2);

  const fs::path run = dir.path() / "run.json";
  const Outcome o = RunBench(
      "'--benchmark_filter=^api/(serial|processes/workers:1)/' --tasks=2 "
      "--workers=1 --api_bytes=1000 --api_latency_ms=0 "
      "--benchmark_min_time=0.01 --benchmark_out=" +
          run.string(),
      dir.path());
  ASSERT_EQ(o.exit_status, 0) << o.err;
  const json result = ReadJson(run);  // kept: a range-for over a temporary's member dangles
  for (const json& b : result.at("benchmarks")) {
    EXPECT_EQ(b.at("bytes_per_request").get<double>(), 1000.0) << b.at("name");
    EXPECT_GT(b.at("peak_rss_parent_bytes").get<double>(), 0) << b.at("name");
    const bool processes = b.at("name").get<std::string>().find("/processes/") != std::string::npos;
    EXPECT_EQ(b.contains("peak_rss_worker_bytes"), processes) << b.at("name");
  }
}

TEST(SmokeTest, HelpListsSuiteAndGoogleBenchmarkFlags) {
  TempDir dir;
  const Outcome o = RunBench("--help", dir.path());
  EXPECT_EQ(o.exit_status, 0);
  EXPECT_NE(o.out.find("--workers"), std::string::npos);
  EXPECT_NE(o.out.find("benchmark_filter"), std::string::npos);
}

// Your own work: a Python function and a native plugin, under every kind of executor, named as
// docs/your-own-work.md says.
TEST(SmokeTest, APythonFunctionAndAPluginRunUnderEveryExecutor) {
  TempDir dir;
  const fs::path run = dir.path() / "run.json";
  const Outcome o =
      RunBench(std::string("--benchmark_filter='^(py|plugin)/' ") +
                   "--executors=serial,threads,processes --workers=2 --tasks=4 "
                   "--py_task=parbench_test_tasks:work --py_payload_bytes=16 "
                   "--py_path=" PARBENCH_TEST_PY_DIR " --plugin=" PARBENCH_EXAMPLE_PLUGIN
                   " --benchmark_min_time=0.01 --benchmark_out_format=json "
                   "--benchmark_out=" +
                   run.string(),
               dir.path());
  ASSERT_EQ(o.exit_status, 0) << o.err;
  std::set<std::string> names;
  const json result = ReadJson(run);  // kept: a range-for would outlive a temporary
  for (const json& b : result.at("benchmarks")) {
    EXPECT_FALSE(b.value("error_occurred", false)) << b.dump();
    names.insert(b.at("run_name").get<std::string>());
  }
  EXPECT_EQ(names, (std::set<std::string>{"plugin/processes/workers:2/name:example/real_time",
                                          "plugin/serial/name:example/real_time",
                                          "plugin/threads/workers:2/name:example/real_time",
                                          "py/processes/workers:2/real_time", "py/serial/real_time",
                                          "py/threads/workers:2/real_time"}));
}

// A module that does not import, a missing function, a plugin of another ABI version or a
// library that is no plugin: one line, status 2, before anything runs.
TEST(SmokeTest, ABadPythonTaskOrPluginFailsWithOneLineAndStatusTwo) {
  TempDir dir;
  const std::string py = " --py_path=" PARBENCH_TEST_PY_DIR;
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"--py_task=parbench_no_such_module:f" + py, "ModuleNotFoundError: No module named"},
      {"--py_task=parbench_broken_module:f" + py, "RuntimeError: this module refuses to import"},
      {"--py_task=parbench_test_tasks:missing" + py, "AttributeError"},
      {"--py_task=no_colon" + py, "is not MODULE:FUNCTION"},
      {"--py_path=" PARBENCH_TEST_PY_DIR, "need --py_task"},
      {"--plugin=" PARBENCH_WRONG_ABI_PLUGIN, "has plugin ABI version 99"},
      {"--plugin=" PARBENCH_NOT_A_PLUGIN, "is not a parbench plugin: it exports no"},
      {"--plugin=" PARBENCH_SOURCE_DIR "/README.md", "is not a parbench plugin: cannot load it"},
  };
  for (const auto& [args, says] : cases) {
    const Outcome o = RunBench(args, dir.path());
    EXPECT_EQ(o.exit_status, 2) << args;
    EXPECT_EQ(std::count(o.err.begin(), o.err.end(), '\n'), 1) << args << ": " << o.err;
    EXPECT_NE(o.err.find(says), std::string::npos) << args << ": " << o.err;
    EXPECT_TRUE(o.out.empty()) << args << ": nothing may run";
  }
}

// A task that raises, or returns what is not an int, bytes or None, ends its benchmark with
// the exception's type and message; bench exits 1 and leaves no worker behind.
TEST(SmokeTest, ARaisingPythonTaskFailsItsBenchmarksAndBenchExitsOne) {
  TempDir dir;
  for (const auto& [function, says] : std::vector<std::pair<std::string, std::string>>{
           {"boom", "task 1: parbench_test_tasks:boom raised: ValueError: boom on task 1"},
           {"wrong_type", "returned float; it must return an int, bytes or None"}}) {
    const fs::path run = dir.path() / "run.json";
    const Outcome o = RunBench(
        "--benchmark_filter=^py/ --executors=serial,threads,processes "
        "--workers=2 --tasks=3 --py_path=" PARBENCH_TEST_PY_DIR " --py_task=parbench_test_tasks:" +
            function +
            " --benchmark_min_time=0.01 --benchmark_out_format=json "
            "--benchmark_out=" +
            run.string(),
        dir.path());
    EXPECT_EQ(o.exit_status, 1) << function << ": " << o.err;
    int failed = 0;
    const json result = ReadJson(run);  // kept: a range-for would outlive a temporary
    for (const json& b : result.at("benchmarks")) {
      ASSERT_TRUE(b.value("error_occurred", false)) << b.dump();
      EXPECT_NE(b.at("error_message").get<std::string>().find(says), std::string::npos) << b.dump();
      ++failed;
    }
    EXPECT_EQ(failed, 3) << function;
  }
  EXPECT_TRUE(testing::ChildPids().empty());
}

}  // namespace
// Without mpirun, bench has no mpi benchmark and never loads Open MPI (nor its own MPI module):
// the dynamic loader's trace of a whole run mentions neither.
TEST(SmokeTest, WithoutMpirunThereIsNoMpiBenchmarkAndMpiIsNeverLoaded) {
  TempDir dir;
  const Outcome list = RunProgram("env -u OMPI_COMM_WORLD_SIZE " PARBENCH_BENCH_EXE,
                                  "--benchmark_list_tests", dir.path());
  ASSERT_EQ(list.exit_status, 0) << list.err;
  EXPECT_NE(list.out.find("roundtrip/raw_pipe"), std::string::npos);
  EXPECT_EQ(list.out.find("/mpi"), std::string::npos);
  EXPECT_EQ(list.out.find("raw_mpi"), std::string::npos);
  const Outcome run =
      RunProgram("env -u OMPI_COMM_WORLD_SIZE LD_DEBUG=files " PARBENCH_BENCH_EXE,
                 "--benchmark_filter=^roundtrip/serial --benchmark_min_time=0.01", dir.path());
  ASSERT_EQ(run.exit_status, 0) << run.err;
  EXPECT_NE(run.err.find("libbenchmark"), std::string::npos) << "LD_DEBUG traced nothing";
  EXPECT_EQ(run.err.find("libmpi"), std::string::npos);
  EXPECT_EQ(run.err.find("libparbench_mpi"), std::string::npos);
  // Asking for it by name says it cannot run here.
  const Outcome asked = RunProgram("env -u OMPI_COMM_WORLD_SIZE " PARBENCH_BENCH_EXE,
                                   "--executors=serial,mpi --benchmark_list_tests", dir.path());
  EXPECT_EQ(asked.exit_status, 2);
  EXPECT_NE(asked.err.find("--executors: 'mpi' is invalid"), std::string::npos) << asked.err;
}

// Under mpirun (3 ranks on this host): the mpi benchmarks and their raw references run, the
// context names every rank with its machine, and the trace's worker lanes name host and rank.
TEST(SmokeTest, UnderMpirunTheMpiBenchmarksRunAndEveryRankIsInTheContextAndTrace) {
  const std::string mpirun = PARBENCH_MPIEXEC;
  if (mpirun.empty()) GTEST_SKIP() << "mpirun not found (the mpi.* ctest entries say so too)";
  TempDir dir;
  const fs::path run = dir.path() / "run.json";
  // Open MPI leaks at MPI_Finalize from components it unloads (see tests/CMakeLists.txt).
#if defined(__SANITIZE_ADDRESS__)
  const std::string leaks = "ASAN_OPTIONS=detect_leaks=0 ";
#else
  const std::string leaks;
#endif
  const Outcome o = RunProgram(
      "env OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_btl=self,vader "
      "OMPI_MCA_oob_tcp_if_include=lo " +
          leaks + mpirun + " --oversubscribe --bind-to none -n 3 " PARBENCH_BENCH_EXE,
      "--benchmark_filter='^(roundtrip|transfer)/(mpi|raw_mpi)' --workers=1,2,4 "
      "--transfer_sizes=4096 --transfer_tasks=2 --benchmark_min_time=0.01 "
      "--benchmark_out=" +
          run.string(),
      dir.path());
  ASSERT_EQ(o.exit_status, 0) << o.err;
  const json result = ReadJson(run);
  std::set<std::string> names;
  for (const json& b : result.at("benchmarks")) {
    names.insert(b.at("name").get<std::string>());
    EXPECT_FALSE(b.contains("error_message")) << b.at("name") << ": " << b.at("error_message");
  }
  for (const char* name :
       {"roundtrip/mpi/workers:1/real_time", "roundtrip/mpi/workers:2/real_time",
        "roundtrip/raw_mpi/real_time", "transfer/mpi/workers:2/size:4KiB/real_time",
        "transfer/raw_mpi/size:4KiB/real_time"}) {
    EXPECT_TRUE(names.contains(name)) << name;
  }
  EXPECT_FALSE(names.contains("roundtrip/mpi/workers:4/real_time")) << "only 2 worker ranks";
  const json mpi = json::parse(result.at("context").at("parbench_mpi").get<std::string>());
  ASSERT_EQ(mpi.at("ranks").size(), 3U);
  for (const json& r : mpi.at("ranks")) {
    EXPECT_EQ(r.at("host"), 0) << "one host";
    EXPECT_FALSE(r.at("machine").at("cpu_model").get<std::string>().empty());
    EXPECT_GE(r.at("machine").at("usable_cpus").get<int>(), 1);
  }
  const json trace = ReadJson(dir.path() / "run.trace.json");
  EXPECT_EQ(trace.at("otherData").at("hosts"), mpi.at("hosts"));
  bool ranked_lane = false;
  for (const json& e : trace.at("traceEvents")) {
    if (e.at("name") == "thread_name" && e.at("args").at("name").get<std::string>().find(
                                             " rank 2 (worker 1)") != std::string::npos) {
      ranked_lane = true;
    }
  }
  EXPECT_TRUE(ranked_lane) << "a lane named by host and rank";
}

// Ctrl-C of mpirun stops every rank, and rank 0's process-pool workers with them: nothing that
// carries the job's environment is left.
TEST(SmokeTest, SigintToMpirunStopsEveryRank) {
  const std::string mpirun = PARBENCH_MPIEXEC;
  if (mpirun.empty()) GTEST_SKIP() << "mpirun not found (the mpi.* ctest entries say so too)";
  testing::Watchdog watchdog(std::chrono::seconds(120));
  TempDir dir;
  const std::string mark = "PARBENCH_MPI_SIGINT_" + std::to_string(::getpid());
  std::vector<std::string> env = {mark + "=1", "OMPI_ALLOW_RUN_AS_ROOT=1",
                                  "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1", "OMPI_MCA_btl=self,vader",
                                  "OMPI_MCA_oob_tcp_if_include=lo"};
#if defined(__SANITIZE_ADDRESS__)
  env.emplace_back("ASAN_OPTIONS=detect_leaks=0");  // see tests/CMakeLists.txt
#endif
  for (char** e = environ; *e != nullptr; ++e) env.emplace_back(*e);
  std::vector<std::string> args = {
      mpirun, "--oversubscribe", "--bind-to", "none", "-n", "3", PARBENCH_BENCH_EXE,
      // a process pool on rank 0 and long tasks on the ranks
      "--benchmark_filter=^cpu/(processes|mpi)/workers:2/", "--executors=serial,processes,mpi",
      "--workers=2", "--cpu_n=100000000000", "--tasks=4"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, (dir.path() / "stdout.txt").c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&actions, 2, (dir.path() / "stderr.txt").c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0600);
  pid_t pid = -1;
  ASSERT_EQ(::posix_spawn(&pid, mpirun.c_str(), &actions, nullptr, argv.data(), envp.data()), 0);
  posix_spawn_file_actions_destroy(&actions);
  // mpirun and three ranks; then rank 0 is into its first benchmark (the process pool's).
  for (int i = 0; i < 600 && Marked(mark).size() < 4; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_GE(Marked(mark).size(), 4U) << Slurp(dir.path() / "stderr.txt");
  std::this_thread::sleep_for(std::chrono::seconds(2));
  std::vector<pid_t> children;  // what the job's processes started (rank 0's process pool)
  for (pid_t p : Marked(mark)) {
    for (pid_t child : testing::ChildrenOf(p)) children.push_back(child);
  }
  ::kill(pid, SIGINT);
  int status = 0;
  ::waitpid(pid, &status, 0);
  std::vector<pid_t> left = Marked(mark);
  for (int i = 0; i < 100 && !left.empty(); ++i) {  // orphans are reaped by init a moment later
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    left = Marked(mark);
  }
  EXPECT_TRUE(left.empty()) << left.size() << " process(es) of the job left running";
  for (pid_t child : children) {  // a zombie is reaped by init a moment later
    for (int i = 0; i < 100 && !Gone(child); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    EXPECT_TRUE(Gone(child)) << "child " << child << " survived";
  }
}

}  // namespace parbench
