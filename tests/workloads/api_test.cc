// The api workload and its loopback server: latency, payload, error statuses, transport errors,
// and hundreds of requests in flight at once.
#include "workloads/api.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <thread>
#include <vector>

#include "common/temp_dir.h"
#include "common/unique_fd.h"
#include "harness/api_server.h"
#include "tests/support.h"

extern char** environ;

namespace parbench::api {
namespace {

// GETs `url` with a fresh curl handle; returns the body and sets *status.
std::string Fetch(const std::string& url, long* status) {
  GlobalInit();
  CURL* easy = curl_easy_init();
  std::string body;
  curl_easy_setopt(easy, CURLOPT_URL, url.c_str());
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_PROXY, "");
  curl_easy_setopt(
      easy, CURLOPT_WRITEFUNCTION, +[](char* data, std::size_t size, std::size_t n, void* out) {
        static_cast<std::string*>(out)->append(data, size * n);
        return size * n;
      });
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, 30'000L);  // a broken server fails, not hangs
  EXPECT_EQ(curl_easy_perform(easy), CURLE_OK);
  curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, status);
  curl_easy_cleanup(easy);
  return body;
}

// The message of the WorkloadError a runner throws for `url`; "" if it does not throw. Under a
// watchdog, and checking that the runner leaves no socket behind (its connection closed). Only
// sockets are counted: the server keeps each body it has built in a memory file.
std::string ErrorFor(const std::string& url, std::int64_t expect_bytes, std::int64_t timeout_ms) {
  testing::Watchdog watchdog(std::chrono::seconds(60));
  (void)MakeRunner("api", MakeConfig(url, -1, 1000));  // load libcurl before counting
  const int sockets_before = testing::OpenSocketCount();
  std::string message;
  {
    auto runner = MakeRunner("api", MakeConfig(url, expect_bytes, timeout_ms));
    try {
      (void)runner->Run(0, {});
    } catch (const WorkloadError& e) {
      message = e.what();
    }
  }
  // The in-process server closes its end of the connection asynchronously: give it a moment.
  for (int i = 0; i < 1000 && testing::OpenSocketCount() != sockets_before; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(testing::OpenSocketCount(), sockets_before) << "a connection outlived the runner";
  return message;
}

TEST(ApiServerTest, SendsTheRequestedBodyAfterAtLeastTheRequestedLatency) {
  Server server;
  long status = 0;
  const auto start = std::chrono::steady_clock::now();
  const std::string body = Fetch(server.Url(50, 1000), &status);
  const auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(status, 200);
  EXPECT_EQ(body, ApiBody(1000));
  // A lower bound only: the server must not answer before its timer (no speed is asserted).
  EXPECT_GE(waited, std::chrono::milliseconds(50));
}

TEST(ApiServerTest, SendsABodyLargerThanTheSocketBuffersWhole) {
  // 32 MiB cannot fit in the socket buffers (at most 4 MiB here): the server must wait for
  // room and resume where it stopped.
  Server server;
  long status = 0;
  const std::string body = Fetch(server.Url(0, std::int64_t{32} << 20), &status);
  EXPECT_EQ(status, 200);
  EXPECT_EQ(body.size(), std::size_t{32} << 20);
  EXPECT_TRUE(body == ApiBody(std::int64_t{32} << 20)) << "the bytes differ";
}

TEST(ApiServerTest, SurvivesAClientThatHangsUpMidBody) {
  // With SIGPIPE at its default, a write to a connection the peer has reset kills the process
  // unless the server keeps the signal away from itself.
  testing::Watchdog watchdog(std::chrono::seconds(60));
  struct sigaction old {};
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  ASSERT_EQ(::sigaction(SIGPIPE, &dfl, &old), 0);
  {
    Server server;
    for (int round = 0; round < 3; ++round) {
      const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
      ASSERT_GE(fd, 0);
      sockaddr_in addr{};
      addr.sin_family = AF_INET;
      addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      addr.sin_port = htons(server.port());
      ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
      const std::string get = "GET /?latency_ms=0&bytes=" + std::to_string(64 << 20) +
                              " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
      ASSERT_EQ(::write(fd, get.data(), get.size()), static_cast<ssize_t>(get.size()));
      char some[4096];
      ASSERT_GT(::read(fd, some, sizeof some), 0);      // the answer has started
      const linger reset{.l_onoff = 1, .l_linger = 0};  // close with RST, not FIN
      ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
      ::close(fd);
    }
    // Still serving: a normal request after the three hang-ups.
    long status = 0;
    EXPECT_EQ(Fetch(server.Url(0, 100), &status), ApiBody(100));
    EXPECT_EQ(status, 200);
  }
  ::sigaction(SIGPIPE, &old, nullptr);
}

TEST(ApiServerTest, SendsAnEmptyBody) {
  Server server;
  long status = 0;
  EXPECT_EQ(Fetch(server.Url(0, 0), &status), "");
  EXPECT_EQ(status, 200);
}

TEST(ApiServerTest, BodyIsPrintableLines) {
  const std::string body = ApiBody(130);
  ASSERT_EQ(body.size(), 130U);
  EXPECT_EQ(body[63], '\n');
  EXPECT_EQ(body[127], '\n');
  EXPECT_EQ(body.substr(0, 3), "abc");
  EXPECT_TRUE(ApiBody(0).empty());
}

TEST(ApiServerTest, RejectsBadParametersWith400) {
  Server server;
  long status = 0;
  (void)Fetch("http://127.0.0.1:" + std::to_string(server.port()) + "/?bytes=abc", &status);
  EXPECT_EQ(status, 400);
  (void)Fetch("http://127.0.0.1:" + std::to_string(server.port()) + "/?nonsense=1", &status);
  EXPECT_EQ(status, 400);
}

// A thousand requests in flight from one thread, held by the server's one I/O thread at the
// same moment (a connection each: 2048 descriptors in this process, past the common soft
// limit of 1024 that test_main raises as bench does).
TEST(ApiServerTest, HoldsAThousandTwentyFourRequestsInFlightAtOnce) {
  testing::Watchdog watchdog(std::chrono::seconds(120));
  constexpr std::uint32_t kInFlight = 1024;
  Server server;
  auto runner = kWorkload.make_async_runner(MakeConfig(server.Url(1000, 100), 100, 30'000));
  server.ResetMaxInFlight();
  for (std::uint32_t i = 0; i < kInFlight; ++i) runner->Start(i, {}, i);
  EXPECT_EQ(runner->in_flight(), kInFlight);
  std::vector<int> seen(kInFlight);
  std::uint64_t bytes = 0;
  while (runner->in_flight() > 0) {
    for (const Completion& c : runner->Poll(1000)) {
      EXPECT_EQ(c.error, "");
      ++seen.at(c.tag);
      bytes += c.output.value;
    }
  }
  EXPECT_EQ(std::count(seen.begin(), seen.end(), 1), static_cast<int>(kInFlight))
      << "every task completed once";
  EXPECT_EQ(bytes, kInFlight * 100);
  EXPECT_EQ(server.max_in_flight(), static_cast<int>(kInFlight))
      << "every request was waiting at the same moment";
  EXPECT_EQ(server.TakeAddedMs().size(), kInFlight) << "the delay of each answer is recorded";
}

TEST(ApiWorkloadTest, TheAsynchronousFormReusesItsConnections) {
  // 32 fill two of the runner's multi handles (16 handles each); 40 leave the third one partly
  // filled. Every connection stays with its multi handle's cache.
  for (const std::uint32_t in_flight : {32U, 40U}) {
    Server server;
    auto runner = kWorkload.make_async_runner(MakeConfig(server.Url(0, 100), 100, 5000));
    std::uint32_t completed = 0;
    for (int round = 0; round < 5; ++round) {
      for (std::uint32_t i = 0; i < in_flight; ++i) runner->Start(i, {}, i);
      while (runner->in_flight() > 0) {
        for (const Completion& c : runner->Poll(1000)) {
          EXPECT_EQ(c.error, "");
          EXPECT_EQ(c.output.value, 100U);
          ++completed;
        }
      }
    }
    EXPECT_EQ(completed, 5 * in_flight);
    EXPECT_EQ(server.requests(), 5 * in_flight);
    EXPECT_EQ(server.connections(), in_flight)
        << "one connection per request in flight, kept alive";
  }
}

TEST(ApiWorkloadTest, ATaskUrlReplacesTheJobsUrlForThatTaskOnly) {
  Server server;
  Config config = MakeConfig(server.Url(0, 10), 10, 5000);
  SetTaskUrl(config, 2, server.Url(0, 10, 404));
  auto runner = MakeRunner("api", config);
  EXPECT_EQ(runner->Run(0, {}).value, 10U);
  EXPECT_THROW((void)runner->Run(2, {}), WorkloadError);
  EXPECT_EQ(runner->Run(3, {}).value, 10U) << "the job's URL again after task 2";
  EXPECT_THROW(SetTaskUrl(config, 4, "http://x/a b"), WorkloadError);
}

// Reads from `fd` until end of file (or 30 s, a watchdog for a server that never answers).
std::string ReadToEnd(int fd) {
  std::string out;
  char buffer[4096];
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 30'000) <= 0) return out + "[no answer]";
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n <= 0) return out;
    out.append(buffer, static_cast<std::size_t>(n));
  }
}

TEST(ApiServerTest, KeepsAcceptingAfterRunningOutOfDescriptorsAndSaysWhyMeanwhile) {
  // One failed accept (EMFILE) used to end the server's accept loop: every later request of the
  // run timed out, with errors that blamed the network.
  if (const std::string why = testing::CannotRunOutOfDescriptors(); !why.empty()) {
    GTEST_SKIP() << why;
  }
  testing::Watchdog watchdog(std::chrono::seconds(90));
  Server server;
  const testing::ScopedDescriptorLimit limit(static_cast<std::uint64_t>(testing::OpenFdCount()) +
                                             64);
  // The client's socket is made before the table is full: connecting takes no descriptor.
  UniqueFd client(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  ASSERT_TRUE(client.valid());
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(server.port());
  {
    testing::DescriptorFiller filler;
    ASSERT_TRUE(filler.full());
    ASSERT_EQ(::connect(client.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    const std::string get = "GET /?latency_ms=0&bytes=10 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    ASSERT_EQ(::write(client.get(), get.data(), get.size()), static_cast<ssize_t>(get.size()));
    // No descriptor to accept it on: the server answers on the one it keeps in reserve.
    const std::string answer = ReadToEnd(client.get());
    EXPECT_EQ(answer.rfind("HTTP/1.1 503", 0), 0U) << answer;
    EXPECT_NE(answer.find("api server: out of file descriptors (accept: Too many open files"),
              std::string::npos)
        << answer;
    EXPECT_GE(server.accept_errors(), 1);
  }
  client.Reset();
  // Descriptors are back: the server accepts again, as often as asked.
  for (int i = 0; i < 3; ++i) {
    long status = 0;
    EXPECT_EQ(Fetch(server.Url(0, 100), &status), ApiBody(100));
    EXPECT_EQ(status, 200);
  }
}

TEST(ApiServerTest, AnIoThreadThatCannotStartIsAnErrorNotAnAbort) {
  // Run in a child as a user who can start no more threads.
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        if (const std::string why = testing::BecomeLimitedUser(0); !why.empty()) {
          std::fprintf(stderr, "setup failed: %s\n", why.c_str());
          std::_Exit(2);
        }
        try {
          Server server;
          std::fprintf(stderr, "the server started a thread where none could start\n");
          std::_Exit(1);
        } catch (const std::runtime_error& e) {
          std::fprintf(stderr, "%s\n", e.what());
          std::_Exit(0);
        }
      },
      ::testing::ExitedWithCode(0),
      "api server: cannot start its I/O thread: Resource temporarily unavailable");
}

TEST(ApiWorkloadTest, CountsTheBodyAndReusesItsConnection) {
  Server server;
  auto runner = MakeRunner("api", MakeConfig(server.Url(0, 4096), 4096, 5000));
  for (std::uint32_t i = 0; i < 5; ++i) EXPECT_EQ(runner->Run(i, {}).value, 4096U);
  EXPECT_EQ(server.requests(), 5);
  EXPECT_EQ(server.connections(), 1) << "keep-alive: one connection for every request";
}

TEST(ApiWorkloadTest, KeepsTheConnectionAfterBodiesLargerThanTheSocketBuffers) {
  Server server;
  constexpr std::int64_t kBytes = std::int64_t{8} << 20;
  auto runner = MakeRunner("api", MakeConfig(server.Url(0, kBytes), kBytes, 10'000));
  for (std::uint32_t i = 0; i < 3; ++i) {
    EXPECT_EQ(runner->Run(i, {}).value, static_cast<std::uint64_t>(kBytes));
  }
  EXPECT_EQ(server.connections(), 1);
}

TEST(ApiWorkloadTest, NonSuccessStatusesAreErrorsNamingTheStatus) {
  Server server;
  for (int status : {404, 500, 503}) {
    const std::string error = ErrorFor(server.Url(0, 10, status), 10, 5000);
    EXPECT_NE(error.find("HTTP " + std::to_string(status)), std::string::npos) << error;
  }
}

TEST(ApiWorkloadTest, AnErrorStatusQuotesThePlainTextBodyThatExplainsIt) {
  Server server;
  const std::string error = ErrorFor(server.Url(0, 10, 503), 10, 5000);
  EXPECT_NE(error.find("answered HTTP 503: status requested by the client"), std::string::npos)
      << error;
}

TEST(ApiWorkloadTest, AClientOutOfDescriptorsSaysSoInsteadOfBlamingTheNetwork) {
  // Before, curl's "Couldn't connect to server" (or "Out of memory") was all the error said.
  if (const std::string why = testing::CannotRunOutOfDescriptors(); !why.empty()) {
    GTEST_SKIP() << why;
  }
  testing::Watchdog watchdog(std::chrono::seconds(60));
  Server server;
  auto runner = MakeRunner("api", MakeConfig(server.Url(0, 10), 10, 5000));
  const testing::ScopedDescriptorLimit limit(static_cast<std::uint64_t>(testing::OpenFdCount()) +
                                             64);
  std::string error;
  {
    testing::DescriptorFiller filler;
    ASSERT_TRUE(filler.full());
    try {
      (void)runner->Run(0, {});
    } catch (const WorkloadError& e) {
      error = e.what();
    }
  }
  EXPECT_NE(error.find("file descriptors open (ulimit -n): it is out of descriptors"),
            std::string::npos)
      << error;
  EXPECT_EQ(runner->Run(1, {}).value, 10U) << "fine again once descriptors are back";
}

// An https endpoint with a private CA, as a user's own server may be: a CA made for the test,
// a certificate it signed for 127.0.0.1, and `openssl s_server -WWW` serving the files of a temp
// dir. Everything is stopped and removed on destruction; error() says why it could not start.
class HttpsServer {
 public:
  HttpsServer() : dir_(std::filesystem::temp_directory_path().string()) {
    const std::string d = dir_.path();
    const std::string key = " -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
    const std::string commands =
        "cd '" + d + "' && openssl req -x509" + key + " -keyout ca.key -out ca.pem -days 2 " +
        "-subj /CN=parbench-test-ca -addext basicConstraints=critical,CA:TRUE " +
        "-addext keyUsage=critical,keyCertSign && openssl req" + key +
        " -keyout server.key -out server.csr -subj /CN=127.0.0.1 && " +
        "printf 'subjectAltName=IP:127.0.0.1\\n' >san.ext && openssl x509 -req -in server.csr " +
        "-CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2 -extfile san.ext";
    if (std::system((commands + " >openssl.log 2>&1").c_str()) != 0) {
      error_ = "openssl could not make a CA and a certificate (is it installed?)";
      return;
    }
    port_ = FreePort();
    const std::string accept = "127.0.0.1:" + std::to_string(port_);
    std::vector<std::string> args = {"openssl",    "s_server", "-accept",    accept, "-cert",
                                     "server.pem", "-key",     "server.key", "-WWW", "-quiet"};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addchdir_np(&actions, d.c_str());  // it serves its working dir
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    const int spawned = ::posix_spawnp(&pid_, "openssl", &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (spawned != 0) {
      pid_ = -1;
      error_ = std::string("cannot start openssl s_server: ") + std::strerror(spawned);
      return;
    }
    for (int i = 0; i < 1000 && !Listening(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (!Listening()) error_ = "openssl s_server never listened on " + accept;
  }
  ~HttpsServer() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  HttpsServer(const HttpsServer&) = delete;
  HttpsServer& operator=(const HttpsServer&) = delete;

  [[nodiscard]] const std::string& error() const { return error_; }
  [[nodiscard]] std::string ca_file() const { return dir_.path() + "/ca.pem"; }
  // Puts `bytes` bytes in a file served as `name`; returns its https URL.
  std::string Serve(const std::string& name, std::size_t bytes) {
    std::ofstream(dir_.path() + "/" + name) << std::string(bytes, 'x');
    return "https://127.0.0.1:" + std::to_string(port_) + "/" + name;
  }

 private:
  // A loopback port that was just free.
  static std::uint16_t FreePort() {
    UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    socklen_t len = sizeof addr;
    ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&addr), &len);
    return ntohs(addr.sin_port);
  }
  [[nodiscard]] bool Listening() const {
    UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port_);
    return ::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }

  TempDir dir_;
  std::uint16_t port_ = 0;
  pid_t pid_ = -1;
  std::string error_;
};

TEST(ApiWorkloadTest, AnHttpsEndpointWithAPrivateCaIsReachedThroughItsCaFile) {
  testing::Watchdog watchdog(std::chrono::seconds(60));
  HttpsServer https;
  if (!https.error().empty()) GTEST_SKIP() << https.error();
  const std::string url = https.Serve("body.txt", 1000);
  // The task's value is the body's size, for any URL: the byte count a check can report.
  auto runner = MakeRunner("api", MakeConfig(url, 1000, 5000, https.ca_file()));
  EXPECT_EQ(runner->Run(0, {}).value, 1000U);
  EXPECT_EQ(MakeRunner("api", MakeConfig(url, -1, 5000, https.ca_file()))->Run(0, {}).value, 1000U)
      << "any size without expect_bytes";
  const std::string untrusted = ErrorFor(url, 1000, 5000);
  EXPECT_NE(untrusted.find("SSL certificate problem"), std::string::npos)
      << "without the CA file the system's bundle does not know the CA: " << untrusted;
}

TEST(ApiWorkloadTest, ExpectBytesChecksAUsersEndpointToo) {
  testing::Watchdog watchdog(std::chrono::seconds(60));
  HttpsServer https;
  if (!https.error().empty()) GTEST_SKIP() << https.error();
  auto empty = MakeRunner("api", MakeConfig(https.Serve("empty.txt", 0), 1, 5000, https.ca_file()));
  try {
    (void)empty->Run(0, {});
    FAIL() << "an empty 200 passed an expect_bytes check";
  } catch (const WorkloadError& e) {
    EXPECT_NE(std::string(e.what()).find("sent 0 body bytes, expected 1"), std::string::npos)
        << e.what();
  }
}

TEST(ApiWorkloadTest, AnUnreadableCaFileIsAClearError) {
  try {
    (void)MakeRunner("api", MakeConfig("https://127.0.0.1:9/", -1, 1000, "/nonexistent/ca.pem"));
    FAIL() << "expected a WorkloadError";
  } catch (const WorkloadError& e) {
    EXPECT_NE(std::string(e.what()).find("cannot read the CA file /nonexistent/ca.pem: No such "
                                         "file or directory"),
              std::string::npos)
        << e.what();
  }
}

TEST(ApiWorkloadTest, AWrongBodySizeIsAnError) {
  Server server;
  const std::string error = ErrorFor(server.Url(0, 10), 11, 5000);
  EXPECT_NE(error.find("sent 10 body bytes, expected 11"), std::string::npos) << error;
}

TEST(ApiWorkloadTest, ATruncatedBodyIsAnError) {
  Server server;
  const std::string error = ErrorFor(server.Url(0, 100'000, 200, true), 100'000, 5000);
  EXPECT_NE(error.find("failed"), std::string::npos) << error;
}

TEST(ApiWorkloadTest, AResponseSlowerThanTheTimeoutIsAnError) {
  Server server;
  const std::string error = ErrorFor(server.Url(2000, 10), 10, 200);
  EXPECT_NE(error.find("imed out"), std::string::npos) << error;
}

TEST(ApiWorkloadTest, ConnectionRefusedIsAnError) {
  // A port that was just free: bind, read it back, close.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  const std::string url = "http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port)) + "/";
  const std::string error = ErrorFor(url, -1, 2000);
  EXPECT_NE(error.find("onnect"), std::string::npos) << error;
}

}  // namespace
}  // namespace parbench::api
