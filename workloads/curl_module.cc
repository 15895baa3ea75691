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

// A URL parsed once. Given as a string, curl parses the URL anew for every transfer (a sixth
// of its instructions per request here); given parsed (CURLOPT_CURLU), it copies the parts.
class ParsedUrl {
 public:
  explicit ParsedUrl(std::string url) : text_(std::move(url)), handle_(curl_url()) {
    // A URL curl cannot parse stays a string: the transfer then fails saying why, as before.
    if (handle_ != nullptr && curl_url_set(handle_, CURLUPART_URL, text_.c_str(), 0) != CURLUE_OK) {
      curl_url_cleanup(handle_);
      handle_ = nullptr;
    }
  }
  ~ParsedUrl() { curl_url_cleanup(handle_); }
  ParsedUrl(const ParsedUrl&) = delete;
  ParsedUrl& operator=(const ParsedUrl&) = delete;

  // Makes `easy` GET this URL (only reads the parsed form: handles on one thread may share it).
  void Apply(CURL* easy) const {
    curl_easy_setopt(easy, CURLOPT_CURLU, handle_);  // nullptr: the string below counts
    if (handle_ == nullptr) curl_easy_setopt(easy, CURLOPT_URL, text_.c_str());
  }
  [[nodiscard]] const std::string& text() const { return text_; }

 private:
  std::string text_;
  CURLU* handle_;
};

