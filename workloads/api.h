// api: one HTTP GET per task with libcurl. Question it answers: do workers overlap waiting on
// the network?
#pragma once

#include <cstdint>
#include <string>

#include "workloads/workload.h"

namespace parbench::api {

// The largest body a task may expect (and the loopback server sends).
inline constexpr std::int64_t kMaxBytes = std::int64_t{256} << 20;

// Loads libcurl's module and runs curl_global_init, once per process. The api runners call it
// themselves (libcurl's init is thread-safe since 7.84 when built with the threadsafe feature,
// as Debian's is). Throws WorkloadError when the module cannot be loaded.
void GlobalInit();

// The config of an api job: GET `url` with a `timeout_ms` limit; the body must be
// `expect_bytes` long (-1: any length). `ca_file`, when not empty, is the CA bundle an https
// server's certificate is checked against (CURLOPT_CAINFO), for an endpoint with a private CA.
// A task's value is the body's size in bytes, for any URL.
[[nodiscard]] Config MakeConfig(const std::string& url, std::int64_t expect_bytes,
                                std::int64_t timeout_ms, const std::string& ca_file = "");

// Makes task `task` of the job GET `url` instead of the job's URL (a test puts a fault into
// one in-flight slot this way). `url` may hold no spaces or ';'.
Config& SetTaskUrl(Config& config, std::uint32_t task, const std::string& url);

// The blocking form (one reused easy handle per worker) and the asynchronous form (a multi
// handle: many GETs in flight on one thread).
extern const Workload kWorkload;

// libcurl's version string ("libcurl/7.88.1 OpenSSL/3.0..."); "unavailable: " and why when
// its module cannot be loaded.
[[nodiscard]] std::string CurlVersion();

}  // namespace parbench::api
