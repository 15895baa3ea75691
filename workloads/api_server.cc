#include "workloads/api_server.h"

#include <pthread.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <charconv>
#include <map>
#include <mutex>
#include <set>
#include <thread>

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

struct Server::Impl {
  asio::io_context io{kThreads};
  tcp::acceptor acceptor{io};
  std::vector<std::thread> threads;
  std::atomic<int> in_flight{0};
  std::atomic<int> max_in_flight{0};
  std::atomic<std::int64_t> requests{0};
  std::atomic<std::int64_t> connections{0};
  std::mutex added_mu;  // the I/O thread appends, the benchmark thread takes
  std::vector<double> added_ms;
  std::mutex mu;  // guards bodies and sessions (the I/O threads share them)
  // Bodies by size, built once.
  std::map<std::int64_t, std::shared_ptr<const std::string>> bodies;
  // Open connections, so the destructor can close them.
  std::set<std::shared_ptr<struct Session>> sessions;

  std::shared_ptr<const std::string> Body(std::int64_t bytes) {
    std::lock_guard lock(mu);
    auto& slot = bodies[bytes];
    if (!slot) slot = std::make_shared<const std::string>(ApiBody(bytes));
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
  std::shared_ptr<const std::string> body;
  http::response<http::span_body<const char>> response;
  http::response<http::string_body> error_response;
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
    timer.expires_at(received + std::chrono::milliseconds(latency_ms));
    timer.async_wait([self = shared_from_this(), q](beast::error_code ec) {
      if (ec) return self->Close();
      self->Answer(q);
    });
  }

  void Answer(const Query& q) {
    server.Started(received + std::chrono::milliseconds(latency_ms));
    const bool keep_alive = request.keep_alive();
    if (!q.error.empty() || q.status != 200) {
      error_response = {};
      error_response.result(q.error.empty() ? static_cast<http::status>(q.status)
                                            : http::status::bad_request);
      error_response.version(request.version());
      error_response.keep_alive(keep_alive);
      error_response.body() = q.error.empty() ? "status requested by the client\n" : q.error + "\n";
      error_response.prepare_payload();
      http::async_write(stream, error_response,
                        [self = shared_from_this(), keep_alive](beast::error_code ec, std::size_t) {
                          self->Done(ec, keep_alive);
                        });
      return;
    }
    body = server.Body(q.bytes);
    response = {};
    response.result(http::status::ok);
    response.version(request.version());
    response.set(http::field::content_type, "text/plain");
    response.keep_alive(keep_alive && !q.truncate);
    if (q.truncate) {
      // Announce the full size, send half, hang up: the client must notice.
      response.content_length(body->size());
      response.body() = {body->data(), body->size() / 2};
      auto serializer = std::make_shared<http::response_serializer<http::span_body<const char>>>(response);
      serializer->split(false);
      http::async_write(stream, *serializer,
                        [self = shared_from_this(), serializer](beast::error_code, std::size_t) {
                          self->Done(beast::error_code(asio::error::eof), false);
                        });
      return;
    }
    response.body() = {body->data(), body->size()};
    response.prepare_payload();
    http::async_write(stream, response,
                      [self = shared_from_this(), keep_alive](beast::error_code ec, std::size_t) {
                        self->Done(ec, keep_alive);
                      });
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

void Server::Impl::Accept() {
  acceptor.async_accept([this](beast::error_code ec, tcp::socket socket) {
    if (ec) return;  // the acceptor was closed: shutting down
    socket.set_option(tcp::no_delay(true));  // answers must not wait for Nagle
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

Server::Server() : impl_(std::make_unique<Impl>()) {
  const tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), 0);
  impl_->acceptor.open(endpoint.protocol());
  impl_->acceptor.set_option(asio::socket_base::reuse_address(true));
  impl_->acceptor.bind(endpoint);
  impl_->acceptor.listen(asio::socket_base::max_listen_connections);
  impl_->Accept();
  for (int i = 0; i < kThreads; ++i) {
    impl_->threads.emplace_back([this] {
      ::pthread_setname_np(::pthread_self(), "api-server");  // for top, perf and gdb
      // Timers may fire up to the thread's timer slack late (50 µs by default): ask for none.
      ::prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
      // The server is harness, not the thing measured: when a timer fires it should get a
      // core before the many client threads it competes with. Needs CAP_SYS_NICE (root);
      // without it the server runs at normal priority.
      ::setpriority(PRIO_PROCESS, static_cast<id_t>(::syscall(SYS_gettid)), -20);
      impl_->io.run();
    });
  }
}

Server::~Server() {
  asio::post(impl_->io, [this] {
    beast::error_code ignored;
    impl_->acceptor.close(ignored);
    std::set<std::shared_ptr<Session>> sessions;
    {
      std::lock_guard lock(impl_->mu);
      sessions = impl_->sessions;  // a copy: Close() erases from the set
    }
    for (const auto& s : sessions) s->Close();
  });
  for (auto& t : impl_->threads) t.join();
}

std::uint16_t Server::port() const { return impl_->acceptor.local_endpoint().port(); }

std::string Server::Url(std::int64_t latency_ms, std::int64_t bytes, int status,
                        bool truncate) const {
  std::string url = "http://127.0.0.1:" + std::to_string(port()) +
                    "/?latency_ms=" + std::to_string(latency_ms) + "&bytes=" + std::to_string(bytes);
  if (status != 200) url += "&status=" + std::to_string(status);
  if (truncate) url += "&truncate=1";
  return url;
}

int Server::max_in_flight() const { return impl_->max_in_flight.load(); }
void Server::ResetMaxInFlight() { impl_->max_in_flight.store(impl_->in_flight.load()); }
std::int64_t Server::requests() const { return impl_->requests.load(); }
std::int64_t Server::connections() const { return impl_->connections.load(); }

std::vector<double> Server::TakeAddedMs() {
  std::lock_guard lock(impl_->added_mu);
  return std::exchange(impl_->added_ms, {});
}

}  // namespace parbench::api
