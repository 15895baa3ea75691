#include "workloads/api.h"

#include "workloads/modules.h"

namespace parbench::api {

void GlobalInit() { Curl().global_init(); }

std::string CurlVersion() {
  try {
    return Curl().version();
  } catch (const WorkloadError& e) {
    return std::string("unavailable: ") + e.what();
  }
}

std::unique_ptr<ConcurrentClient> MakeConcurrentClient(const std::string& url, int clients,
                                                       std::int64_t timeout_ms) {
  return Curl().make_client(url, clients, timeout_ms);
}

Config MakeConfig(const std::string& url, std::int64_t expect_bytes, std::int64_t timeout_ms,
                  const std::string& ca_file) {
  Config config =
      Config().Set("url", url).Set("expect_bytes", expect_bytes).Set("timeout_ms", timeout_ms);
  if (!ca_file.empty()) config.Set("ca", ca_file);
  return config;
}

constexpr Workload kWorkload = {
    .name = "api",
    .summary = "an HTTP GET with libcurl (one reused handle per worker) against a loopback "
               "server that waits --api_latency_ms, then sends --api_bytes",
    .make_runner = [](const Config& config) { return Curl().make_runner(config); },
};

}  // namespace parbench::api
