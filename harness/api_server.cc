#include "harness/api_server.h"

#include <fcntl.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/sendfile.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cerrno>
#include <charconv>
#include <csignal>
#include <cstring>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <stdexcept>
#include <system_error>
#include <thread>

#include "common/resources.h"
#include "common/unique_fd.h"

namespace parbench::api {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

// I/O threads. One measured best on a 2-core machine: a second one competes with the clients
// for the cores and doubled the delay at 32 clients. Safe at any count: each connection has
// one operation pending at a time, and shared state is behind Impl::mu.
constexpr int kThreads = 1;

// How long before an answer is due its timer fires. A sleeping thread wakes late: a median
// 90 µs on this VM (p90 120 µs, with 1 ns timer slack), so a plain timer added about 0.1 ms to
// every request. Woken early, the I/O thread polls its queue until the due time instead (see
// Session::AnswerAt), still serving other connections meanwhile.
constexpr std::chrono::microseconds kWakeEarly{150};

// After a failed accept the next try waits this long, doubling while failures last up to the
// most: a lasting descriptor shortage must not spin the I/O thread, and a short one must not
// keep waiting clients long.
constexpr std::chrono::milliseconds kAcceptBackoffFirst{1};
constexpr std::chrono::milliseconds kAcceptBackoffMost{100};
// How long a connection refused for lack of descriptors may take to hang up after its answer.
constexpr std::chrono::seconds kRefusalLimit{5};

// A descriptor held in reserve: given up to accept (and answer) one connection when there are
// none left, then taken back.
UniqueFd OpenReserve() { return UniqueFd(::open("/dev/null", O_RDONLY | O_CLOEXEC)); }

struct Query {
  std::int64_t latency_ms = 0;
  std::int64_t bytes = 0;
  int status = 200;
  bool truncate = false;
  std::string error;  // non-empty: answer 400 with this text
};

// Reads the query parameters of a request target ("/?latency_ms=20&bytes=65536").
Query ParseQuery(std::string_view target) {
  Query q;
  const std::size_t question = target.find('?');
  std::string_view rest = question == std::string_view::npos ? "" : target.substr(question + 1);
  while (!rest.empty()) {
    const std::size_t amp = rest.find('&');
    const std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? "" : rest.substr(amp + 1);
    const std::size_t eq = pair.find('=');
    const std::string_view key = pair.substr(0, eq);
    const std::string_view text = eq == std::string_view::npos ? "" : pair.substr(eq + 1);
    std::int64_t value = 0;
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || ptr != text.data() + text.size()) {
      q.error = "parameter '" + std::string(key) + "' is not an integer";
      return q;
    }
    if (key == "latency_ms" && value >= 0 && value <= 600'000) {
      q.latency_ms = value;
    } else if (key == "bytes" && value >= 0 && value <= kMaxBytes) {
      q.bytes = value;
    } else if (key == "status" && value >= 100 && value <= 599) {
      q.status = static_cast<int>(value);
    } else if (key == "truncate") {
      q.truncate = value != 0;
    } else {
      q.error = "parameter '" + std::string(key) + "' is unknown or out of range";
      return q;
    }
  }
  return q;
}

}  // namespace

std::string ApiBody(std::int64_t bytes) {
  std::string body(static_cast<std::size_t>(bytes), '\n');
  // 63 printable characters then a newline: easy to read, easy to check.
  for (std::size_t i = 0; i < body.size(); ++i) {
    if (i % 64 != 63) body[i] = static_cast<char>('a' + i % 26);
  }
  return body;
}

namespace {

// A memory file holding ApiBody(bytes); on failure, why (and an invalid descriptor).
UniqueFd BodyFile(std::int64_t bytes, std::string& why) {
  UniqueFd fd(::memfd_create("parbench-api-body", MFD_CLOEXEC));
  if (!fd.valid()) {
    why = std::string("memfd_create: ") + std::strerror(errno);
    return fd;
  }
  const std::string body = ApiBody(bytes);
  for (std::size_t done = 0; done < body.size();) {
    const ssize_t n = ::write(fd.get(), body.data() + done, body.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      why = std::string("writing the body: ") + (n < 0 ? std::strerror(errno) : "no progress");
      return {};
    }
    done += static_cast<std::size_t>(n);
  }
  return fd;
}

}  // namespace

