// granularity: tasks of a calibrated duration, swept on a log axis from 10 ns to 10 ms.
// Question it answers: from which task size does an executor pay off (its METG, the minimum
// effective task granularity: the shortest task at which it still reaches 50% efficiency)?
//
// A task is the cpu workload's loop (xorshift64, cannot be folded) with a step count calibrated
// once per process, so that it lasts the nominal duration on this machine (10 ns is a few
// steps: each task still computes and is checked). The tasks' measured duration is reported
// beside the nominal one; it includes the two clock reads that time each task.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace parbench::granularity {

// The nominal task durations of the sweep, in ns: 10 ns to 10 ms, three points a decade (10 and
// 30 ns reach below the METG of the pools whose workers are threads).
[[nodiscard]] const std::vector<std::int64_t>& Durations();

// "100ns", "3us", "10ms": a duration as the axis shows it.
[[nodiscard]] std::string FormatDuration(std::int64_t ns);
// The inverse of FormatDuration; std::logic_error for anything else.
[[nodiscard]] std::int64_t ParseDuration(const std::string& text);

// The cpu loop's speed on this machine, steps per ns: the fastest of several ~10 ms runs
// (the least disturbed). Measured once per process, on first call, outside any timed region.
[[nodiscard]] double StepsPerNs();

// Loop steps for a task of `ns` nanoseconds at `steps_per_ns` (at least 1).
[[nodiscard]] std::int64_t StepsFor(std::int64_t ns, double steps_per_ns);

// Tasks per iteration for tasks of `ns`: about `work_ns` of serial work, at least `min_tasks`,
// at most kMaxTasks (so dispatch dominates at the short end and the trace stays readable).
inline constexpr std::int64_t kMaxTasks = 20'000;
[[nodiscard]] std::int64_t TasksFor(std::int64_t ns, std::int64_t work_ns, std::int64_t min_tasks);

}  // namespace parbench::granularity
