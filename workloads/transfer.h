// transfer and overhead: the costs the article only talks about.
//   overhead  an empty task: what one dispatch costs.
//   transfer  returns the payload it was given: what moving data to a worker and back costs.
#pragma once

#include <cstdint>
#include <span>

#include "workloads/workload.h"

namespace parbench::transfer {

// A fast checksum of a payload (a sum of 64-bit words, then the tail bytes); the worker
// computes it, so every byte really reached the worker's memory.
[[nodiscard]] std::uint64_t Checksum(std::span<const std::byte> data);

// A payload of `bytes` pseudo-random bytes (fixed seed).
[[nodiscard]] std::vector<std::byte> MakePayload(std::int64_t bytes);

extern const Workload kEcho;      // "transfer": value = Checksum(payload), reply = payload
extern const Workload kOverhead;  // "overhead": value = task index

}  // namespace parbench::transfer
