// The suite's loopback HTTP server (a test harness for the api family, not a workload) on
// 127.0.0.1: waits a requested latency, then sends a requested number of bytes. Built on
// Boost.Beast/Asio: every request waits on a timer, not a thread, so hundreds can be in flight at
// once on one I/O thread.
//
// Requests: GET /?latency_ms=L&bytes=N[&status=S][&truncate=1]
//   latency_ms  wait before answering (0..600000)
//   bytes       body size (0..api::kMaxBytes); the body is ApiBody(N)
//   status      the HTTP status to answer with (default 200)
//   truncate=1  announce N bytes, send half of them, close the connection (a test fault)
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "workloads/api.h"  // kMaxBytes: the largest body an api task expects

namespace parbench::api {

// The body the server sends for `bytes`: printable text, so a truncated body is visible.
[[nodiscard]] std::string ApiBody(std::int64_t bytes);

class Server {
 public:
  // Starts listening on 127.0.0.1 on an ephemeral port, served by one I/O thread. Throws
  // std::runtime_error saying why when the thread cannot start (the process limit).
  Server();
  // Stops accepting, closes every connection and joins the I/O thread.
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  [[nodiscard]] std::uint16_t port() const;
  // The URL of a request with these parameters.
  [[nodiscard]] std::string Url(std::int64_t latency_ms, std::int64_t bytes, int status = 200,
                                bool truncate = false) const;
  // The most requests waiting or being answered at the same moment since the last reset.
  [[nodiscard]] int max_in_flight() const;
  void ResetMaxInFlight();
  // Requests answered (or being answered) since start.
  [[nodiscard]] std::int64_t requests() const;
  // Connections accepted since start.
  [[nodiscard]] std::int64_t connections() const;
  // Accepts that failed since start (out of descriptors, a connection aborted first...). The
  // server keeps accepting after each; out of descriptors, it answers the waiting connection
  // 503 "api server: out of file descriptors (...)" on a descriptor it keeps in reserve.
  [[nodiscard]] std::int64_t accept_errors() const;
  // CPU time the server's I/O threads have used since start, in ns (callers subtract it from
  // their process's: the server is harness, not what is measured).
  [[nodiscard]] std::int64_t cpu_ns() const;
  // For each request answered since the last call: how many milliseconds after its due time
  // (request read + requested latency) the server started answering it. This is the delay the
  // server itself adds; moving the body to the client is timed by the client.
  [[nodiscard]] std::vector<double> TakeAddedMs();

  struct Impl;

 private:
  // Starts one thread running the I/O loop.
  void StartIoThread();

  std::unique_ptr<Impl> impl_;
};

}  // namespace parbench::api
