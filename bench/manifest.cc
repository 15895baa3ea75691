#include "bench/manifest.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

#include "bench/profile.h"

namespace parbench {
namespace {

using nlohmann::json;

json Traits(const ExecutorTraits& t) {
  return {{"shares_memory", t.shares_memory},
          {"single_worker", t.single_worker},
          {"transport_axis", t.transport_axis},
          {"starts_processes", t.starts_processes},
          {"remote_workers", t.remote_workers},
          {"sends_messages", t.sends_messages},
          {"async", t.async}};
}

// The executors (by name) whose traits put them in `scope`, among those of the run.
json ScopeNames(Scope scope, const std::vector<const ExecutorInfo*>& executors) {
  json names = json::array();
  for (const ExecutorInfo* e : executors) {
    if (InScope(scope, e->traits)) names.push_back(e->name);
  }
  return names;
}

json Counter(std::string_view unit, bool bigger_is_better) {
  return {{"unit", unit}, {"bigger_is_better", bigger_is_better}};
}

// The reference implementations of family `name` that this run registered, each with the
// executors it is compared to and its own axes.
json ReferencesJson(const SuiteEnv& env, const std::string& name,
                    const std::vector<const ExecutorInfo*>& run_executors) {
  json references = json::array();
  for (const Reference& ref : References()) {
    if (ref.family != name) continue;
    if (std::none_of(env.registered.begin(), env.registered.end(), [&](const Registered& r) {
          return r.family == name && r.executor == ref.name;
        })) {
      continue;  // not in this run (raw_mpi without mpirun)
    }
    json entry = {{"name", ref.name},
                  {"summary", ref.summary},
                  {"compare_to", ScopeNames(ref.compare_to, run_executors)}};
    if (ref.axes) {  // startup/raw_spawn/workers:W, transfer/raw_mpi/size:S
      json ref_axes = json::array();
      for (const Axis& axis : ProfileAxes(ref.axes(env.options(), env.cpus()), env.options())) {
        ref_axes.push_back({{"name", axis.name}, {"values", axis.values}});
      }
      entry["axes"] = ref_axes;
    }
    references.push_back(entry);
  }
  return references;
}

json FamilyEntry(const SuiteEnv& env, const Family& family,
                 const std::vector<const ExecutorInfo*>& run_executors) {
  const std::string name(family.display_name());
  const std::vector<const ExecutorInfo*> executors = ExecutorsFor(family, env.options());
  json axes = json::array();
  const std::vector<Axis> family_axes = ProfileAxes(
      family.axes ? family.axes(env.options(), env.cpus()) : std::vector<Axis>{}, env.options());
  for (const Axis& axis : family_axes) {
    json entry = {{"name", axis.name}, {"values", axis.values}};
    if (axis.scope != Scope::kEveryExecutor) entry["executors"] = ScopeNames(axis.scope, executors);
    if (!axis.plain.empty()) entry["plain"] = axis.plain;  // what "" stands for
    axes.push_back(entry);
  }
  json counters = json::object();
  for (const CounterSpec& c : family.counter_specs) {
    counters[std::string(c.name)] = Counter(c.unit, c.bigger_is_better);
  }
  const json references = ReferencesJson(env, name, run_executors);
  json executor_names = json::array();
  for (const ExecutorInfo* e : executors) executor_names.push_back(e->name);
  json left_out = json::array();
  for (const auto& entry : family.left_out) {
    json combination = json::object();
    for (const auto& [axis, value] : entry) combination[axis] = value;
    left_out.push_back(combination);
  }
  json entry = {{"name", name},
                {"summary", family.display_summary()},
                {"workload", family.workload != nullptr ? family.workload->name : ""},
                {"time_unit", family.time_unit},
                {"executors", executor_names},
                {"axes", axes},
                {"left_out", left_out},
                {"counters", counters},
                {"references", references},
                {"reading", family.reading == Reading::kCost ? "cost" : "speedup"},
                {"shown_counters", family.shown_counters}};
  // A cost family: what its tables show ("per task" from ns_per_task; "" counter: the time
  // per iteration).
  if (family.reading == Reading::kCost) {
    entry["cost"] = {{"per", family.cost.per}, {"counter", family.cost.counter}};
  }
  return entry;
}

}  // namespace

std::string ManifestJson(const SuiteEnv& env) {
  // The executors the run registered benchmarks for, in registry order.
  std::set<std::string> used;
  for (const Registered& r : env.registered) used.insert(r.executor);
  std::vector<const ExecutorInfo*> run_executors;
  json executors = json::array();
  for (const ExecutorInfo& e : Executors()) {
    if (!used.contains(std::string(e.name))) continue;
    run_executors.push_back(&e);
    executors.push_back({{"name", e.name},
                         {"summary", e.summary},
                         {"dispatch", e.dispatch},
                         {"traits", Traits(e.traits)}});
  }
  std::set<std::string> registered_families;
  for (const Registered& r : env.registered) registered_families.insert(r.family);
  json families = json::array();
  for (const Family& family : Families()) {
    if (!registered_families.contains(std::string(family.display_name()))) continue;
    families.push_back(FamilyEntry(env, family, run_executors));
  }
  const json manifest = {
      {"schema", 1},
      {"name_scheme", "FAMILY/EXECUTOR[/workers:W][/AXIS:VALUE...]"},
      {"baseline", kBaselineExecutor},
      {"executors", executors},
      {"families", families},
      {"counters",
       {{"tasks_per_second", Counter("1/s", true)},
        {"utilization", Counter("", true)},
        // How tasks reached the workers: per message sent (1 where none is: one at a time).
        {"tasks_per_message", Counter("", true)},
        // How far the number can be trusted: others' CPU time and stolen time on the usable
        // CPUs, as fractions of their capacity during the benchmark.
        {"interference_cpu_frac", Counter("", false)},
        {"steal_frac", Counter("", false)},
        {"involuntary_switches", Counter("1/iteration", false)},
        // What the executor costs in CPU: the whole process tree, per iteration.
        {"tree_cpu_ms", Counter("ms", false)},
        {"cpu_efficiency", Counter("", true)},
        // Memory: the peak resident set of bench and of its largest worker process.
        {"peak_rss_parent_bytes", Counter("B", false)},
        {"peak_rss_worker_bytes", Counter("B", false)}}}};
  return manifest.dump();
}

}  // namespace parbench
