// libparbench_curl.so: everything that touches libcurl (see modules.h for why it is a module).
#include <curl/curl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <string_view>

#include "common/resources.h"
#include "workloads/modules.h"

namespace parbench {
namespace {

// What one transfer received: the body's size and its first bytes (quoted when an error
// status comes with a text body, such as the loopback server's own explanations).
struct Received {
  static constexpr std::size_t kHeadBytes = 256;
  std::int64_t bytes = 0;
  std::string head;  // at most kHeadBytes
  void Clear() {
    bytes = 0;
    head.clear();  // keeps its capacity: no allocation per request
  }
};

// Counts the body bytes curl hands us and keeps the first few.
std::size_t Receive(char* data, std::size_t size, std::size_t n, void* out) {
  auto* received = static_cast<Received*>(out);
  const std::size_t len = size * n;
  received->bytes += static_cast<std::int64_t>(len);
  if (received->head.size() < Received::kHeadBytes) {
    received->head.append(data, std::min(len, Received::kHeadBytes - received->head.size()));
  }
  return len;
}

// One easy handle with the options every request uses; `ca_file` (may be empty) is the CA
// bundle https certificates are checked against instead of the system's.
CURL* NewEasy(const std::string& url, std::int64_t timeout_ms, Received* received,
              char* error_buffer, const std::string& ca_file = "") {
  CURL* easy = curl_easy_init();
  if (easy == nullptr) throw WorkloadError("api: curl_easy_init failed");
  curl_easy_setopt(easy, CURLOPT_URL, url.c_str());
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);  // no SIGALRM for timeouts: threads are in use
  curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout_ms));
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, Receive);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, received);
  curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, error_buffer);
  curl_easy_setopt(easy, CURLOPT_TCP_NODELAY, 1L);
  // Read a default-sized body (64 KiB) in one go instead of four 16 KiB pieces.
  curl_easy_setopt(easy, CURLOPT_BUFFERSIZE, 256L * 1024);
  curl_easy_setopt(easy, CURLOPT_PROXY, "");  // never send loopback traffic to a proxy
  if (!ca_file.empty()) curl_easy_setopt(easy, CURLOPT_CAINFO, ca_file.c_str());
  return easy;
}

// The first line of a text body, made printable and cut short, for an error message.
std::string FirstLine(const std::string& body) {
  std::string line = body.substr(0, std::min(body.find('\n'), std::size_t{200}));
  for (char& c : line) {
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7e) c = '?';
  }
  return line;
}

// "" when the transfer went well, else what went wrong.
std::string Problem(CURL* easy, CURLcode code, const char* error_buffer, const Received& received,
                    std::int64_t expect_bytes, const std::string& url) {
  if (code != CURLE_OK) {
    std::string problem =
        "GET " + url + " failed: " +
        (error_buffer[0] != '\0' ? std::string(error_buffer) : curl_easy_strerror(code));
    // A socket that could not be opened reads as a network error ("Couldn't connect to
    // server"): say so when the cause is that this process has no descriptor left.
    if (const std::string shortage = resources::DescriptorShortage(); !shortage.empty()) {
      problem += "; " + shortage;
    }
    return problem;
  }
  long status = 0;
  curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
  if (status < 200 || status > 299) {
    std::string problem = "GET " + url + " answered HTTP " + std::to_string(status);
    const char* type = nullptr;
    curl_easy_getinfo(easy, CURLINFO_CONTENT_TYPE, &type);
    // A plain-text body explains itself (the loopback server's do); HTML pages would not.
    if (type != nullptr && std::string_view(type).starts_with("text/plain") &&
        !received.head.empty()) {
      problem += ": " + FirstLine(received.head);
    }
    return problem;
  }
  if (expect_bytes >= 0 && received.bytes != expect_bytes) {
    return "GET " + url + " sent " + std::to_string(received.bytes) + " body bytes, expected " +
           std::to_string(expect_bytes);
  }
  return "";
}

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
      throw WorkloadError("api: curl_global_init failed");
    }
  });
}

class Runner final : public TaskRunner {
 public:
  explicit Runner(const Config& config)
      : url_(config.GetString("url")), expect_bytes_(config.GetInt("expect_bytes")) {
    const std::string ca_file = config.GetString("ca", "");
    if (!ca_file.empty() && ::access(ca_file.c_str(), R_OK) != 0) {
      throw WorkloadError("cannot read the CA file " + ca_file + ": " + std::strerror(errno));
    }
    GlobalInit();
    easy_ = NewEasy(url_, config.GetInt("timeout_ms"), &received_, error_, ca_file);
  }
  ~Runner() override { curl_easy_cleanup(easy_); }
  Runner(const Runner&) = delete;
  Runner& operator=(const Runner&) = delete;

