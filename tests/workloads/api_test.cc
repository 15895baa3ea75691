// The api workload and its loopback server: latency, payload, error statuses, transport errors,
// and hundreds of requests in flight at once.
#include "workloads/api.h"

#include <curl/curl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <thread>

#include "tests/support.h"
#include "harness/api_server.h"

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
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION,
                   +[](char* data, std::size_t size, std::size_t n, void* out) {
                     static_cast<std::string*>(out)->append(data, size * n);
                     return size * n;
                   });
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, &body);
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
  struct sigaction old{};
  struct sigaction dfl{};
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
      ASSERT_GT(::read(fd, some, sizeof some), 0);  // the answer has started
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
  Server server;
  auto runner = kWorkload.make_async_runner(MakeConfig(server.Url(0, 100), 100, 5000));
  for (int round = 0; round < 5; ++round) {
    for (std::uint32_t i = 0; i < 32; ++i) runner->Start(i, {}, i);
    while (runner->in_flight() > 0) {
      for (const Completion& c : runner->Poll(1000)) EXPECT_EQ(c.error, "");
    }
  }
  EXPECT_EQ(server.requests(), 160);
  EXPECT_EQ(server.connections(), 32) << "one connection per request in flight, kept alive";
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
