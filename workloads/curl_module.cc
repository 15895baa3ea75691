// libparbench_curl.so: everything that touches libcurl (see modules.h for why it is a module).
#include <curl/curl.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <sstream>
#include <string_view>
#include <unordered_map>

#include "common/resources.h"
#include "common/unique_fd.h"
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

// One easy handle with the options every request uses; curl reads into a buffer of
// `buffer_bytes`; `ca_file` (may be empty) is the CA bundle https certificates are checked
// against instead of the system's.
CURL* NewEasy(const std::string& url, std::int64_t timeout_ms, Received* received,
              char* error_buffer, std::int64_t buffer_bytes, const std::string& ca_file = "") {
  CURL* easy = curl_easy_init();
  if (easy == nullptr) throw WorkloadError("api: curl_easy_init failed");
  curl_easy_setopt(easy, CURLOPT_URL, url.c_str());
  // No SIGALRM for timeouts (threads are in use), and no sigaction() around every socket
  // operation, which a multi loop would pay per wake-up.
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout_ms));
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, Receive);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, received);
  curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, error_buffer);
  curl_easy_setopt(easy, CURLOPT_TCP_NODELAY, 1L);
  curl_easy_setopt(easy, CURLOPT_BUFFERSIZE, static_cast<long>(buffer_bytes));
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

// The URLs some tasks GET instead of the job's (config key "task_urls": "TASK URL TASK URL",
// see api::SetTaskUrl); empty for every job but a test's.
std::unordered_map<std::uint32_t, std::string> TaskUrls(const Config& config) {
  std::unordered_map<std::uint32_t, std::string> out;
  std::istringstream in(config.GetString("task_urls", ""));
  std::uint32_t task = 0;
  std::string url;
  while (in >> task >> url) out[task] = url;
  return out;
}

class Runner final : public TaskRunner {
 public:
  explicit Runner(const Config& config)
      : url_(config.GetString("url")),
        expect_bytes_(config.GetInt("expect_bytes")),
        task_urls_(TaskUrls(config)) {
    const std::string ca_file = config.GetString("ca", "");
    if (!ca_file.empty() && ::access(ca_file.c_str(), R_OK) != 0) {
      throw WorkloadError("cannot read the CA file " + ca_file + ": " + std::strerror(errno));
    }
    GlobalInit();
    // Read a default-sized body (64 KiB) in one go instead of four 16 KiB pieces.
    easy_ = NewEasy(url_, config.GetInt("timeout_ms"), &received_, error_, 256 * 1024, ca_file);
  }
  ~Runner() override { curl_easy_cleanup(easy_); }
  Runner(const Runner&) = delete;
  Runner& operator=(const Runner&) = delete;

  TaskOutput Run(std::uint32_t index, std::span<const std::byte>) override {
    received_.Clear();
    error_[0] = '\0';
    const std::string* url = &url_;
    if (!task_urls_.empty()) {
      if (auto it = task_urls_.find(index); it != task_urls_.end()) url = &it->second;
    }
    if (url != url_set_) {  // only a test's per-task URL changes it
      curl_easy_setopt(easy_, CURLOPT_URL, url->c_str());
      url_set_ = url;
    }
    const CURLcode code = curl_easy_perform(easy_);  // reuses the connection: keep-alive
    const std::string problem = Problem(easy_, code, error_, received_, expect_bytes_, *url);
    if (!problem.empty()) throw WorkloadError("api: " + problem);
    // The body's size, whatever the URL: the check side counts bytes per request from it.
    return {.value = static_cast<std::uint64_t>(received_.bytes), .reply = {}};
  }

 private:
  std::string url_;
  std::int64_t expect_bytes_;
  std::unordered_map<std::uint32_t, std::string> task_urls_;
  const std::string* url_set_ = &url_;  // the URL the handle is set to
  Received received_;
  char error_[CURL_ERROR_SIZE] = {};
  CURL* easy_ = nullptr;
};

// The asynchronous form: many GETs in flight on one thread through a curl multi handle, driven
// by curl_multi_socket_action() over epoll, so a round costs the sockets that are ready, not
// every transfer in flight (curl_multi_perform walks them all: 1024 of them per wake-up).
// Easy handles are reused across tasks and the multi handle keeps one idle connection per
// handle, so connections stay alive between tasks as the blocking runner's do.
class MultiRunner final : public AsyncTaskRunner {
 public:
  explicit MultiRunner(const Config& config)
      : url_(config.GetString("url")),
        expect_bytes_(config.GetInt("expect_bytes")),
        timeout_ms_(config.GetInt("timeout_ms")),
        ca_file_(config.GetString("ca", "")),
        task_urls_(TaskUrls(config)),
        epoll_(::epoll_create1(EPOLL_CLOEXEC)) {
    if (!ca_file_.empty() && ::access(ca_file_.c_str(), R_OK) != 0) {
      throw WorkloadError("cannot read the CA file " + ca_file_ + ": " + std::strerror(errno));
    }
    GlobalInit();
    if (!epoll_.valid()) {
      throw WorkloadError(std::string("api: epoll_create1: ") + std::strerror(errno));
    }
    multi_ = curl_multi_init();
    if (multi_ == nullptr) throw WorkloadError("api: curl_multi_init failed");
    curl_multi_setopt(multi_, CURLMOPT_SOCKETFUNCTION, OnSocket);
    curl_multi_setopt(multi_, CURLMOPT_SOCKETDATA, this);
    curl_multi_setopt(multi_, CURLMOPT_TIMERFUNCTION, OnTimer);
    curl_multi_setopt(multi_, CURLMOPT_TIMERDATA, this);
  }
  ~MultiRunner() override {
    for (auto& h : handles_) {
      if (h->active) curl_multi_remove_handle(multi_, h->easy);
      curl_easy_cleanup(h->easy);
    }
    curl_multi_cleanup(multi_);  // closes the cached connections (their sockets leave epoll)
  }
  MultiRunner(const MultiRunner&) = delete;
  MultiRunner& operator=(const MultiRunner&) = delete;

