// The rows of the family table that measure the suite's own fixtures rather than a workload
// under an executor: the loopback server's load (family api_server) and the raw pipe
// ping-pong under the process pool's round trip (reference roundtrip/raw_pipe).
#include <algorithm>

#include "bench/probes.h"
#include "bench/suite.h"
#include "workloads/api.h"

namespace parbench {
namespace {

// The q-quantile of `values` (nearest rank); 0 when empty.
double Quantile(std::vector<double> values, double q) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const auto rank = static_cast<std::size_t>(q * static_cast<double>(values.size() - 1) + 0.5);
  return values[std::min(rank, values.size() - 1)];
}

// `clients` GETs in flight at once from one thread, through the api workload's asynchronous
// form. Shows the server is not the bottleneck: how much latency it adds beyond the wait it
// was asked for, and how many requests it held at once.
class ServerLoad final : public Probe {
 public:
  ServerLoad(api::Server& server, const Options& o, int clients)
      : server_(server),
        clients_(static_cast<std::size_t>(clients)),
        latency_ms_(o.Int("api_latency_ms")),
        bytes_(o.Int("api_bytes")),
        runner_(api::kWorkload.make_async_runner(
            api::MakeConfig(server.Url(latency_ms_, bytes_), bytes_, o.Int("api_timeout_ms")))) {
    // Open every connection before measuring.
    if (std::string problem = Round(); !problem.empty()) throw WorkloadError(problem);
    (void)server_.TakeAddedMs();
    seconds_.clear();
  }

  std::string Iterate() override {
    server_.ResetMaxInFlight();
    return Round();
  }
  [[nodiscard]] bool checks_between_iterations() const override { return true; }
  std::string AfterIteration() override {
    max_in_flight_ = std::max(max_in_flight_, server_.max_in_flight());
    for (double s : seconds_) added_ms_.push_back(s * 1e3 - static_cast<double>(latency_ms_));
    seconds_.clear();
    const std::vector<double> server_side = server_.TakeAddedMs();
    server_added_ms_.insert(server_added_ms_.end(), server_side.begin(), server_side.end());
    return "";
  }
  Counters Finish() override {
    Counters out = {{"client_added_ms_median", Quantile(added_ms_, 0.5)},
                    {"server_delay_ms_median", Quantile(server_added_ms_, 0.5)},
                    {"server_delay_ms_p99", Quantile(server_added_ms_, 0.99)}};
    if (latency_ms_ > 0) {
      const auto latency = static_cast<double>(latency_ms_);
      out.emplace_back("server_delay_pct_median",
                       100.0 * Quantile(server_added_ms_, 0.5) / latency);
      out.emplace_back("client_added_pct_median", 100.0 * Quantile(added_ms_, 0.5) / latency);
    }
    out.emplace_back("max_in_flight", max_in_flight_);
    return out;
  }

 private:
  // One GET per client at once; waits for all. Each request's time lands in seconds_.
  std::string Round() {
    std::vector<std::int64_t> started(clients_);
    for (std::size_t i = 0; i < clients_; ++i) {
      started[i] = NowNs();
      runner_->Start(static_cast<std::uint32_t>(i), {}, i);
    }
    std::string problem;
    while (runner_->in_flight() > 0) {
      for (const Completion& c : runner_->Poll(1000)) {
        seconds_.push_back(static_cast<double>(NowNs() - started[c.tag]) / 1e9);
        if (problem.empty() && !c.error.empty()) problem = c.error;
        if (problem.empty() && static_cast<std::int64_t>(c.output.value) != bytes_) {
          problem = "api_server: a response body had " + std::to_string(c.output.value) +
                    " bytes, expected " + std::to_string(bytes_);
        }
      }
    }
    return problem;
  }

  api::Server& server_;
  std::size_t clients_;
  std::int64_t latency_ms_;
  std::int64_t bytes_;
  std::unique_ptr<AsyncTaskRunner> runner_;
  std::vector<double> seconds_;
  std::vector<double> added_ms_;
  std::vector<double> server_added_ms_;
  int max_in_flight_ = 0;
};

// The floor under a process pool's round trip: 8 bytes to /bin/cat and back over two pipes.
class RawPipe final : public Probe {
 public:
  std::string Iterate() override {
    return pingpong_.Ping(++message_) ? "" : "roundtrip/raw_pipe: the echo did not come back";
  }

 private:
  PipePingPong pingpong_;
  std::uint64_t message_ = 0;
};

// Only SuiteEnv implements Fixtures in bench; these rows need the server object itself.
SuiteEnv& EnvOf(Fixtures& fixtures) { return static_cast<SuiteEnv&>(fixtures); }

const bool kServerLoad = RegisterFamily({
    .name = "api_server",
    .summary = "the loopback server's own load: 32, 256 and 1024 GETs in flight from one "
               "thread (the delay it adds, requests held at once)",
    // Only with the suite's own server (--api_url empty).
    .axes =
        [](const Options& o, int) {
          if (!o.String("api_url").empty()) return std::vector<Axis>{{"clients", {}}};
          return std::vector<Axis>{{"clients", {"32", "256", "1024"}},
                                   {"latency_ms", {std::to_string(o.Int("api_latency_ms"))}}};
        },
    .under = Under::kNoExecutor,
    .counter_specs = {{"client_added_ms_median", "ms", false},
                      {"server_delay_ms_median", "ms", false},
                      {"server_delay_ms_p99", "ms", false},
                      {"server_delay_pct_median", "%", false},
                      {"client_added_pct_median", "%", false},
                      {"max_in_flight", "", true}},
    .probe = [](const Point& point, Fixtures& fixtures) -> std::unique_ptr<Probe> {
      return std::make_unique<ServerLoad>(EnvOf(fixtures).ApiServer(), fixtures.options(),
                                          static_cast<int>(point.Int("clients")));
    },
});

const bool kRawPipe = RegisterReference({
    .family = "roundtrip",
    .name = "raw_pipe",
    .summary = "8 bytes to /bin/cat and back over two pipes: the floor under a process round trip",
    .compare_to = Scope::kStartsProcesses,
    .probe = [](Fixtures&) -> std::unique_ptr<Probe> { return std::make_unique<RawPipe>(); },
});

}  // namespace
}  // namespace parbench