struct Server::Impl {
  asio::io_context io{kThreads};
  tcp::acceptor acceptor{io};
  std::vector<std::thread> threads;
  std::vector<pthread_t> thread_ids;  // for their CPU clocks
  std::atomic<int> in_flight{0};
  std::atomic<int> max_in_flight{0};
  std::atomic<std::int64_t> requests{0};
  std::atomic<std::int64_t> connections{0};
  std::mutex added_mu;  // the I/O thread appends, the benchmark thread takes
  std::vector<double> added_ms;
  std::mutex mu;  // guards bodies, sessions, refusals and reserve (the I/O threads share them)
  // Bodies by size, built once, each in a memory file: sendfile() hands its pages to the socket
  // without copying them, which took a sixth of the server's time with 64 KiB bodies.
  std::map<std::int64_t, std::shared_ptr<const UniqueFd>> bodies;
  // Open connections, so the destructor can close them.
  std::set<std::shared_ptr<struct Session>> sessions;
  // Connections being refused for lack of descriptors, and the descriptor kept to refuse one.
  std::set<std::shared_ptr<struct Refusal>> refusals;
  UniqueFd reserve = OpenReserve();
  // Accepting again after a failed accept (see AcceptFailed).
  asio::steady_timer accept_retry{io};
  std::chrono::milliseconds accept_backoff{0};
  std::atomic<std::int64_t> accept_errors{0};

  // The body file for `bytes`, or nullptr and why not (answered as a 500).
  std::shared_ptr<const UniqueFd> Body(std::int64_t bytes, std::string& why) {
    std::lock_guard lock(mu);
    auto& slot = bodies[bytes];
    if (!slot) {
      UniqueFd fd = BodyFile(bytes, why);
      if (!fd.valid()) return nullptr;  // not cached: the next request tries again
      slot = std::make_shared<const UniqueFd>(std::move(fd));
    }
    return slot;
  }
  void Enter() {
    const int now = ++in_flight;
    int seen = max_in_flight.load();
    while (now > seen && !max_in_flight.compare_exchange_weak(seen, now)) {
    }
  }
  void Leave() { --in_flight; }
  // Records how late a response started: now minus when it was due.
  void Started(std::chrono::steady_clock::time_point due) {
    ++requests;  // counted before the answer leaves, so a client that has it sees the count
    const std::chrono::duration<double, std::milli> late = std::chrono::steady_clock::now() - due;
    std::lock_guard lock(added_mu);
    added_ms.push_back(late.count());
  }
  void Accept();
  void AcceptFailed(const beast::error_code& ec);
  void RefuseOne(const beast::error_code& cause);
};

// One keep-alive connection: read a request, wait, answer, repeat.
struct Session : std::enable_shared_from_this<Session> {
  Session(Server::Impl& owner, tcp::socket socket)
      : server(owner), stream(std::move(socket)), timer(owner.io) {}

  Server::Impl& server;
  beast::tcp_stream stream;
  beast::flat_buffer buffer;
  http::request<http::empty_body> request;
  asio::steady_timer timer;
  std::shared_ptr<const UniqueFd> body;              // the file sendfile() reads
  std::string head;                                  // status line and fields of a 200 answer
  http::response<http::string_body> error_response;  // any answer but a 200 with a body
  std::chrono::steady_clock::time_point received;
  std::int64_t latency_ms = 0;

  void Read() {
    request = {};
    http::async_read(stream, buffer, request,
                     [self = shared_from_this()](beast::error_code ec, std::size_t) {
                       if (ec) return self->Close();
                       self->received = std::chrono::steady_clock::now();
                       self->server.Enter();
                       self->Wait();
                     });
  }

  void Wait() {
    const Query q = ParseQuery(std::string_view(request.target().data(), request.target().size()));
    latency_ms = q.error.empty() ? q.latency_ms : 0;
    const auto due = received + std::chrono::milliseconds(latency_ms);
    timer.expires_at(due - kWakeEarly);
    timer.async_wait([self = shared_from_this(), q, due](beast::error_code ec) {
      if (ec) return self->Close();
      self->AnswerAt(q, due);
    });
  }