  void Start(std::uint32_t index, std::span<const std::byte>, std::uint64_t tag) override {
    Handle& h = IdleHandle();
    h.received.Clear();
    h.error[0] = '\0';
    h.tag = tag;
    const std::string* url = &url_;
    if (!task_urls_.empty()) {
      if (auto it = task_urls_.find(index); it != task_urls_.end()) url = &it->second;
    }
    if (h.url != url) {  // only a test's per-task URL changes it
      curl_easy_setopt(h.easy, CURLOPT_URL, url->c_str());
      h.url = url;
    }
    const CURLMcode code = curl_multi_add_handle(multi_, h.easy);
    if (code != CURLM_OK) {
      idle_.push_back(&h);
      failed_.push_back(
          {.tag = tag, .output = {}, .error = std::string("api: ") + curl_multi_strerror(code)});
      return;
    }
    h.active = true;
    ++in_flight_;
    kick_ = true;
  }

  // One epoll_wait() fetches every ready socket, but Poll() hands back the first transfers that
  // finish and keeps the other events for the next call: the executor restarts those slots
  // (their requests leave at the top of the next Poll()) before the rest of a burst is read,
  // instead of after it. A burst of k answers otherwise delays every restart by k answers'
  // work and keeps the slots in lockstep.
  std::vector<Completion> Poll(int timeout_ms) override {
    std::vector<Completion> done = std::move(failed_);
    failed_.clear();
    if (in_flight_ == 0) return done;
    // New transfers start here: curl asks for that through its timer callback, but running
    // its timers right after Start() does not depend on how it rounds that timeout.
    if (kick_ || TimerDue()) {
      kick_ = false;
      Act(CURL_SOCKET_TIMEOUT, 0);
    }
    Collect(done);
    if (!done.empty()) return done;
    if (next_event_ == ready_events_) {
      int wait_ms = timeout_ms;
      if (timer_at_ns_ >= 0) {
        const std::int64_t left_ns = timer_at_ns_ - NowNs();
        const std::int64_t timer_ms = std::max<std::int64_t>(0, (left_ns + 999'999) / 1'000'000);
        wait_ms = static_cast<int>(std::min<std::int64_t>(wait_ms, timer_ms));
      }
      const int n =
          ::epoll_wait(epoll_.get(), events_.data(), static_cast<int>(events_.size()), wait_ms);
      ready_events_ = n > 0 ? static_cast<std::size_t>(n) : 0;
      next_event_ = 0;
    }
    while (next_event_ < ready_events_ && done.empty()) {
      const epoll_event& ev = events_[next_event_++];
      const int mask = ((ev.events & EPOLLIN) != 0U ? CURL_CSELECT_IN : 0) |
                       ((ev.events & EPOLLOUT) != 0U ? CURL_CSELECT_OUT : 0) |
                       ((ev.events & (EPOLLERR | EPOLLHUP)) != 0U ? CURL_CSELECT_ERR : 0);
      if (WatchOf(ev.data.fd).wanted) {
        Act(ev.data.fd, mask);  // a socket curl closed meanwhile is ignored by curl
      } else {
        Unwatch(ev.data.fd);
      }
      Collect(done);
    }
    if (TimerDue()) Act(CURL_SOCKET_TIMEOUT, 0);  // timeouts, connection steps
    Collect(done);
    return done;
  }

  [[nodiscard]] std::size_t in_flight() const override { return in_flight_ + failed_.size(); }

 private:
  struct Handle {
    CURL* easy = nullptr;
    const std::string* url = nullptr;  // the URL it is set to
    Received received;
    std::uint64_t tag = 0;
    bool active = false;
    char error[CURL_ERROR_SIZE] = {};
  };

  static std::int64_t NowNs() {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return std::int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
  }

  // What epoll holds for one descriptor, and whether curl wants it now. A connection that goes
  // back to curl's cache stays registered: curl hands the same socket back for the next task,
  // usually with the same events, so a reused connection costs no epoll_ctl() at all. curl's
  // close callback forgets the descriptor (closing it removes it from epoll).
  struct Watch {
    std::uint32_t events = 0;
    bool registered = false;
    bool wanted = false;
  };

  Watch& WatchOf(curl_socket_t s) {
    const auto i = static_cast<std::size_t>(s);
    if (i >= watches_.size()) watches_.resize(i + 1);
    return watches_[i];
  }

  // curl says which events of socket `s` it waits for (or that it is done with it for now).
  static int OnSocket(CURL*, curl_socket_t s, int what, void* self_ptr, void*) {
    auto* self = static_cast<MultiRunner*>(self_ptr);
    Watch& w = self->WatchOf(s);
    if (what == CURL_POLL_REMOVE) {
      w.wanted = false;  // left registered while idle (see Watch)
      return 0;
    }
    const std::uint32_t events =
        ((what & CURL_POLL_IN) != 0 ? EPOLLIN : 0U) | ((what & CURL_POLL_OUT) != 0 ? EPOLLOUT : 0U);
    w.wanted = true;
    if (w.registered && w.events == events) return 0;
    self->Register(s, events, w);
    return 0;
  }

  // Makes epoll watch `events` of `s`.
  void Register(curl_socket_t s, std::uint32_t events, Watch& w) {
    epoll_event ev{};
    ev.events = events;
    ev.data.fd = s;
    const int op = w.registered ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
    if (::epoll_ctl(epoll_.get(), op, s, &ev) != 0) {
      // Our record and the kernel's disagree (a descriptor closed behind curl's back, a new
      // socket under an old number): the other operation fixes it.
      ::epoll_ctl(epoll_.get(), op == EPOLL_CTL_MOD ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, s, &ev);
    }
    w.registered = true;
    w.events = events;
  }

  // curl closes a socket (CURLOPT_CLOSESOCKETFUNCTION): the number may come back as another.
  static int OnClose(void* self_ptr, curl_socket_t s) {
    static_cast<MultiRunner*>(self_ptr)->WatchOf(s) = {};
    return ::close(s);
  }

  // An event on an idle cached connection (the server hung up): curl is not waiting for it,
  // so stop watching until curl hands the socket back.
  void Unwatch(curl_socket_t s) {
    ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, s, nullptr);
    WatchOf(s).registered = false;
  }

  // curl's one timer: -1 none, 0 act at once, else act in `timeout_ms`.
  static int OnTimer(CURLM*, long timeout_ms, void* self_ptr) {
    auto* self = static_cast<MultiRunner*>(self_ptr);
    self->timer_at_ns_ = timeout_ms < 0 ? -1 : NowNs() + std::int64_t{timeout_ms} * 1'000'000;
    return 0;
  }

  [[nodiscard]] bool TimerDue() const { return timer_at_ns_ >= 0 && NowNs() >= timer_at_ns_; }

  // Lets curl act on socket `s` (CURL_SOCKET_TIMEOUT: on its timer).
  void Act(curl_socket_t s, int mask) {
    if (s == CURL_SOCKET_TIMEOUT) timer_at_ns_ = -1;  // a one-shot timer: curl sets the next
    int running = 0;
    curl_multi_socket_action(multi_, s, mask, &running);
  }

  // A handle not in flight (a new one when all are busy).
  Handle& IdleHandle() {
    if (!idle_.empty()) {
      Handle* h = idle_.back();
      idle_.pop_back();
      return *h;
    }
    auto h = std::make_unique<Handle>();
    // Enough buffer for the expected body in one read, at most the blocking runner's 256 KiB:
    // a thousand handles in flight each keep theirs.
    const std::int64_t buffer =
        std::clamp<std::int64_t>(expect_bytes_ + 1024, 16 * 1024, 256 * 1024);
    h->easy = NewEasy(url_, timeout_ms_, &h->received, h->error, buffer, ca_file_);
    h->url = &url_;
    curl_easy_setopt(h->easy, CURLOPT_PRIVATE, h.get());
    curl_easy_setopt(h->easy, CURLOPT_CLOSESOCKETFUNCTION, OnClose);
    curl_easy_setopt(h->easy, CURLOPT_CLOSESOCKETDATA, this);
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
          Problem(h->easy, result, h->error, h->received, expect_bytes_, *h->url);
      curl_multi_remove_handle(multi_, h->easy);  // invalidates msg
      h->active = false;
      idle_.push_back(h);
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
  std::unordered_map<std::uint32_t, std::string> task_urls_;
  UniqueFd epoll_;  // closed after the multi handle (the destructor's body) is gone
  CURLM* multi_ = nullptr;
  std::int64_t timer_at_ns_ = -1;  // when curl wants CURL_SOCKET_TIMEOUT (-1: never)
  bool kick_ = false;              // transfers were added since curl last ran its timers
  std::array<epoll_event, 256> events_{};
  std::size_t ready_events_ = 0;  // events_ from the last epoll_wait()...
  std::size_t next_event_ = 0;    // ...of which those before this one are handled
  std::vector<Watch> watches_;    // by descriptor number
  std::vector<std::unique_ptr<Handle>> handles_;
  std::vector<Handle*> idle_;       // handles not in flight
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