// One easy handle with the options every request uses; curl reads into a buffer of
// `buffer_bytes`; `ca_file` (may be empty) is the CA bundle https certificates are checked
// against instead of the system's.
CURL* NewEasy(const ParsedUrl& url, std::int64_t timeout_ms, Received* received, char* error_buffer,
              std::int64_t buffer_bytes, const std::string& ca_file = "") {
  CURL* easy = curl_easy_init();
  if (easy == nullptr) throw WorkloadError("api: curl_easy_init failed");
  url.Apply(easy);
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
  // ...and say so for every host, or curl reads no_proxy and NO_PROXY from the environment for
  // every transfer.
  curl_easy_setopt(easy, CURLOPT_NOPROXY, "*");
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

// The job's URL and the URLs some tasks GET instead (config key "task_urls": "TASK URL TASK
// URL", see api::SetTaskUrl; empty for every job but a test's), each parsed once.
class Urls {
 public:
  explicit Urls(const Config& config) : job_(config.GetString("url")) {
    std::istringstream in(config.GetString("task_urls", ""));
    std::uint32_t task = 0;
    std::string url;
    while (in >> task >> url) {
      tasks_.erase(task);
      tasks_.try_emplace(task, url);
    }
  }
  // The URL task `index` GETs.
  [[nodiscard]] const ParsedUrl& For(std::uint32_t index) const {
    if (tasks_.empty()) return job_;
    const auto it = tasks_.find(index);
    return it == tasks_.end() ? job_ : it->second;
  }
  [[nodiscard]] const ParsedUrl& job() const { return job_; }

 private:
  ParsedUrl job_;
  std::unordered_map<std::uint32_t, ParsedUrl> tasks_;  // node-based: addresses stay put
};

class Runner final : public TaskRunner {
 public:
  explicit Runner(const Config& config)
      : urls_(config), expect_bytes_(config.GetInt("expect_bytes")) {
    const std::string ca_file = config.GetString("ca", "");
    if (!ca_file.empty() && ::access(ca_file.c_str(), R_OK) != 0) {
      throw WorkloadError("cannot read the CA file " + ca_file + ": " + std::strerror(errno));
    }
    GlobalInit();
    // Read a default-sized body (64 KiB) in one go instead of four 16 KiB pieces.
    easy_ =
        NewEasy(urls_.job(), config.GetInt("timeout_ms"), &received_, error_, 256 * 1024, ca_file);
  }
  ~Runner() override { curl_easy_cleanup(easy_); }
  Runner(const Runner&) = delete;
  Runner& operator=(const Runner&) = delete;

  TaskOutput Run(std::uint32_t index, std::span<const std::byte>) override {
    received_.Clear();
    error_[0] = '\0';
    const ParsedUrl* url = &urls_.For(index);
    if (url != url_set_) {  // only a test's per-task URL changes it
      url->Apply(easy_);
      url_set_ = url;
    }
    const CURLcode code = curl_easy_perform(easy_);  // reuses the connection: keep-alive
    const std::string problem = Problem(easy_, code, error_, received_, expect_bytes_, url->text());
    if (!problem.empty()) throw WorkloadError("api: " + problem);
    // The body's size, whatever the URL: the check side counts bytes per request from it.
    return {.value = static_cast<std::uint64_t>(received_.bytes), .reply = {}};
  }

 private:
  Urls urls_;
  std::int64_t expect_bytes_;
  const ParsedUrl* url_set_ = &urls_.job();  // the URL the handle is set to
  Received received_;
  char error_[CURL_ERROR_SIZE] = {};
  CURL* easy_ = nullptr;
};

// The asynchronous form: many GETs in flight on one thread through curl multi handles, driven
// by curl_multi_socket_action() over one epoll, so a round costs the sockets that are ready, not
// every transfer in flight (curl_multi_perform walks them all: 1024 of them per wake-up).
// Easy handles are reused across tasks and each multi handle keeps one idle connection per
// handle, so connections stay alive between tasks as the blocking runner's do.
//
// The handles are spread over several multi handles of at most kHandlesPerMulti each. To start
// a transfer, libcurl (7.88) walks the whole connection list of its multi handle, checking each
// connection (in use or not) before it finds an idle one: with every handle in one multi handle,
// that walk grew with the tasks in flight (116 connections checked per request on average at
// 256; 7.9 with multi handles of 16).
class MultiRunner final : public AsyncTaskRunner {
 public:
  explicit MultiRunner(const Config& config)
      : urls_(config),
        expect_bytes_(config.GetInt("expect_bytes")),
        timeout_ms_(config.GetInt("timeout_ms")),
        ca_file_(config.GetString("ca", "")),
        epoll_(::epoll_create1(EPOLL_CLOEXEC)) {
    if (!ca_file_.empty() && ::access(ca_file_.c_str(), R_OK) != 0) {
      throw WorkloadError("cannot read the CA file " + ca_file_ + ": " + std::strerror(errno));
    }
    GlobalInit();
    if (!epoll_.valid()) {
      throw WorkloadError(std::string("api: epoll_create1: ") + std::strerror(errno));
    }
    AddShard();  // the first multi handle now: a failing curl_multi_init shows at once
  }
  ~MultiRunner() override {
    for (auto& h : handles_) {
      if (h->active) curl_multi_remove_handle(h->shard->multi, h->easy);
      curl_easy_cleanup(h->easy);
    }
    // Closes the cached connections (their sockets leave epoll).
    for (auto& shard : shards_) curl_multi_cleanup(shard->multi);
  }
  MultiRunner(const MultiRunner&) = delete;
  MultiRunner& operator=(const MultiRunner&) = delete;

  void Start(std::uint32_t index, std::span<const std::byte>, std::uint64_t tag) override {
    Handle& h = IdleHandle();
    h.received.Clear();
    h.error[0] = '\0';
    h.tag = tag;
    const ParsedUrl* url = &urls_.For(index);
    if (h.url != url) {  // only a test's per-task URL changes it
      url->Apply(h.easy);
      h.url = url;
    }
    const CURLMcode code = curl_multi_add_handle(h.shard->multi, h.easy);
    if (code != CURLM_OK) {
      idle_.push_back(&h);
      failed_.push_back(
          {.tag = tag, .output = {}, .error = std::string("api: ") + curl_multi_strerror(code)});
      return;
    }
    h.active = true;
    ++in_flight_;
    h.shard->kick = true;
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
    RunTimers(done);
    if (!done.empty()) return done;
    if (next_event_ == ready_events_) {
      const int n = ::epoll_wait(epoll_.get(), events_.data(), static_cast<int>(events_.size()),
                                 WaitMs(timeout_ms));
      ready_events_ = n > 0 ? static_cast<std::size_t>(n) : 0;
      next_event_ = 0;
    }
    while (next_event_ < ready_events_ && done.empty()) {
      const epoll_event& ev = events_[next_event_++];
      const int mask = ((ev.events & EPOLLIN) != 0U ? CURL_CSELECT_IN : 0) |
                       ((ev.events & EPOLLOUT) != 0U ? CURL_CSELECT_OUT : 0) |
                       ((ev.events & (EPOLLERR | EPOLLHUP)) != 0U ? CURL_CSELECT_ERR : 0);
      const Watch& w = WatchOf(ev.data.fd);
      if (w.wanted) {
        Act(*w.shard, ev.data.fd, mask, done);  // a socket curl closed meanwhile is ignored
      } else {
        Unwatch(ev.data.fd);
      }
    }
    RunTimers(done);  // timeouts, connection steps
    return done;
  }

  [[nodiscard]] std::size_t in_flight() const override { return in_flight_ + failed_.size(); }

 private:
  // Handles per multi handle: short connection walks (see the class comment), few multi
  // handles to look after (64 at 1024 in flight).
  static constexpr std::size_t kHandlesPerMulti = 16;

  // One multi handle, its share of the handles and curl's timer for it.
  struct Shard {
    MultiRunner* runner = nullptr;
    CURLM* multi = nullptr;
    std::int64_t timer_at_ns = -1;  // when curl wants CURL_SOCKET_TIMEOUT (-1: never)
    bool kick = false;              // transfers were added since curl last ran its timers
    long handles = 0;
  };

  struct Handle {
    CURL* easy = nullptr;
    Shard* shard = nullptr;          // the multi handle it runs in
    const ParsedUrl* url = nullptr;  // the URL it is set to
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
    Shard* shard = nullptr;  // the multi handle whose connection it is
  };

  Watch& WatchOf(curl_socket_t s) {
    const auto i = static_cast<std::size_t>(s);
    if (i >= watches_.size()) watches_.resize(i + 1);
    return watches_[i];
  }

  // A new multi handle; WorkloadError when curl cannot make one.
  Shard& AddShard() {
    auto shard = std::make_unique<Shard>();
    shard->runner = this;
    shard->multi = curl_multi_init();
    if (shard->multi == nullptr) throw WorkloadError("api: curl_multi_init failed");
    curl_multi_setopt(shard->multi, CURLMOPT_SOCKETFUNCTION, OnSocket);
    curl_multi_setopt(shard->multi, CURLMOPT_SOCKETDATA, shard.get());
    curl_multi_setopt(shard->multi, CURLMOPT_TIMERFUNCTION, OnTimer);
    curl_multi_setopt(shard->multi, CURLMOPT_TIMERDATA, shard.get());
    shards_.push_back(std::move(shard));
    return *shards_.back();
  }

  // curl says which events of socket `s` it waits for (or that it is done with it for now).
  static int OnSocket(CURL*, curl_socket_t s, int what, void* shard_ptr, void*) {
    auto* shard = static_cast<Shard*>(shard_ptr);
    Watch& w = shard->runner->WatchOf(s);
    if (what == CURL_POLL_REMOVE) {
      w.wanted = false;  // left registered while idle (see Watch)
      return 0;
    }
    const std::uint32_t events =
        ((what & CURL_POLL_IN) != 0 ? EPOLLIN : 0U) | ((what & CURL_POLL_OUT) != 0 ? EPOLLOUT : 0U);
    w.wanted = true;
    w.shard = shard;
    if (w.registered && w.events == events) return 0;
    shard->runner->Register(s, events, w);
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

  // curl's one timer per multi handle: -1 none, 0 act at once, else act in `timeout_ms`.
  static int OnTimer(CURLM*, long timeout_ms, void* shard_ptr) {
    auto* shard = static_cast<Shard*>(shard_ptr);
    shard->timer_at_ns = timeout_ms < 0 ? -1 : NowNs() + std::int64_t{timeout_ms} * 1'000'000;
    return 0;
  }

  // Runs curl's timers where they are due, and where transfers were added: new transfers
  // start here (curl asks for that through its timer, but running it right after Start() does
  // not depend on how curl rounds that timeout).
  void RunTimers(std::vector<Completion>& done) {
    const std::int64_t now = NowNs();
    for (auto& shard : shards_) {
      if (shard->kick || (shard->timer_at_ns >= 0 && now >= shard->timer_at_ns)) {
        shard->kick = false;
        Act(*shard, CURL_SOCKET_TIMEOUT, 0, done);
      }
    }
  }

  // How long epoll may wait: `timeout_ms`, or less when a curl timer comes first.
  [[nodiscard]] int WaitMs(int timeout_ms) const {
    std::int64_t first = -1;
    for (const auto& shard : shards_) {
      if (shard->timer_at_ns >= 0 && (first < 0 || shard->timer_at_ns < first)) {
        first = shard->timer_at_ns;
      }
    }
    if (first < 0) return timeout_ms;
    const std::int64_t left_ns = first - NowNs();
    const std::int64_t timer_ms = std::max<std::int64_t>(0, (left_ns + 999'999) / 1'000'000);
    return static_cast<int>(std::min<std::int64_t>(timeout_ms, timer_ms));
  }

  // Lets curl act on socket `s` of `shard` (CURL_SOCKET_TIMEOUT: on its timer), then moves the
  // transfers that finished into `done`.
  void Act(Shard& shard, curl_socket_t s, int mask, std::vector<Completion>& done) {
    if (s == CURL_SOCKET_TIMEOUT) shard.timer_at_ns = -1;  // one-shot: curl sets the next
    int running = 0;
    curl_multi_socket_action(shard.multi, s, mask, &running);
    Collect(shard, done);
  }

  // A handle not in flight (a new one when all are busy).
  Handle& IdleHandle() {
    if (!idle_.empty()) {
      Handle* h = idle_.back();
      idle_.pop_back();
      return *h;
    }
    Shard& shard =
        handles_.size() % kHandlesPerMulti == 0 && !handles_.empty() ? AddShard() : *shards_.back();
    auto h = std::make_unique<Handle>();
    // Enough buffer for the expected body in one read, at most the blocking runner's 256 KiB:
    // a thousand handles in flight each keep theirs.
    const std::int64_t buffer =
        std::clamp<std::int64_t>(expect_bytes_ + 1024, 16 * 1024, 256 * 1024);
    h->easy = NewEasy(urls_.job(), timeout_ms_, &h->received, h->error, buffer, ca_file_);
    h->shard = &shard;
    h->url = &urls_.job();
    curl_easy_setopt(h->easy, CURLOPT_PRIVATE, h.get());
    curl_easy_setopt(h->easy, CURLOPT_CLOSESOCKETFUNCTION, OnClose);
    curl_easy_setopt(h->easy, CURLOPT_CLOSESOCKETDATA, this);
    handles_.push_back(std::move(h));
    // Keep one open connection per handle: a connection cache smaller than the tasks in
    // flight would close and reopen connections between tasks.
    curl_multi_setopt(shard.multi, CURLMOPT_MAXCONNECTS, ++shard.handles);
    return *handles_.back();
  }

  // Moves every finished transfer of `shard` into `done`.
  void Collect(Shard& shard, std::vector<Completion>& done) {
    int left = 0;
    while (CURLMsg* msg = curl_multi_info_read(shard.multi, &left)) {
      if (msg->msg != CURLMSG_DONE) continue;
      Handle* h = nullptr;
      curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &h);
      const CURLcode result = msg->data.result;
      const std::string problem =
          Problem(h->easy, result, h->error, h->received, expect_bytes_, h->url->text());
      curl_multi_remove_handle(shard.multi, h->easy);  // invalidates msg
      h->active = false;
      idle_.push_back(h);
      --in_flight_;
      done.push_back(
          {.tag = h->tag,
           .output = {.value = static_cast<std::uint64_t>(h->received.bytes), .reply = {}},
           .error = problem.empty() ? "" : "api: " + problem});
    }
  }

  Urls urls_;
  std::int64_t expect_bytes_;
  std::int64_t timeout_ms_;
  std::string ca_file_;
  UniqueFd epoll_;  // closed after the multi handles (the destructor's body) are gone
  std::vector<std::unique_ptr<Shard>> shards_;  // at least one; callbacks hold their addresses
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