  // Answers once `due` is reached, re-queueing itself until then: the I/O thread stays awake
  // for the last stretch but still reads other requests in between.
  void AnswerAt(const Query& q, std::chrono::steady_clock::time_point due) {
    if (std::chrono::steady_clock::now() >= due) return Answer(q);
    asio::post(server.io, [self = shared_from_this(), q, due] { self->AnswerAt(q, due); });
  }

  void Answer(const Query& q) {
    server.Started(received + std::chrono::milliseconds(latency_ms));
    const bool keep_alive = request.keep_alive();
    if (!q.error.empty()) return SendText(http::status::bad_request, q.error + "\n", keep_alive);
    if (q.status != 200) {
      return SendText(static_cast<http::status>(q.status), "status requested by the client\n",
                      keep_alive);
    }
    std::string why;
    body = server.Body(q.bytes, why);
    if (!body) {
      return SendText(http::status::internal_server_error, "api server: " + why + "\n", false);
    }
    http::response<http::empty_body> fields;
    fields.result(http::status::ok);
    fields.version(request.version());
    fields.set(http::field::content_type, "text/plain");
    // With truncate, announce every byte, send half and hang up: the client must notice.
    fields.content_length(static_cast<std::uint64_t>(q.bytes));
    fields.keep_alive(keep_alive && !q.truncate);
    std::ostringstream text;
    text << fields.base();  // the status line, the fields and the blank line
    head = std::move(text).str();
    const std::int64_t send = q.truncate ? q.bytes / 2 : q.bytes;
    SendHead(0, send, keep_alive && !q.truncate);
  }

  void SendText(http::status status, std::string text, bool keep_alive) {
    error_response = {};
    error_response.result(status);
    error_response.version(request.version());
    error_response.keep_alive(keep_alive);
    error_response.set(http::field::content_type, "text/plain");  // the client quotes it
    error_response.body() = std::move(text);
    error_response.prepare_payload();
    http::async_write(stream, error_response,
                      [self = shared_from_this(), keep_alive](beast::error_code ec, std::size_t) {
                        self->Done(ec, keep_alive);
                      });
  }

  // Before a body, the head goes out with MSG_MORE: it leaves in one segment with the start of
  // the body, and the client wakes once per answer, not twice.
  void SendHead(std::size_t offset, std::int64_t body_bytes, bool keep_alive) {
    stream.socket().async_send(asio::buffer(head.data() + offset, head.size() - offset),
                               body_bytes > 0 ? MSG_MORE : 0,
                               [self = shared_from_this(), offset, body_bytes, keep_alive](
                                   beast::error_code ec, std::size_t n) {
                                 if (ec) return self->Done(ec, false);
                                 if (offset + n < self->head.size()) {
                                   return self->SendHead(offset + n, body_bytes, keep_alive);
                                 }
                                 self->SendBody(0, body_bytes, keep_alive);
                               });
  }

  // Sends body bytes [offset, end) with sendfile(); waits for room when the socket is full.
  void SendBody(off_t offset, std::int64_t end, bool keep_alive) {
    const int socket_fd = stream.socket().native_handle();
    while (offset < end) {
      const ssize_t n =
          ::sendfile(socket_fd, body->get(), &offset, static_cast<std::size_t>(end - offset));
      if (n > 0) continue;
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        stream.socket().async_wait(tcp::socket::wait_write, [self = shared_from_this(), offset, end,
                                                             keep_alive](beast::error_code ec) {
          if (ec) return self->Done(ec, false);
          self->SendBody(offset, end, keep_alive);
        });
        return;
      }
      return Done(beast::error_code(n < 0 ? errno : EPIPE, beast::system_category()), false);
    }
    // A truncated answer (keep_alive false) ends with the server hanging up.
    Done(keep_alive ? beast::error_code() : beast::error_code(asio::error::eof), keep_alive);
  }

  void Done(beast::error_code ec, bool keep_alive) {
    server.Leave();
    if (ec || !keep_alive) return Close();
    Read();
  }

  void Close() {
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream.socket().close(ignored);
    timer.cancel();
    std::lock_guard lock(server.mu);
    server.sessions.erase(shared_from_this());
  }
};

