// api: one HTTP GET per task with libcurl. Question it answers: do workers overlap waiting on
// the network?
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "workloads/workload.h"

namespace parbench::api {

// curl_global_init, once per process; call it before any thread starts (the api runner also
// calls it, for process workers, whose main thread builds the runner).
void GlobalInit();

// The config of an api job: GET `url` with a `timeout_ms` limit; the body must be
// `expect_bytes` long (-1: any length, for a user's own endpoint).
[[nodiscard]] Config MakeConfig(const std::string& url, std::int64_t expect_bytes,
                                std::int64_t timeout_ms);

extern const Workload kWorkload;

// Many GETs in flight at once from one thread (a curl multi handle), for measuring the server
// itself. Connections are kept alive across rounds.
class ConcurrentClient {
 public:
  ConcurrentClient(std::string url, int clients, std::int64_t timeout_ms);
  ~ConcurrentClient();
  ConcurrentClient(const ConcurrentClient&) = delete;
  ConcurrentClient& operator=(const ConcurrentClient&) = delete;
  // Sends one GET per client at once and waits for all; returns each request's time in
  // seconds. Throws WorkloadError on a transport error or a non-2xx status.
  std::vector<double> Round();
  // Body bytes received in the last round.
  [[nodiscard]] std::int64_t bytes() const { return bytes_; }

 private:
  struct Handle;
  std::string url_;
  void* multi_ = nullptr;  // CURLM*
  std::vector<std::unique_ptr<Handle>> handles_;
  std::int64_t bytes_ = 0;
};

}  // namespace parbench::api
