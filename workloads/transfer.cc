#include "workloads/transfer.h"

#include <chrono>
#include <cstring>
#include <thread>
#include <vector>

#include "workloads/family.h"

namespace parbench::transfer {
namespace {

class EchoRunner final : public TaskRunner {
 public:
  TaskOutput Run(std::uint32_t, std::span<const std::byte> payload) override {
    return {.value = Checksum(payload), .reply = payload};
  }
};

class EmptyRunner final : public TaskRunner {
 public:
  TaskOutput Run(std::uint32_t index, std::span<const std::byte>) override {
    return {.value = index, .reply = {}};
  }
};

}  // namespace

std::uint64_t Checksum(std::span<const std::byte> data) {
  std::uint64_t sum = 0;
  std::size_t i = 0;
  for (; i + 8 <= data.size(); i += 8) {
    std::uint64_t word;
    std::memcpy(&word, data.data() + i, 8);
    sum += word;
  }
  for (; i < data.size(); ++i) sum += std::to_integer<std::uint8_t>(data[i]);
  return sum;
}

std::vector<std::byte> MakePayload(std::int64_t bytes) {
  std::vector<std::byte> out(static_cast<std::size_t>(bytes));
  std::uint64_t x = 0x9E3779B97F4A7C15ULL;
  for (std::size_t i = 0; i < out.size(); ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    out[i] = static_cast<std::byte>(x);
  }
  return out;
}

constexpr Workload kEcho = {
    .name = "transfer",
    .summary = "returns the payload it was given (sizes from --transfer_sizes)",
    .make_runner = [](const Config&) -> std::unique_ptr<TaskRunner> {
      return std::make_unique<EchoRunner>();
    },
};

constexpr Workload kOverhead = {
    .name = "overhead",
    .summary = "an empty task, --overhead_tasks per iteration",
    .make_runner = [](const Config&) -> std::unique_ptr<TaskRunner> {
      return std::make_unique<EmptyRunner>();
    },
};

namespace {

// An empty task proves it ran by returning its own index.
std::string ReturnsIndex(std::uint32_t task, const TaskOutput& out) {
  return out.value == task ? "" : "returned " + std::to_string(out.value);
}

Prepared EmptyTasks(std::uint32_t tasks, std::shared_ptr<void> hold = nullptr) {
  return {.job = {"overhead", Config()},
          .payload = {},
          .tasks = tasks,
          .check = ReturnsIndex,
          .hold = std::move(hold)};
}

Prepared PrepareTransfer(const Point& point, Fixtures& f) {
  const std::int64_t size = ParseBytes(point.Get("size"));
  Prepared p{.job = {"transfer", Config()},
             .payload = MakePayload(size),
             .tasks = static_cast<std::uint32_t>(f.options().Int("transfer_tasks")),
             .check = {}};
  const std::uint64_t sum = Checksum(p.payload);
  p.check = [sum, size](std::uint32_t, const TaskOutput& out) -> std::string {
    if (out.value != sum) return "the worker saw a different payload";
    if (static_cast<std::int64_t>(out.reply.size()) != size) {
      return "the reply has " + std::to_string(out.reply.size()) + " bytes, expected " +
             std::to_string(size);
    }
    if (Checksum(out.reply) != sum) return "the reply differs from the payload";
    return "";
  };
  return p;
}

// interpreter:python: every worker starts a Python interpreter (ProcessPoolExecutor's
// price) and its task returns what that took, in whole microseconds written as ns.
Prepared PythonStartup(Prepared plain) {
  plain.job = {"py_startup", Config()};
  plain.check = [](std::uint32_t, const TaskOutput& out) -> std::string {
    if (out.value > 0 && out.value % 1000 == 0) return "";
    return "returned " + std::to_string(out.value) + ", not an interpreter start-up time";
  };
  return plain;
}

// With parent_mem the parent first touches that much memory: a fork would copy its page
// tables, vfork does not.
Prepared PrepareParentMem(const std::string& parent_mem) {
  if (parent_mem.empty()) return EmptyTasks(0);  // one task per worker, set by the body
  auto memory =
      std::make_shared<std::vector<char>>(static_cast<std::size_t>(ParseBytes(parent_mem)));
  for (std::size_t i = 0; i < memory->size(); i += 4096) (*memory)[i] = 1;
  // Then let the machine settle, outside the timing. On this VM any process start is about
  // 40% slower for up to a second after 1 GiB of fresh memory is touched (a plain C
  // vfork+exec loop shows it too, and shows nothing a second later): the host at work, not
  // the spawn.
  std::this_thread::sleep_for(std::chrono::seconds(2));
  return EmptyTasks(0, std::move(memory));
}

Prepared PrepareStartup(const Point& point, Fixtures&) {
  Prepared prepared = PrepareParentMem(point.Get("parent_mem"));
  if (point.Get("interpreter") == "python") return PythonStartup(std::move(prepared));
  return prepared;
}

const bool kOverheadFamily = RegisterFamily({
    .workload = &kOverhead,
    .flags = {{.name = "overhead_tasks",
               .lo = 1,
               .hi = 10'000'000,
               .default_value = "10000",
               .help = "overhead: empty tasks per iteration"}},
    // What an empty task costs when tasks are batched (adaptive) and when each is a message.
    .axes = [](const Options&, int) { return std::vector<Axis>{DispatchAxis()}; },
    .prepare =
        [](const Point&, Fixtures& f) {
          return EmptyTasks(static_cast<std::uint32_t>(f.options().Int("overhead_tasks")));
        },
    .counters =
        [](const Point&, const Prepared&, const Measurement& m, Fixtures&) {
          return Counters{
              {"ns_per_task", static_cast<double>(m.wall_ns) / static_cast<double>(m.tasks)}};
        },
    .counter_specs = {{"ns_per_task", "ns", false}},
    .reading = Reading::kCost,
    .cost = {.per = "per task", .counter = "ns_per_task"},
    .shown_counters = {"ns_per_task"},
});

// transport:shm only for executors with a transport (threads share memory anyway); the
// baseline is the same size without it.
const bool kTransferFamily = RegisterFamily({
    .workload = &kEcho,
    .flags = {{.name = "transfer_tasks",
               .lo = 1,
               .hi = 100'000,
               .default_value = "8",
               .help = "transfer: round trips per iteration"},
              {.name = "transfer_sizes",
               .type = FlagType::kIntList,
               .lo = 0,
               .hi = kMaxPayloadBytes,
               .default_value = "4096,1048576,16777216,67108864",
               .help = "transfer: payload sizes in bytes"}},
    .axes =
        [](const Options& o, int) {
          Axis size{"size", {}};
          for (std::int64_t s : o.IntList("transfer_sizes")) size.values.push_back(FormatBytes(s));
          // Quick, with the default sizes: a small message and a large one.
          if (!o.WasSet("transfer_sizes")) size.quick = {"4KiB", "16MiB"};
          return std::vector<Axis>{size,
                                   {.name = "transport",
                                    .values = {"", "shm"},
                                    .scope = Scope::kTransport,
                                    .plain = "pipe"}};
        },
    .prepare = PrepareTransfer,
    .counters =
        [](const Point& point, const Prepared&, const Measurement& m, Fixtures&) {
          // Payload bytes per second, each payload travelling there and back.
          return Counters{{"bytes_per_second", static_cast<double>(ParseBytes(point.Get("size"))) *
                                                   static_cast<double>(m.tasks) / m.seconds()}};
        },
    .counter_specs = {{"bytes_per_second", "B/s", true}},
    .reading = Reading::kCost,
    .cost = {.per = "throughput", .counter = "bytes_per_second"},
    .shown_counters = {"bytes_per_second"},
});

// kind:inline lets the caller run the task itself (what tbb's and openmp's callers do);
// kind:handoff makes it go to a worker while the caller waits. Only executors whose workers are
// threads beside the caller have the choice: processes and mpi always hand off, serial never.
const bool kRoundtripFamily = RegisterFamily({
    .workload = &kOverhead,
    .name = "roundtrip",
    .summary = "one empty task per iteration: the latency of a single dispatch and reply",
    .axes =
        [](const Options&, int) {
          return std::vector<Axis>{{"kind", {"inline", "handoff"}, Scope::kThreadWorkers}};
        },
    .time_unit = "us",
    .prepare =
        [](const Point& point, Fixtures&) {
          Prepared prepared = EmptyTasks(1);
          prepared.handoff = point.Get("kind") == "handoff";
          return prepared;
        },
    .reading = Reading::kCost,
    .cost = {.per = "per round trip"},
});

const bool kStartupFamily = RegisterFamily({
    .workload = &kOverhead,
    .name = "startup",
    .summary = "start a pool, run one empty task per worker, shut it down (parent_mem: with "
               "1 GiB of parent memory touched first; interpreter:python: each worker starts "
               "a Python interpreter)",
    .axes =
        [](const Options&, int) {
          return std::vector<Axis>{{"parent_mem", {"", "1GiB"}, Scope::kStartsProcesses},
                                   {"interpreter", {"", "python"}, Scope::kStartsProcesses}};
        },
    .body = Body::kStartup,
    .prepare = PrepareStartup,
    .counters =
        [](const Point& point, const Prepared&, const Measurement& m, Fixtures&) {
          if (point.Get("interpreter") != "python" || m.tasks == 0) return Counters{};
          // Measured inside each worker: Py_InitializeFromConfig, site and all.
          return Counters{{"interpreter_start_ms",
                           static_cast<double>(m.value_sum) / static_cast<double>(m.tasks) / 1e6}};
        },
    .counter_specs = {{"interpreter_start_ms", "ms", false}},
    .reading = Reading::kCost,
    .cost = {.per = "per start"},
    .shown_counters = {"interpreter_start_ms"},
});

}  // namespace
}  // namespace parbench::transfer
