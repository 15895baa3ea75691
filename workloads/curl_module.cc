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

// The asynchronous form: many GETs in flight on one thread through a curl multi handle. Easy
// handles are reused across tasks, so their connections are kept alive as the blocking
// runner's are.
class MultiRunner final : public AsyncTaskRunner {
 public:
  explicit MultiRunner(const Config& config)
      : url_(config.GetString("url")),
        expect_bytes_(config.GetInt("expect_bytes")),
        timeout_ms_(config.GetInt("timeout_ms")),
        ca_file_(config.GetString("ca", "")) {
    if (!ca_file_.empty() && ::access(ca_file_.c_str(), R_OK) != 0) {
      throw WorkloadError("cannot read the CA file " + ca_file_ + ": " + std::strerror(errno));
    }
    GlobalInit();
    multi_ = curl_multi_init();
    if (multi_ == nullptr) throw WorkloadError("api: curl_multi_init failed");
  }
  ~MultiRunner() override {
    for (auto& h : handles_) {
      if (h->active) curl_multi_remove_handle(multi_, h->easy);
      curl_easy_cleanup(h->easy);
    }
    curl_multi_cleanup(multi_);
  }
  MultiRunner(const MultiRunner&) = delete;
  MultiRunner& operator=(const MultiRunner&) = delete;

  void Start(std::uint32_t, std::span<const std::byte>, std::uint64_t tag) override {
    Handle& h = IdleHandle();
    h.received.Clear();
    h.error[0] = '\0';
    h.tag = tag;
    const CURLMcode code = curl_multi_add_handle(multi_, h.easy);
    if (code != CURLM_OK) {
      failed_.push_back(
          {.tag = tag, .output = {}, .error = std::string("api: ") + curl_multi_strerror(code)});
      return;
    }
    h.active = true;
    ++in_flight_;
  }

  std::vector<Completion> Poll(int timeout_ms) override {
    std::vector<Completion> done = std::move(failed_);
    failed_.clear();
    int running = 0;
    curl_multi_perform(multi_, &running);
    Collect(done);
    if (done.empty() && in_flight_ > 0) {
      curl_multi_poll(multi_, nullptr, 0, timeout_ms, nullptr);
      curl_multi_perform(multi_, &running);
      Collect(done);
    }
    return done;
  }

  [[nodiscard]] std::size_t in_flight() const override { return in_flight_ + failed_.size(); }

 private:
  struct Handle {
    CURL* easy = nullptr;
    Received received;
    std::uint64_t tag = 0;
    bool active = false;
    char error[CURL_ERROR_SIZE] = {};
  };

  // A handle not in flight (a new one when all are busy).
  Handle& IdleHandle() {
    for (auto& h : handles_) {
      if (!h->active) return *h;
    }
    auto h = std::make_unique<Handle>();
    h->easy = NewEasy(url_, timeout_ms_, &h->received, h->error, ca_file_);
    curl_easy_setopt(h->easy, CURLOPT_PRIVATE, h.get());
    handles_.push_back(std::move(h));
    // Keep one open connection per handle: a connection cache smaller than the tasks in
    // flight would close and reopen connections between tasks.
    curl_multi_setopt(multi_, CURLMOPT_MAXCONNECTS, static_cast<long>(handles_.size()));
    return *handles_.back();
  }

  // Moves every finished transfer into `done`.
  void Collect(std::vector<Completion>& done) {
    int left = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi_, &left)) {
      if (msg->msg != CURLMSG_DONE) continue;
      Handle* h = nullptr;
      curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &h);
      const CURLcode result = msg->data.result;
      const std::string problem =
          Problem(h->easy, result, h->error, h->received, expect_bytes_, url_);
      curl_multi_remove_handle(multi_, h->easy);  // invalidates msg
      h->active = false;
      --in_flight_;
      done.push_back(
          {.tag = h->tag,
           .output = {.value = static_cast<std::uint64_t>(h->received.bytes), .reply = {}},
           .error = problem.empty() ? "" : "api: " + problem});
    }
  }

  std::string url_;
  std::int64_t expect_bytes_;
  std::int64_t timeout_ms_;
  std::string ca_file_;
  CURLM* multi_ = nullptr;
  std::vector<std::unique_ptr<Handle>> handles_;
  std::vector<Completion> failed_;  // tasks that could not start, reported by the next Poll
  std::size_t in_flight_ = 0;
};

constexpr CurlModule kModule = {
    .abi = kModuleAbi,
    .global_init = GlobalInit,
    .version = [] { return static_cast<const char*>(curl_version()); },
    .make_runner = [](const Config& config) -> std::unique_ptr<TaskRunner> {
      return std::make_unique<Runner>(config);
    },
    .make_async_runner = [](const Config& config) -> std::unique_ptr<AsyncTaskRunner> {
      return std::make_unique<MultiRunner>(config);
    },
};

}  // namespace
}  // namespace parbench

extern "C" [[gnu::visibility("default")]] const parbench::CurlModule* parbench_curl_module() {
  return &parbench::kModule;
}
