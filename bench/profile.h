// bench's profiles (--profile). quick, the default, measures every family under every executor
// at fewer points and for a shorter time; full measures every point, for published numbers.
// Whatever quick leaves out is recorded in the context and printed.
#pragma once

#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "workloads/family.h"
#include "workloads/options.h"

namespace parbench {

// A profile's Google Benchmark settings (used unless the command line gives its own).
struct Profile {
  std::string_view name{};
  double min_time_s = 0;  // --benchmark_min_time
  int repetitions = 1;    // --benchmark_repetitions
};

// "quick" or "full"; the flag's check refuses anything else.
[[nodiscard]] const Profile& ProfileNamed(std::string_view name);
// The profiles, for --help and the flag's check.
[[nodiscard]] const std::vector<Profile>& Profiles();
// --profile's check: one line naming the flag and the profiles.
void CheckProfile(std::string_view flag, const std::string& value);

// The run measures at fewer points (--profile=quick).
[[nodiscard]] bool IsQuick(const Options& options);

// 1, 2, 4, 8 and the CPU count, sorted, without duplicates: the full profile's worker counts.
[[nodiscard]] std::vector<int> FullWorkerCounts(int cpus);
// 1 and the CPU count: the quick profile's, for families whose tasks compute.
[[nodiscard]] std::vector<int> QuickWorkerCounts(int cpus);
// "1,2,4,8" for {1, 2, 4, 8}.
[[nodiscard]] std::string JoinCounts(const std::vector<int>& counts);

// `axes` as the run's profile measures them: under quick, an axis with quick values keeps only
// those.
[[nodiscard]] std::vector<Axis> ProfileAxes(std::vector<Axis> axes, const Options& options);

// What the profile left out of `families` (by name), as JSON text for the context:
// {"profile", "workers_left_out", "workers_kept_for", "axes_left_out": {family: {axis: [..]}}}.
[[nodiscard]] std::string LeftOutJson(const Options& options, int cpus,
                                      const std::set<std::string>& families);

// The same in a few lines for the console (nothing under full).
[[nodiscard]] std::string LeftOutText(const Options& options, int cpus,
                                      const std::set<std::string>& families);

}  // namespace parbench