// A connection accepted on the reserve descriptor when there was none left: answered 503 with
// the reason, then read until the client hangs up (closing with its request unread would reset
// the connection before the client reads the answer), then closed, giving the reserve back.
struct Refusal : std::enable_shared_from_this<Refusal> {
  Refusal(Server::Impl& owner, tcp::socket socket, std::string text)
      : server(owner), stream(std::move(socket)), answer(std::move(text)) {}

  Server::Impl& server;
  beast::tcp_stream stream;
  std::string answer;
  std::array<char, 1024> sink{};

  void Start() {
    stream.expires_after(kRefusalLimit);
    asio::async_write(stream, asio::buffer(answer),
                      [self = shared_from_this()](beast::error_code ec, std::size_t) {
                        if (ec) return self->Close();
                        beast::error_code ignored;
                        self->stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
                        self->Drain();
                      });
  }

  void Drain() {
    stream.async_read_some(asio::buffer(sink),
                           [self = shared_from_this()](beast::error_code ec, std::size_t) {
                             if (ec) return self->Close();  // end of file, or the limit
                             self->Drain();
                           });
  }

  void Close() {
    beast::error_code ignored;
    stream.socket().close(ignored);
    std::lock_guard lock(server.mu);
    server.refusals.erase(shared_from_this());
    if (!server.reserve.valid()) server.reserve = OpenReserve();
  }
};

void Server::Impl::Accept() {
  acceptor.async_accept([this](beast::error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !acceptor.is_open()) return;  // shutting down
    if (ec) return AcceptFailed(ec);
    accept_backoff = std::chrono::milliseconds(0);
    socket.set_option(tcp::no_delay(true));  // answers must not wait for Nagle
    socket.native_non_blocking(true);        // sendfile() must not block the I/O thread
    ++connections;
    auto session = std::make_shared<Session>(*this, std::move(socket));
    {
      std::lock_guard lock(mu);
      sessions.insert(session);
    }
    session->Read();
    Accept();
  });
}

// A failed accept (out of descriptors, a connection aborted before it was taken, out of
// memory...) leaves the listening socket usable: accept again after a pause. Before, one such
// error ended the accept loop, and every later request of the run timed out.
void Server::Impl::AcceptFailed(const beast::error_code& ec) {
  ++accept_errors;
  if (ec.value() == EMFILE || ec.value() == ENFILE) RefuseOne(ec);
  accept_backoff = std::clamp(accept_backoff * 2, kAcceptBackoffFirst, kAcceptBackoffMost);
  accept_retry.expires_after(accept_backoff);
  accept_retry.async_wait([this](beast::error_code wait_ec) {
    if (wait_ec || !acceptor.is_open()) return;  // cancelled: shutting down
    Accept();
  });
}

// Out of descriptors: the oldest waiting connection is accepted on the reserve descriptor and
// answered 503 with the reason, so its client says why instead of timing out.
void Server::Impl::RefuseOne(const beast::error_code& cause) {
  std::lock_guard lock(mu);
  if (!reserve.valid()) return;  // still refusing an earlier connection
  reserve.Reset();
  const int fd = ::accept4(acceptor.native_handle(), nullptr, nullptr, SOCK_CLOEXEC);
  if (fd < 0) {  // nothing waits any more, or another thread took the descriptor
    reserve = OpenReserve();
    return;
  }
  const std::string body = "api server: out of file descriptors (accept: " + cause.message() +
                           "; its limit is " + std::to_string(resources::DescriptorLimit()) +
                           ", ulimit -n)\n";
  std::string answer =
      "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\n"
      "Content-Length: " +
      std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
  beast::error_code ec;
  tcp::socket socket(io);
  socket.assign(tcp::v4(), fd, ec);
  if (ec) {
    ::close(fd);
    reserve = OpenReserve();
    return;
  }
  auto refusal = std::make_shared<Refusal>(*this, std::move(socket), std::move(answer));
  refusals.insert(refusal);
  refusal->Start();
}

