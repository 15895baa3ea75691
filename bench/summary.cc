// The family summaries at the end of bench's console (bench/console.h).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <set>

#include "bench/console.h"

namespace parbench {
namespace {

// A task-duration sweep's benchmarks report this counter (the granularity family).
constexpr std::string_view kSweepCounter = "task_ns_nominal";
// Parallel efficiency at which the METG is read.
constexpr double kMetgLevel = 0.5;

// One benchmark of a group: its registration, its result, and its executor with the values
// of the axes only some executors have ("processes transport:shm").
struct Entry {
  const Registered* r;
  const ConsoleResult* result;
  std::string label;
};

// The benchmarks of one family that share the values of its every-executor axes.
struct Group {
  std::string key;  // "mode:durable payload:local"; "" for a family without such axes
  std::vector<Entry> entries;
  const Entry* base = nullptr;  // the baseline executor's, if it ran
};

// The family's axes that every executor has (a reference's own axes are not among them).
std::set<std::string> GeneralAxes(const Family& family, const SuiteEnv& env) {
  std::set<std::string> out;
  if (!family.axes) return out;
  for (const Axis& axis : family.axes(env.options(), env.cpus())) {
    if (axis.scope == Scope::kEveryExecutor) out.insert(axis.name);
  }
  return out;
}

// The family's benchmarks with results, grouped by their every-executor axes, in run order.
std::vector<Group> Groups(const Family& family, const SuiteEnv& env,
                          const std::map<std::string, ConsoleResult>& results) {
  const std::set<std::string> general = GeneralAxes(family, env);
  std::vector<Group> groups;
  for (const Registered& r : env.registered) {
    const auto it = results.find(r.name);
    if (r.family != family.display_name() || it == results.end()) continue;
    std::string key;
    std::string label = r.executor;
    for (const auto& [axis, value] : r.point.values()) {
      if (value.empty()) continue;
      std::string& part = general.contains(axis) ? key : label;
      if (!part.empty()) part += ' ';
      part += axis + ":" + value;
    }
    auto g =
        std::find_if(groups.begin(), groups.end(), [&](const Group& x) { return x.key == key; });
    if (g == groups.end()) g = groups.insert(groups.end(), Group{key, {}});
    g->entries.push_back({&r, &it->second, label});
  }
  for (Group& g : groups) {
    for (const Entry& e : g.entries) {
      if (e.r->executor == kBaselineExecutor && e.result->error.empty()) g.base = &e;
    }
  }
  return groups;
}

// The executor labels of a group in run order, without the baseline and the references.
std::vector<std::string> Labels(const Group& g) {
  std::vector<std::string> out;
  for (const Entry& e : g.entries) {
    if (e.r->executor == kBaselineExecutor || FindExecutor(e.r->executor) == nullptr) continue;
    if (std::find(out.begin(), out.end(), e.label) == out.end()) out.push_back(e.label);
  }
  return out;
}

// The entry of `label` whose worker count is nearest `cpus` (the usable CPUs).
const Entry* AtCpus(const Group& g, const std::string& label, int cpus) {
  const Entry* best = nullptr;
  for (const Entry& e : g.entries) {
    if (e.label != label || !e.result->error.empty()) continue;
    if (best == nullptr || std::abs(e.r->workers - cpus) < std::abs(best->r->workers - cpus)) {
      best = &e;
    }
  }
  return best;
}

std::string Title(const Family& family, const Group& g) {
  return "  " + std::string(family.display_name()) + (g.key.empty() ? "" : " " + g.key);
}

// "cpu: at 2 workers: threads 1.98×, processes 1.97× (best 3.9× at 8) (serial 322 ms)".
std::string SpeedupLine(const Family& family, const Group& g, int cpus) {
  std::string line = Title(family, g) + ": at " + std::to_string(cpus) + " workers:";
  const double base = g.base->result->median_s;
  bool first = true;
  for (const std::string& label : Labels(g)) {
    const Entry* at = AtCpus(g, label, cpus);
    if (at == nullptr || at->result->median_s <= 0) continue;
    line +=
        std::string(first ? " " : ", ") + label + " " + FormatSpeedup(base / at->result->median_s);
    if (at->r->workers != cpus) line += " (at " + std::to_string(at->r->workers) + ")";
    const Entry* best = at;
    for (const Entry& e : g.entries) {
      if (e.label == label && e.result->error.empty() && e.result->median_s > 0 &&
          e.result->median_s < best->result->median_s) {
        best = &e;
      }
    }
    // A count past the usable CPUs that pays off (tasks that wait) is worth saying.
    if (best != at && at->result->median_s > 1.1 * best->result->median_s) {
      line += " (best " + FormatSpeedup(base / best->result->median_s) + " at " +
              std::to_string(best->r->workers) + ")";
    }
    first = false;
  }
  return line + " (" + std::string(kBaselineExecutor) + " " + FormatSeconds(base) + ")\n";
}

// A cost family's value for one benchmark in its own unit: its cost counter, else the time
// per iteration.
std::string CostValue(const Family& family, const ConsoleResult& r) {
  if (!family.cost.counter.empty()) {
    const auto it = r.counters.find(std::string(family.cost.counter));
    if (it == r.counters.end()) return "?";
    for (const CounterSpec& c : family.counter_specs) {
      if (c.name == family.cost.counter) return FormatCounter(it->second, c.unit);
    }
    return FormatCounter(it->second, "");
  }
  return FormatSeconds(r.median_s);
}

// "overhead per task at 2 workers: serial 3.1 ns; threads 85 ns, processes 1.2 µs; floor
// raw_pipe 40 µs".
std::string CostLine(const Family& family, const Group& g, int cpus) {
  std::string line = Title(family, g) + " " + std::string(family.cost.per) + " at " +
                     std::to_string(cpus) + " workers:";
  if (g.base != nullptr) line += " serial " + CostValue(family, *g.base->result) + ";";
  bool first = true;
  for (const std::string& label : Labels(g)) {
    if (const Entry* at = AtCpus(g, label, cpus); at != nullptr) {
      line += std::string(first ? " " : ", ") + label + " " + CostValue(family, *at->result);
      first = false;
    }
  }
  for (const Entry& e : g.entries) {  // the floors measured beside it, at the same count
    const bool reference =
        e.r->executor != kBaselineExecutor && FindExecutor(e.r->executor) == nullptr;
    const auto& values = e.r->point.values();
    const bool other_count = std::any_of(values.begin(), values.end(), [cpus](const auto& v) {
      return v.first == "workers" && v.second != std::to_string(cpus);
    });
    if (reference && e.result->error.empty() && !other_count) {
      line += "; floor " + e.r->executor + " " + FormatSeconds(e.result->median_s);
    }
  }
  return line + "\n";
}

// Where efficiency last rises through 0.5 over (duration, efficiency) points sorted by duration,
// interpolated in log(duration): "210 ns", "≤ 121 ns (below the sweep)", "not reached".
std::string Metg(const std::vector<std::pair<double, double>>& points) {
  if (points.empty()) return "no points";
  std::size_t last_below = points.size();
  for (std::size_t i = 0; i < points.size(); ++i) {
    if (points[i].second < kMetgLevel) last_below = i;
  }
  if (last_below == points.size())
    return "≤ " + FormatSeconds(points.front().first * 1e-9) + " (below the sweep)";
  if (last_below + 1 == points.size())
    return "not reached (> " + FormatSeconds(points.back().first * 1e-9) + ")";
  const auto [d0, e0] = points[last_below];
  const auto [d1, e1] = points[last_below + 1];
  const double t = (kMetgLevel - e0) / (e1 - e0);
  return FormatSeconds(std::exp(std::log(d0) + t * (std::log(d1) - std::log(d0))) * 1e-9);
}

// "granularity: METG (50% efficiency): threads ≤ 121 ns (below the sweep), processes 210 ns".
std::string MetgLine(const SuiteEnv& env, const Family& family, const std::vector<Group>& groups,
                     int cpus) {
  std::map<std::string, std::vector<std::pair<double, double>>> curves;
  std::vector<std::string> order;
  for (const Group& g : groups) {
    if (g.base == nullptr) continue;
    const auto task = g.base->result->counters.find("task_ns");
    if (task == g.base->result->counters.end()) continue;
    for (const Entry& e : g.entries) {
      if (e.r->executor == kBaselineExecutor || !e.result->error.empty() || e.result->median_s <= 0)
        continue;
      const std::string label =
          e.label + (e.r->workers != cpus ? " ×" + std::to_string(e.r->workers) : "");
      if (!curves.contains(label)) order.push_back(label);
      const double eff = g.base->result->median_s /
                         (e.result->median_s * env.EfficiencyCpus(e.r->executor, e.r->workers));
      curves[label].emplace_back(task->second, eff);
    }
  }
  std::string line = "  " + std::string(family.display_name()) +
                     ": METG (where efficiency reaches 50%) at " + std::to_string(cpus) +
                     " workers:";
  for (std::size_t i = 0; i < order.size(); ++i) {
    auto& points = curves[order[i]];
    std::sort(points.begin(), points.end());
    line += std::string(i == 0 ? " " : ", ") + order[i] + " " + Metg(points);
  }
  return line + "\n";
}

bool Swept(const std::vector<Group>& groups) {
  for (const Group& g : groups) {
    for (const Entry& e : g.entries) {
      if (e.result->counters.contains(std::string(kSweepCounter))) return true;
    }
  }
  return false;
}

}  // namespace

std::string FamilySummary(const SuiteEnv& env,
                          const std::map<std::string, ConsoleResult>& results) {
  std::string out;
  const int cpus = env.cpus();
  for (const Family& family : Families()) {
    const std::vector<Group> groups = Groups(family, env, results);
    if (groups.empty() || family.under == Under::kNoExecutor) continue;
    if (Swept(groups)) {
      out += MetgLine(env, family, groups, cpus);
      continue;
    }
    for (const Group& g : groups) {
      if (family.reading == Reading::kCost) {
        out += CostLine(family, g, cpus);
      } else if (g.base != nullptr && !Labels(g).empty()) {
        out += SpeedupLine(family, g, cpus);
      } else if (g.base != nullptr) {
        out += Title(family, g) + ": " + std::string(kBaselineExecutor) + " " +
               FormatSeconds(g.base->result->median_s) + "\n";
      } else {
        out += Title(family, g) + ": no " + std::string(kBaselineExecutor) +
               " baseline in this run (see the rows above)\n";
      }
    }
  }
  return out;
}

}  // namespace parbench
