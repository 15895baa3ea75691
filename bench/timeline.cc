#include "bench/timeline.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <stdexcept>

namespace parbench {
namespace {

double Micros(std::int64_t ns) { return static_cast<double>(ns) / 1000.0; }

// A metadata ("M") event.
nlohmann::json Meta(const char* name, int pid, int tid, nlohmann::json args) {
  return {{"name", name}, {"ph", "M"}, {"pid", pid}, {"tid", tid}, {"args", std::move(args)}};
}

std::string ThisHost() {
  char name[256] = {};
  return ::gethostname(name, sizeof name - 1) == 0 ? std::string(name) : "localhost";
}

// One task's span, on its worker's lane, timed from the iteration's start `start_ns`.
nlohmann::json TaskEvent(const Span& s, int pid, std::int64_t start_ns) {
  return {{"name", "task " + std::to_string(s.task)},
          {"cat", "task"},
          {"ph", "X"},
          {"pid", pid},
          {"tid", s.slot},
          {"ts", Micros(s.start_ns - start_ns)},
          {"dur", Micros(s.stop_ns - s.start_ns)},
          {"args",
           {{"task", s.task},
            {"host", s.host},
            {"rank", s.rank},
            {"os_pid", s.pid},
            {"os_tid", s.tid},
            {"clock", s.clock == SpanClock::kAligned ? "aligned" : "host"}}}};
}

}  // namespace

Timeline::Timeline() : hosts_{ThisHost()} {}

void Timeline::Record(const std::string& name, int workers, std::int64_t start_ns,
                      std::int64_t stop_ns, const std::vector<Result>& results,
                      std::int64_t iterations) {
  auto it = std::find_if(entries_.begin(), entries_.end(),
                         [&](const Entry& e) { return e.name == name; });
  if (it == entries_.end()) it = entries_.insert(entries_.end(), Entry{});
  it->name = name;
  it->workers = workers;
  it->start_ns = start_ns;
  it->stop_ns = stop_ns;
  it->tasks = results.size();
  it->iterations = iterations;
  ++it->runs;
  it->spans.clear();
  for (const Result& r : results) {
    if (it->spans.size() == kMaxSpans) break;
    it->spans.push_back(r.span);
  }
}

std::string Timeline::HostName(int host) const {
  const auto h = static_cast<std::size_t>(host);
  return h < hosts_.size() ? hosts_[h] : "host " + std::to_string(host);
}

// The host of each worker slot of `e`: that of its ranked spans (0 for a slot without a rank).
std::vector<int> Timeline::SlotHosts(const Entry& e) {
  std::vector<int> out(static_cast<std::size_t>(std::max(e.workers, 0)), 0);
  for (const Span& s : e.spans) {
    if (s.rank >= 0 && s.slot >= 0 && s.slot < e.workers) {
      out[static_cast<std::size_t>(s.slot)] = s.host;
    }
  }
  return out;
}

void Timeline::WriteEntry(const Entry& e, int& pid, nlohmann::json& events) const {
  using nlohmann::json;
  const std::vector<int> slot_hosts = SlotHosts(e);
  // One lane group (trace process) per host: rank 0's host first, named by the benchmark;
  // another host's "NAME @ HOST", right after it.
  std::vector<int> hosts{0};
  for (int h : slot_hosts) {
    if (std::find(hosts.begin(), hosts.end(), h) == hosts.end()) hosts.push_back(h);
  }
  std::sort(hosts.begin() + 1, hosts.end());
  std::map<int, int> pid_of;
  for (int h : hosts) {
    pid_of[h] = pid;
    const std::string name = h == 0 ? e.name : e.name + " @ " + HostName(h);
    events.push_back(Meta("process_name", pid, 0, {{"name", name}}));
    // Keep Perfetto's process order equal to the run order.
    events.push_back(Meta("process_sort_index", pid, 0, {{"sort_index", pid}}));
    ++pid;
  }
  for (int slot = 0; slot < e.workers; ++slot) {
    // A worker with a rank is named by its host and rank.
    const auto ranked = std::find_if(e.spans.begin(), e.spans.end(), [slot](const Span& s) {
      return s.slot == slot && s.rank >= 0;
    });
    std::string lane = "worker " + std::to_string(slot);
    if (ranked != e.spans.end()) {
      lane = HostName(ranked->host) + " rank " + std::to_string(ranked->rank) + " (" + lane + ")";
    }
    const int lane_pid = pid_of[slot_hosts[static_cast<std::size_t>(slot)]];
    events.push_back(Meta("thread_name", lane_pid, slot, {{"name", lane}}));
    events.push_back(Meta("thread_sort_index", lane_pid, slot, {{"sort_index", slot}}));
  }
  // The iteration's wall time, on its own lane after the workers' (in rank 0's host's group).
  const int base = pid_of[0];
  events.push_back(Meta("thread_name", base, e.workers, {{"name", "iteration"}}));
  events.push_back(Meta("thread_sort_index", base, e.workers, {{"sort_index", 100'000'000}}));
  events.push_back({{"name", "iteration"},
                    {"cat", "iteration"},
                    {"ph", "X"},
                    {"pid", base},
                    {"tid", e.workers},
                    {"ts", 0.0},
                    {"dur", Micros(e.stop_ns - e.start_ns)},
                    {"args",
                     {{"workers", e.workers},
                      {"tasks", e.tasks},
                      {"tasks_recorded", e.spans.size()},
                      {"iterations", e.iterations},
                      {"runs", e.runs}}}});
  for (const Span& s : e.spans) {
    const bool known = s.slot >= 0 && s.slot < e.workers;
    events.push_back(TaskEvent(
        s, known ? pid_of[slot_hosts[static_cast<std::size_t>(s.slot)]] : base, e.start_ns));
  }
}

void Timeline::Write(const std::string& path) const {
  using nlohmann::json;
  json events = json::array();
  int pid = 1;
  for (const Entry& e : entries_) WriteEntry(e, pid, events);
  const json trace = {
      {"traceEvents", events},
      {"displayTimeUnit", "ms"},
      // Spans name their host by index into this table (0: where bench ran).
      {"otherData", {{"generator", "parbench"}, {"clock", "CLOCK_MONOTONIC"}, {"hosts", hosts_}}}};
  std::ofstream out(path);
  out << trace.dump() << '\n';
  out.close();
  if (!out) {
    throw std::runtime_error("cannot write the timeline to '" + path +
                             "': " + std::strerror(errno));
  }
}

}  // namespace parbench
