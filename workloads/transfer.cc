#include "workloads/transfer.h"

#include <cstring>
#include <vector>

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

}  // namespace parbench::transfer
