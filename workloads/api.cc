#include "workloads/api.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>

#include "workloads/family.h"
#include "workloads/modules.h"

namespace parbench::api {
namespace {

void CheckUrl(std::string_view name, const std::string& url) {
  const bool scheme = url.rfind("http://", 0) == 0 || url.rfind("https://", 0) == 0;
  if (!scheme || url.find_first_of(" \t\n") != std::string::npos) {
    throw FlagError("--" + std::string(name) + "='" + url +
                    "' is invalid: allowed is an http:// or https:// URL without spaces");
  }
}

void CheckReadableFile(std::string_view name, const std::string& path) {
  if (path.empty() || ::access(path.c_str(), R_OK) != 0) {
    throw FlagError(
        "--" + std::string(name) + "='" + path + "' is invalid: allowed is a readable file" +
        (path.empty() ? std::string() : std::string(" (") + std::strerror(errno) + ")"));
  }
}

Prepared Prepare(const Point&, Fixtures& fixtures) {
  const Options& o = fixtures.options();
  const std::string& user_url = o.String("api_url");
  const bool own_server = user_url.empty();
  const std::int64_t bytes = o.Int("api_bytes");
  const std::string url =
      own_server ? fixtures.LoopbackHttpUrl(o.Int("api_latency_ms"), bytes) : user_url;
  // The body size every answer must have: the server's own, or what the user expects of theirs
  // (-1: any size, still counted).
  const std::int64_t expect = own_server ? bytes : o.Int("api_expect_bytes");
  auto check = expect >= 0 ? ExpectValue(static_cast<std::uint64_t>(expect), " bytes")
                           : [](std::uint32_t, const TaskOutput&) { return std::string(); };
  return {.job = {"api", MakeConfig(url, expect, o.Int("api_timeout_ms"), o.String("api_ca"))},
          .payload = {},
          .tasks = static_cast<std::uint32_t>(o.Int("tasks")),
          .check = std::move(check)};
}

Counters Report(const Point&, const Prepared& p, const Measurement& m, Fixtures& fixtures) {
  const Options& o = fixtures.options();
  Counters out = {
      {"bytes_per_request",
       static_cast<double>(m.value_sum) / static_cast<double>(std::max<std::int64_t>(m.tasks, 1))}};
  // What a request costs in CPU: an event loop's claim is less CPU, not only more overlap.
  // The whole tree (every worker thread and process), without the loopback server's thread,
  // which serves every executor alike and is reported on its own. cpu_per_request_us is the
  // name users know; client_cpu_per_request_us is the same figure under a name that says
  // what it leaves out (the server runs inside bench: "the tree's CPU" would include it).
  if (m.cpu_ns >= 0 && m.tasks > 0) {
    const auto requests = static_cast<double>(m.tasks);
    const double client_us = static_cast<double>(m.cpu_ns) / 1e3 / requests;
    out.emplace_back("cpu_per_request_us", client_us);
    out.emplace_back("client_cpu_per_request_us", client_us);
    if (o.String("api_url").empty()) {
      out.emplace_back("server_cpu_per_request_us",
                       static_cast<double>(m.harness_cpu_ns) / 1e3 / requests);
    }
  }
  if (!o.String("api_url").empty()) return out;  // a real endpoint's latency is unknown: no ideal
  // How late the server started its answers during this benchmark: proof that it was not the
  // bottleneck at this worker count.
  std::vector<double> delays = fixtures.TakeServerDelaysMs();
  if (!delays.empty()) {
    const auto mid = delays.begin() + static_cast<std::ptrdiff_t>(delays.size() / 2);
    std::nth_element(delays.begin(), mid, delays.end());
    out.emplace_back("server_delay_ms_median", *mid);
  }
  // Perfect overlap: ceil(tasks / W) rounds of one latency each.
  const double rounds = std::ceil(static_cast<double>(p.tasks) / m.workers);
  const double ideal_s = rounds * static_cast<double>(o.Int("api_latency_ms")) / 1e3;
  out.emplace_back("ideal_fraction", ideal_s / (m.seconds() / static_cast<double>(m.iterations)));
  return out;
}

}  // namespace

void GlobalInit() { Curl().global_init(); }

std::string CurlVersion() {
  try {
    return Curl().version();
  } catch (const WorkloadError& e) {
    return std::string("unavailable: ") + e.what();
  }
}

Config MakeConfig(const std::string& url, std::int64_t expect_bytes, std::int64_t timeout_ms,
                  const std::string& ca_file) {
  Config config =
      Config().Set("url", url).Set("expect_bytes", expect_bytes).Set("timeout_ms", timeout_ms);
  if (!ca_file.empty()) config.Set("ca", ca_file);
  return config;
}

Config& SetTaskUrl(Config& config, std::uint32_t task, const std::string& url) {
  if (url.empty() || url.find_first_of(" \t\n;") != std::string::npos) {
    throw WorkloadError("api: a task URL may not be empty or hold spaces or ';': '" + url + "'");
  }
  const std::string before = config.GetString("task_urls", "");
  return config.Set("task_urls",
                    before + (before.empty() ? "" : " ") + std::to_string(task) + " " + url);
}

constexpr Workload kWorkload = {
    .name = "api",
    .summary =
        "an HTTP GET with libcurl (one reused handle per worker) against a loopback "
        "server that waits --api_latency_ms, then sends --api_bytes",
    .make_runner = [](const Config& config) { return Curl().make_runner(config); },
    .make_async_runner = [](const Config& config) { return Curl().make_async_runner(config); },
};

namespace {

const bool kRegistered = RegisterFamily({
    .workload = &kWorkload,
    .flags = {{.name = "api_latency_ms",
               .lo = 0,
               .hi = 60'000,
               .default_value = "20",
               .help = "api: the loopback server's wait before answering"},
              {.name = "api_bytes",
               .lo = 0,
               .hi = kMaxBytes,
               .default_value = "65536",
               .help = "api: the loopback server's body size in bytes"},
              {.name = "api_timeout_ms",
               .lo = 1,
               .hi = 600'000,
               .default_value = "10000",
               .help = "api: limit per request"},
              {.name = "api_url",
               .type = FlagType::kString,
               .default_value = "",
               .help = "api: GET this URL instead of the loopback server",
               .allowed = "an http:// or https:// URL without spaces",
               .default_help = "the suite's own server on 127.0.0.1",
               .check = CheckUrl},
              {.name = "api_expect_bytes",
               .lo = -1,
               .hi = kMaxBytes,
               .default_value = "-1",
               .help = "api: with --api_url, the body size every answer must have (-1: any)"},
              {.name = "api_ca",
               .type = FlagType::kString,
               .help = "api: with an https --api_url, the CA file its certificate is checked "
                       "against",
               .allowed = "a readable file",
               .default_help = "the system's CA bundle",
               .check = CheckReadableFile}},
    .prepare = Prepare,
    .counters = Report,
    .counter_specs = {{"server_delay_ms_median", "ms", false},
                      {"ideal_fraction", "", true},
                      {"bytes_per_request", "B", true},
                      {"cpu_per_request_us", "us", false},
                      {"client_cpu_per_request_us", "us", false},
                      {"server_cpu_per_request_us", "us", false}},
    .waits = true,
    .shown_counters = {"ideal_fraction", "client_cpu_per_request_us"},
    .context =
        [] {
          return std::vector<std::pair<std::string, std::string>>{
              {"libcurl_version", CurlVersion()}};
        },
});

}  // namespace
}  // namespace parbench::api