Server::Server() : impl_(std::make_unique<Impl>()) {
  const tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), 0);
  impl_->acceptor.open(endpoint.protocol());
  impl_->acceptor.set_option(asio::socket_base::reuse_address(true));
  impl_->acceptor.bind(endpoint);
  impl_->acceptor.listen(asio::socket_base::max_listen_connections);
  impl_->Accept();
  for (int i = 0; i < kThreads; ++i) {
    try {
      StartIoThread();
    } catch (const std::system_error& e) {
      // Joinable threads must not reach the unwinding (std::terminate): stop and join them.
      impl_->io.stop();
      for (auto& t : impl_->threads) t.join();
      throw std::runtime_error(std::string("api server: cannot start its I/O thread: ") +
                               std::strerror(e.code().value()));
    }
  }
}

void Server::StartIoThread() {
  impl_->threads.emplace_back([this] {
    ::pthread_setname_np(::pthread_self(), "api-server");  // for top, perf and gdb
    // sendfile() has no MSG_NOSIGNAL: writing to a connection the client has reset raises
    // SIGPIPE, which by default ends the process. Blocked here, it stays pending on this
    // thread alone and the call just fails with EPIPE.
    sigset_t pipe_signal;
    sigemptyset(&pipe_signal);
    sigaddset(&pipe_signal, SIGPIPE);
    ::pthread_sigmask(SIG_BLOCK, &pipe_signal, nullptr);
    // Timers may fire up to the thread's timer slack late (50 µs by default): ask for none.
    ::prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
    // The server is harness, not the thing measured: when a timer fires it should get a
    // core before the many client threads it competes with. Needs CAP_SYS_NICE (root);
    // without it the server runs at normal priority.
    ::setpriority(PRIO_PROCESS, static_cast<id_t>(::syscall(SYS_gettid)), -20);
    impl_->io.run();
  });
  impl_->thread_ids.push_back(impl_->threads.back().native_handle());
}

Server::~Server() {
  asio::post(impl_->io, [this] {
    beast::error_code ignored;
    impl_->acceptor.close(ignored);
    impl_->accept_retry.cancel();
    std::set<std::shared_ptr<Session>> sessions;
    std::set<std::shared_ptr<Refusal>> refusals;
    {
      std::lock_guard lock(impl_->mu);
      sessions = impl_->sessions;  // copies: Close() erases from the sets
      refusals = impl_->refusals;
    }
    for (const auto& s : sessions) s->Close();
    for (const auto& r : refusals) r->Close();
  });
  for (auto& t : impl_->threads) t.join();
}

std::uint16_t Server::port() const { return impl_->acceptor.local_endpoint().port(); }

std::string Server::Url(std::int64_t latency_ms, std::int64_t bytes, int status,
                        bool truncate) const {
  std::string url = "http://127.0.0.1:" + std::to_string(port()) +
                    "/?latency_ms=" + std::to_string(latency_ms) +
                    "&bytes=" + std::to_string(bytes);
  if (status != 200) url += "&status=" + std::to_string(status);
  if (truncate) url += "&truncate=1";
  return url;
}

int Server::max_in_flight() const { return impl_->max_in_flight.load(); }
void Server::ResetMaxInFlight() { impl_->max_in_flight.store(impl_->in_flight.load()); }
std::int64_t Server::requests() const { return impl_->requests.load(); }
std::int64_t Server::connections() const { return impl_->connections.load(); }
std::int64_t Server::accept_errors() const { return impl_->accept_errors.load(); }

std::int64_t Server::cpu_ns() const {
  std::int64_t total = 0;
  for (pthread_t id : impl_->thread_ids) {
    clockid_t clock{};
    timespec ts{};
    // The thread runs until the destructor joins it, so its id is valid here.
    if (::pthread_getcpuclockid(id, &clock) == 0 && ::clock_gettime(clock, &ts) == 0) {
      total += std::int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
    }
  }
  return total;
}

std::vector<double> Server::TakeAddedMs() {
  std::lock_guard lock(impl_->added_mu);
  return std::exchange(impl_->added_ms, {});
}

}  // namespace parbench::api
