// The case table: every workload variant the suite measures, with its inputs and checks.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <thread>

#include "bench/suite.h"
#include "workloads/api.h"
#include "workloads/cpu.h"
#include "workloads/dot.h"
#include "workloads/io.h"
#include "workloads/transfer.h"

namespace parbench {
namespace {

using Check = std::function<std::string(const Result&)>;

// A check that every task returned `expected`.
Check ExpectValue(std::uint64_t expected, const std::string& what = "") {
  return [expected, what](const Result& r) -> std::string {
    if (r.value == expected) return "";
    return "returned " + std::to_string(r.value) + what + ", expected " + std::to_string(expected);
  };
}

double Seconds(const Measurement& m) { return static_cast<double>(m.wall_ns) / 1e9; }

CaseSpec CpuCase(const SuiteOptions& o) {
  return {.workload = "cpu",
          .args = {},
          .prepare =
              [n = o.cpu_n, tasks = o.tasks] {
                // One reference run, outside any timed region, checks every task.
                const auto expected = cpu::Spin(static_cast<std::uint64_t>(n), cpu::kSeed);
                return Prepared{.job = {"cpu", cpu::MakeConfig(n)},
                                .payload = {},
                                .tasks = static_cast<std::uint32_t>(tasks),
                                .check = ExpectValue(expected)};
              },
          .counters = {}};
}

// One serial task of n and of 2n steps: its time must double, or the loop was folded.
CaseSpec CpuScalingCase(std::int64_t steps) {
  return {.workload = "cpu_scaling",
          .args = {{"steps", std::to_string(steps)}},
          .executors = {ExecutorKind::kSerial},
          .prepare =
              [steps] {
                const auto expected = cpu::Spin(static_cast<std::uint64_t>(steps), cpu::kSeed);
                return Prepared{.job = {"cpu", cpu::MakeConfig(steps)},
                                .payload = {},
                                .tasks = 1,
                                .check = ExpectValue(expected)};
              },
          .counters =
              [steps](benchmark::State& state, const Prepared&, const Measurement& m) {
                state.counters["ns_per_step"] = static_cast<double>(m.wall_ns) /
                                                static_cast<double>(m.iterations) /
                                                static_cast<double>(steps);
              }};
}

CaseSpec ApiCase(SuiteEnv& env) {
  const SuiteOptions& o = env.options;
  const bool own_server = o.api_url.empty();
  return {
      .workload = "api",
      .args = {},
      .prepare =
          [&env, own_server] {
            const SuiteOptions& opt = env.options;
            const std::string url =
                own_server ? env.ApiServer().Url(opt.api_latency_ms, opt.api_bytes) : opt.api_url;
            const std::int64_t expect = own_server ? opt.api_bytes : -1;
            Check check = own_server ? ExpectValue(static_cast<std::uint64_t>(expect), " bytes")
                                     : Check([](const Result&) { return std::string(); });
            return Prepared{.job = {"api", api::MakeConfig(url, expect, opt.api_timeout_ms)},
                            .payload = {},
                            .tasks = static_cast<std::uint32_t>(opt.tasks),
                            .check = std::move(check)};
          },
      .counters =
          [&env, own_server, latency_ms = o.api_latency_ms](
              benchmark::State& state, const Prepared& p, const Measurement& m) {
            if (!own_server) return;  // a real endpoint's latency is unknown: no ideal
            // How late the server started its answers during this benchmark: proof that it
            // was not the bottleneck at this worker count.
            std::vector<double> delays = env.ApiServer().TakeAddedMs();
            if (!delays.empty()) {
              std::nth_element(delays.begin(), delays.begin() + static_cast<std::ptrdiff_t>(delays.size() / 2), delays.end());
              state.counters["server_delay_ms_median"] = delays[delays.size() / 2];
            }
            // Perfect overlap: ceil(tasks / W) rounds of one latency each.
            const double rounds = std::ceil(static_cast<double>(p.tasks) / m.workers);
            const double ideal_s = rounds * static_cast<double>(latency_ms) / 1e3;
            const double per_iteration_s = Seconds(m) / static_cast<double>(m.iterations);
            state.counters["ideal_fraction"] = ideal_s / per_iteration_s;
          }};
}

CaseSpec IoCase(SuiteEnv& env, bool durable, bool local) {
  const SuiteOptions& o = env.options;
  return {.workload = "io",
          .args = {{"mode", durable ? "durable" : "buffered"},
                   {"payload", local ? "local" : "shipped"}},
          .prepare =
              [&env, durable, local] {
                const SuiteOptions& opt = env.options;
                const std::string& dir = env.MakeTempDir();
                return Prepared{
                    .job = {"io", io::MakeConfig(dir, durable, opt.io_bytes, local)},
                    // Shipped: built once here and sent with every task, as pickling would.
                    .payload = local ? std::vector<std::byte>{} : io::MakeText(opt.io_bytes),
                    .tasks = static_cast<std::uint32_t>(opt.tasks),
                    .check = ExpectValue(static_cast<std::uint64_t>(opt.io_bytes), " bytes written")};
              },
          .counters =
              [bytes = o.io_bytes](benchmark::State& state, const Prepared&, const Measurement& m) {
                state.counters["bytes_per_second"] =
                    static_cast<double>(bytes) * static_cast<double>(m.tasks) / Seconds(m);
              }};
}

CaseSpec DotCase(const SuiteOptions& o, int blas_threads) {
  return {.workload = "dot",
          .args = {{"blas_threads", std::to_string(blas_threads)}},
          .prepare =
              [n = o.dot_n, tasks = o.tasks, blas_threads] {
                return Prepared{.job = {"dot", dot::MakeConfig(n, blas_threads)},
                                .payload = {},
                                .tasks = static_cast<std::uint32_t>(tasks),
                                .check = ExpectValue(dot::ExpectedSum(n), " as the sum of C")};
              },
          .counters =
              [n = o.dot_n](benchmark::State& state, const Prepared&, const Measurement& m) {
                state.counters["gflops"] =
                    dot::Flops(n) * static_cast<double>(m.tasks) / Seconds(m) / 1e9;
              }};
}

CaseSpec OverheadCase(const SuiteOptions& o) {
  return {.workload = "overhead",
          .args = {},
          .prepare =
              [tasks = o.overhead_tasks] {
                return Prepared{.job = {"overhead", Config()},
                                .payload = {},
                                .tasks = static_cast<std::uint32_t>(tasks),
                                .check = [](const Result& r) -> std::string {
                                  if (r.value == r.span.task) return "";
                                  return "returned " + std::to_string(r.value);
                                }};
              },
          .counters =
              [](benchmark::State& state, const Prepared&, const Measurement& m) {
                state.counters["ns_per_task"] =
                    static_cast<double>(m.wall_ns) / static_cast<double>(m.tasks);
              }};
}

// transport:shm is registered for processes only (threads share memory anyway); the tools
// take its serial baseline from the same size's pipe case.
CaseSpec TransferCase(const SuiteOptions& o, std::int64_t size, Transport transport) {
  CaseSpec spec{
          .workload = "transfer",
          .args = {{"size", FormatBytes(size)}},
          .transport = transport,
          .prepare =
              [size, tasks = o.transfer_tasks] {
                Prepared p{.job = {"transfer", Config()},
                           .payload = transfer::MakePayload(size),
                           .tasks = static_cast<std::uint32_t>(tasks),
                           .check = {}};
                const std::uint64_t sum = transfer::Checksum(p.payload);
                p.check = [sum, size](const Result& r) -> std::string {
                  if (r.value != sum) return "the worker saw a different payload";
                  if (static_cast<std::int64_t>(r.reply.size()) != size) {
                    return "the reply has " + std::to_string(r.reply.size()) + " bytes, expected " +
                           std::to_string(size);
                  }
                  if (transfer::Checksum(r.reply) != sum) return "the reply differs from the payload";
                  return "";
                };
                return p;
              },
          .counters =
              [size](benchmark::State& state, const Prepared&, const Measurement& m) {
                // Payload bytes per second, each payload travelling there and back.
                state.counters["bytes_per_second"] =
                    static_cast<double>(size) * static_cast<double>(m.tasks) / Seconds(m);
              }};
  if (transport == Transport::kShm) {
    spec.args.emplace_back("transport", std::string(ToString(transport)));
    spec.executors = {ExecutorKind::kProcesses};
  }
  return spec;
}

// One empty task per iteration: the latency of a single dispatch and reply.
CaseSpec RoundtripCase() {
  return {.workload = "roundtrip",
          .args = {},
          .prepare =
              [] {
                return Prepared{.job = {"overhead", Config()},
                                .payload = {},
                                .tasks = 1,
                                .check = [](const Result& r) -> std::string {
                                  return r.value == r.span.task ? "" : "wrong value";
                                }};
              },
          .counters = {}};
}

// Start a pool, one empty task per worker, shut it down. With parent_mb > 0 the parent first
// touches that much memory: a fork would copy its page tables, vfork does not.
CaseSpec StartupCase(std::int64_t parent_mb) {
  CaseSpec spec{.workload = "startup",
                .args = {},
                .body = Body::kStartup,
                .prepare =
                    [parent_mb] {
                      std::shared_ptr<void> hold;
                      if (parent_mb > 0) {
                        auto memory = std::make_shared<std::vector<char>>(
                            static_cast<std::size_t>(parent_mb) << 20);
                        for (std::size_t i = 0; i < memory->size(); i += 4096) (*memory)[i] = 1;
                        hold = memory;
                        // Then let the machine settle, outside the timing. On this VM any
                        // process start is about 40% slower for up to a second after 1 GiB of
                        // fresh memory is touched (a plain C vfork+exec loop shows it too, and
                        // shows nothing a second later): the host at work, not the spawn.
                        std::this_thread::sleep_for(std::chrono::seconds(2));
                      }
                      return Prepared{.job = {"overhead", Config()},
                                      .payload = {},
                                      .tasks = 0,  // one per worker, set by the startup body
                                      .check = [](const Result& r) -> std::string {
                                        return r.value == r.span.task ? "" : "wrong value";
                                      },
                                      .hold = std::move(hold)};
                    },
                .counters = {}};
  if (parent_mb > 0) {
    spec.args = {{"parent_mem", FormatBytes(parent_mb << 20)}};
    spec.executors = {ExecutorKind::kProcesses};
  }
  return spec;
}

}  // namespace

std::vector<CaseSpec> MakeCases(SuiteEnv& env) {
  const SuiteOptions& o = env.options;
  std::vector<CaseSpec> cases;
  cases.push_back(CpuCase(o));
  cases.push_back(CpuScalingCase(o.cpu_n));
  cases.push_back(CpuScalingCase(2 * o.cpu_n));
  cases.push_back(ApiCase(env));
  for (bool durable : {false, true}) {
    for (bool local : {false, true}) cases.push_back(IoCase(env, durable, local));
  }
  const int cores = static_cast<int>(std::max(1U, std::thread::hardware_concurrency()));
  cases.push_back(DotCase(o, 1));
  if (cores > 1) cases.push_back(DotCase(o, cores));
  cases.push_back(OverheadCase(o));
  for (Transport transport : {Transport::kPipe, Transport::kShm}) {
    for (std::int64_t size : o.transfer_sizes) cases.push_back(TransferCase(o, size, transport));
  }
  cases.push_back(RoundtripCase());
  cases.push_back(StartupCase(0));
  cases.push_back(StartupCase(1024));
  return cases;
}

}  // namespace parbench
