#include "bench/profile.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "bench/flags.h"

namespace parbench {
namespace {

using nlohmann::json;

// Each family of the run with what quick left out of each of its axes (family, axis, values).
json AxesLeftOut(const Options& options, int cpus, const std::set<std::string>& families) {
  json out = json::object();
  for (const Family& family : Families()) {
    const std::string name(family.display_name());
    if (!families.contains(name) || !family.axes) continue;
    for (const Axis& axis : family.axes(options, cpus)) {
      if (axis.quick.empty()) continue;
      json left = json::array();
      for (const std::string& value : axis.values) {
        if (std::find(axis.quick.begin(), axis.quick.end(), value) == axis.quick.end()) {
          left.push_back(value.empty() ? "(none)" : value);
        }
      }
      if (!left.empty()) out[name][axis.name] = left;
    }
  }
  return out;
}

// The counts of the full profile that quick does not run (none when --workers was given).
std::vector<int> WorkersLeftOut(const Options& options, int cpus) {
  const SuiteWorkers suite = WorkersFlag(options);
  if (suite.given) return {};
  const std::vector<int>& kept = suite.counts;
  std::vector<int> left;
  for (int w : FullWorkerCounts(cpus)) {
    if (std::find(kept.begin(), kept.end(), w) == kept.end()) left.push_back(w);
  }
  return left;
}

// The families of the run whose tasks wait, which keep every worker count.
std::vector<std::string> WaitingFamilies(const std::set<std::string>& families) {
  std::vector<std::string> out;
  for (const Family& family : Families()) {
    const std::string name(family.display_name());
    if (family.waits && families.contains(name)) out.push_back(name);
  }
  return out;
}

}  // namespace

const std::vector<Profile>& Profiles() {
  // quick: 3 repetitions give every median a [min, max] interval; 0.05 s is a few iterations
  // of most benchmarks. full: the settings of the committed reference runs.
  static const std::vector<Profile> profiles = {
      {.name = "quick", .min_time_s = 0.05, .repetitions = 3},
      {.name = "full", .min_time_s = 0.2, .repetitions = 5},
  };
  return profiles;
}

const Profile& ProfileNamed(std::string_view name) {
  for (const Profile& p : Profiles()) {
    if (p.name == name) return p;
  }
  throw std::logic_error("no profile '" + std::string(name) + "'");
}

void CheckProfile(std::string_view flag, const std::string& value) {
  for (const Profile& p : Profiles()) {
    if (p.name == value) return;
  }
  throw FlagError("--" + std::string(flag) + ": '" + value +
                  "' is invalid: allowed is quick or full");
}

bool IsQuick(const Options& options) { return options.String("profile") == "quick"; }

std::vector<int> FullWorkerCounts(int cpus) {
  std::vector<int> counts = {1, 2, 4, 8, std::max(cpus, 1)};
  std::sort(counts.begin(), counts.end());
  counts.erase(std::unique(counts.begin(), counts.end()), counts.end());
  return counts;
}

std::vector<int> QuickWorkerCounts(int cpus) {
  return cpus > 1 ? std::vector<int>{1, cpus} : std::vector<int>{1};
}

std::string JoinCounts(const std::vector<int>& counts) {
  std::string out;
  for (int w : counts) {
    if (!out.empty()) out += ',';
    out += std::to_string(w);
  }
  return out;
}

std::vector<Axis> ProfileAxes(std::vector<Axis> axes, const Options& options) {
  if (!IsQuick(options)) return axes;
  for (Axis& axis : axes) {
    if (!axis.quick.empty()) axis.values = axis.quick;
  }
  return axes;
}

std::string LeftOutJson(const Options& options, int cpus, const std::set<std::string>& families) {
  const bool quick = IsQuick(options);
  const std::vector<int> workers = quick ? WorkersLeftOut(options, cpus) : std::vector<int>{};
  json kept = WaitingFamilies(families);
  kept.push_back("executors with their own counts (async) or remote workers (mpi)");
  return json({{"profile", options.String("profile")},
               {"workers_left_out", workers},
               {"workers_kept_for", workers.empty() ? json::array() : kept},
               {"axes_left_out", quick ? AxesLeftOut(options, cpus, families) : json::object()}})
      .dump();
}

std::string LeftOutText(const Options& options, int cpus, const std::set<std::string>& families) {
  if (!IsQuick(options)) return "";
  std::string out;
  if (const std::vector<int> left = WorkersLeftOut(options, cpus); !left.empty()) {
    std::string waiting;
    for (const std::string& f : WaitingFamilies(families)) waiting += ", " + f;
    out += "  left out: workers " + JoinCounts(left) + " (kept for async, mpi" + waiting + ")\n";
  }
  const json left_out = AxesLeftOut(options, cpus, families);
  for (const auto& [family, axes] : left_out.items()) {
    for (const auto& [axis, values] : axes.items()) {
      std::string list;
      for (const json& v : values) {
        if (!list.empty()) list += ',';
        list += v.get<std::string>();
      }
      out += "  left out: " + family + " " + axis + " " + list + "\n";
    }
  }
  return out;
}

}  // namespace parbench
