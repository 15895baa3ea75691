// The rows of the family table that measure the suite's own fixtures rather than a workload
// under an executor: the loopback server's load (family api_server), the raw pipe ping-pong
// under the process pool's round trip (reference roundtrip/raw_pipe), the spinning
// shared-memory ping-pong under every hand-off (roundtrip/raw_shm), plain process spawns under
// a pool's start-up (startup/raw_spawn/workers:W), and the raw MPI
// ping-pong and send/receive under the mpi executor's round trip and transfers
// (roundtrip/raw_mpi, transfer/raw_mpi/size:S).
#include <algorithm>
#include <cstring>

#include "bench/flags.h"
#include "bench/probes.h"
#include "bench/suite.h"
#include "executors/mpi/session.h"
#include "workloads/api.h"
#include "workloads/transfer.h"

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

// The fastest hand-off two processes can do: 8 bytes through a shared page, both sides spinning.
class RawShm final : public Probe {
 public:
  std::string Iterate() override {
    return pingpong_.Ping(++message_) ? "" : "roundtrip/raw_shm: the echo did not come back";
  }

 private:
  ShmPingPong pingpong_;
  std::uint64_t message_ = 0;
};

// What the machine charges for W processes of this binary: spawned, run to exit, waited for.
class RawSpawn final : public Probe {
 public:
  explicit RawSpawn(int processes) : processes_(processes) {}
  std::string Iterate() override { return SpawnAndReap(processes_); }

 private:
  int processes_;
};

// The floor under the mpi executor, as OSU's osu_latency measures it: `bytes` from rank 0 to
// rank 1 and back, blocking MPI_Send and MPI_Recv on both sides, no header, no dispatch. Each
// echo is checked (the timer paused) when the message is large; an 8-byte ping carries its
// iteration number, checked every time.
class RawMpi final : public Probe {
 public:
  explicit RawMpi(std::int64_t bytes)
      : out_(transfer::MakePayload(bytes)),
        in_(static_cast<std::size_t>(bytes)),
        sum_(transfer::Checksum(out_)),
        bytes_(bytes),
        echo_(1, static_cast<std::uint64_t>(bytes)) {}

  std::string Iterate() override {
    if (bytes_ == 8) std::memcpy(out_.data(), &++message_, sizeof message_);
    const std::int64_t start = NowNs();
    if (!echo_.RoundTrip(out_, in_)) return "raw_mpi: an MPI call failed";
    busy_ns_ += NowNs() - start;
    if (bytes_ == 8 && std::memcmp(in_.data(), &message_, sizeof message_) != 0) {
      return "raw_mpi: the echo did not come back";
    }
    ++round_trips_;
    return "";
  }
  [[nodiscard]] bool checks_between_iterations() const override { return bytes_ != 8; }
  std::string AfterIteration() override {
    if (transfer::Checksum(in_) != sum_)
      return "transfer/raw_mpi: the echo differs from the payload";
    std::fill(in_.begin(), in_.end(), std::byte{0});  // the next echo must arrive afresh
    return "";
  }
  // Payload bytes per second, each payload there and back (as transfer's counter).
  Counters Finish() override {
    if (bytes_ == 8 || busy_ns_ == 0) return {};
    return {{"bytes_per_second", static_cast<double>(bytes_) * static_cast<double>(round_trips_) /
                                     (static_cast<double>(busy_ns_) / 1e9)}};
  }

 private:
  std::vector<std::byte> out_;
  std::vector<std::byte> in_;
  std::uint64_t sum_;
  std::int64_t bytes_;
  std::uint64_t message_ = 0;
  std::int64_t round_trips_ = 0;
  std::int64_t busy_ns_ = 0;
  mpi::RawEcho echo_;
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
    .shown_counters = {"server_delay_ms_median", "max_in_flight"},
});

const bool kRawPipe = RegisterReference({
    .family = "roundtrip",
    .name = "raw_pipe",
    .summary = "8 bytes to /bin/cat and back over two pipes: the floor under a process round trip",
    .compare_to = Scope::kStartsProcesses,
    .probe = [](const Point&, Fixtures&) -> std::unique_ptr<Probe> {
      return std::make_unique<RawPipe>();
    },
});

const bool kRawShm = RegisterReference({
    .family = "roundtrip",
    .name = "raw_shm",
    .summary = "8 bytes to a child process and back through a shared page, both sides spinning: "
               "the fastest hand-off between two CPUs, the floor under every kind:handoff round "
               "trip",
    .compare_to = Scope::kEveryExecutor,
    .probe = [](const Point&, Fixtures&) -> std::unique_ptr<Probe> {
      return std::make_unique<RawShm>();
    },
});

const bool kRawSpawn = RegisterReference({
    .family = "startup",
    .name = "raw_spawn",
    .summary = "W processes of bench itself started with posix_spawn (vfork + exec) as workers "
               "that find end of file at once and exit 0, then waited for: the floor under a "
               "process pool's start-up",
    .compare_to = Scope::kStartsProcesses,
    .time_unit = "ms",
    .axes =
        [](const Options& o, int) {
          Axis workers{"workers", {}};
          for (int w : WorkersFlag(o).counts) workers.values.push_back(std::to_string(w));
          return std::vector<Axis>{workers};
        },
    .probe = [](const Point& point, Fixtures&) -> std::unique_ptr<Probe> {
      return std::make_unique<RawSpawn>(static_cast<int>(point.Int("workers")));
    },
});

const bool kRawMpi = RegisterReference({
    .family = "roundtrip",
    .name = "raw_mpi",
    .summary = "8 bytes from rank 0 to rank 1 and back, blocking MPI_Send/MPI_Recv (as OSU's "
               "osu_latency): the floor under an mpi round trip",
    .compare_to = Scope::kRemoteWorkers,
    .probe = [](const Point&, Fixtures&) -> std::unique_ptr<Probe> {
      return std::make_unique<RawMpi>(8);
    },
});

const bool kRawMpiTransfer = RegisterReference({
    .family = "transfer",
    .name = "raw_mpi",
    .summary = "the payload from rank 0 to rank 1 and back, blocking MPI_Send/MPI_Recv into "
               "buffers allocated once: the floor under an mpi transfer of the same size",
    .compare_to = Scope::kRemoteWorkers,
    .time_unit = "ms",
    .axes =
        [](const Options& o, int) {
          Axis size{"size", {}};
          for (std::int64_t s : o.IntList("transfer_sizes")) {
            if (s > 0) size.values.push_back(FormatBytes(s));
          }
          return std::vector<Axis>{size};
        },
    .probe = [](const Point& point, Fixtures&) -> std::unique_ptr<Probe> {
      return std::make_unique<RawMpi>(ParseBytes(point.Get("size")));
    },
});

}  // namespace
}  // namespace parbench