  TaskOutput Run(std::uint32_t, std::span<const std::byte>) override {
    received_.Clear();
    error_[0] = '\0';
    const CURLcode code = curl_easy_perform(easy_);  // reuses the connection: keep-alive
    const std::string problem = Problem(easy_, code, error_, received_, expect_bytes_, url_);
    if (!problem.empty()) throw WorkloadError("api: " + problem);
    // The body's size, whatever the URL: the check side counts bytes per request from it.
    return {.value = static_cast<std::uint64_t>(received_.bytes), .reply = {}};
  }

 private:
  std::string url_;
  std::int64_t expect_bytes_;
  Received received_;
  char error_[CURL_ERROR_SIZE] = {};
  CURL* easy_ = nullptr;
};

// Many GETs at once from one thread, through a curl multi handle.
class MultiClient final : public ConcurrentClient {
 public:
  MultiClient(std::string url, int clients, std::int64_t timeout_ms);
  ~MultiClient() override;
  MultiClient(const MultiClient&) = delete;
  MultiClient& operator=(const MultiClient&) = delete;
  std::vector<double> Round() override;
  [[nodiscard]] std::int64_t bytes() const override { return bytes_; }

 private:
  struct Handle {
    CURL* easy = nullptr;
    Received received;
    char error[CURL_ERROR_SIZE] = {};
  };
  std::string url_;
  CURLM* multi_ = nullptr;
  std::vector<std::unique_ptr<Handle>> handles_;
  std::int64_t bytes_ = 0;
};

MultiClient::MultiClient(std::string url, int clients, std::int64_t timeout_ms)
    : url_(std::move(url)) {
  GlobalInit();
  multi_ = curl_multi_init();
  if (multi_ == nullptr) throw WorkloadError("api: curl_multi_init failed");
  // One connection per client, all open at once.
  curl_multi_setopt(multi_, CURLMOPT_MAX_HOST_CONNECTIONS, static_cast<long>(clients));
  curl_multi_setopt(multi_, CURLMOPT_MAXCONNECTS, static_cast<long>(clients));
  for (int i = 0; i < clients; ++i) {
    auto h = std::make_unique<Handle>();
    h->easy = NewEasy(url_, timeout_ms, &h->received, h->error);
    handles_.push_back(std::move(h));
  }
}

MultiClient::~MultiClient() {
  for (auto& h : handles_) curl_easy_cleanup(h->easy);
  curl_multi_cleanup(multi_);
}

std::vector<double> MultiClient::Round() {
  for (auto& h : handles_) {
    h->received.Clear();
    h->error[0] = '\0';
    curl_multi_add_handle(multi_, h->easy);
  }
  int running = 0;
  std::string problem;
  do {
    curl_multi_perform(multi_, &running);
    if (running > 0) curl_multi_poll(multi_, nullptr, 0, 1000, nullptr);
    int left = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi_, &left)) {
      if (msg->msg != CURLMSG_DONE) continue;
      for (auto& h : handles_) {
        if (h->easy == msg->easy_handle && problem.empty()) {
          problem = Problem(h->easy, msg->data.result, h->error, h->received, -1, url_);
        }
      }
    }
  } while (running > 0);
  std::vector<double> seconds;
  bytes_ = 0;
  for (auto& h : handles_) {
    double total = 0;
    curl_easy_getinfo(h->easy, CURLINFO_TOTAL_TIME, &total);
    seconds.push_back(total);
    bytes_ += h->received.bytes;
    curl_multi_remove_handle(multi_, h->easy);
  }
  if (!problem.empty()) throw WorkloadError("api: " + problem);
  return seconds;
}

constexpr CurlModule kModule = {
    .abi = kModuleAbi,
    .global_init = GlobalInit,
    .version = [] { return static_cast<const char*>(curl_version()); },
    .make_runner = [](const Config& config) -> std::unique_ptr<TaskRunner> {
      return std::make_unique<Runner>(config);
    },
    .make_client = [](const std::string& url, int clients,
                      std::int64_t timeout_ms) -> std::unique_ptr<ConcurrentClient> {
      return std::make_unique<MultiClient>(url, clients, timeout_ms);
    },
};

}  // namespace
}  // namespace parbench

extern "C" [[gnu::visibility("default")]] const parbench::CurlModule* parbench_curl_module() {
  return &parbench::kModule;
}
