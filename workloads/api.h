// api: one HTTP GET per task with libcurl. Question it answers: do workers overlap waiting on
// the network?
#pragma once

#include <cstdint>
#include <string>

#include "workloads/workload.h"

namespace parbench::api {

// The largest body a task may expect (and the loopback server sends).
inline constexpr std::int64_t kMaxBytes = std::int64_t{256} << 20;

// curl_global_init, once per process; call it before any thread starts (the api runners also
// call it, for process workers, whose main thread builds the runner). Loads libcurl.
void GlobalInit();

// The config of an api job: GET `url` with a `timeout_ms` limit; the body must be
// `expect_bytes` long (-1: any length, for a user's own endpoint).
[[nodiscard]] Config MakeConfig(const std::string& url, std::int64_t expect_bytes,
                                std::int64_t timeout_ms);

// Makes task `task` of the job GET `url` instead of the job's URL (a test puts a fault into
// one in-flight slot this way). `url` may hold no spaces or ';'.
Config& SetTaskUrl(Config& config, std::uint32_t task, const std::string& url);

// The blocking form (one reused easy handle per worker) and the asynchronous form (a multi
// handle: many GETs in flight on one thread).
extern const Workload kWorkload;

// libcurl's version string ("libcurl/7.88.1 OpenSSL/3.0...").
[[nodiscard]] std::string CurlVersion();

}  // namespace parbench::api
