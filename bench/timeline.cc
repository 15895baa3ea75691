#include "bench/timeline.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>

namespace parbench {
namespace {

double Micros(std::int64_t ns) { return static_cast<double>(ns) / 1000.0; }

std::string ThisHost() {
  char name[256] = {};
  return ::gethostname(name, sizeof name - 1) == 0 ? std::string(name) : "localhost";
}

// A metadata event of process `pid`, lane `tid`: names it (`key` "name") or orders it
// ("sort_index").
nlohmann::json Metadata(const char* name, int pid, int tid, const char* key,
                        const nlohmann::json& value) {
  return {{"name", name}, {"ph", "M"}, {"pid", pid}, {"tid", tid}, {"args", {{key, value}}}};
}

// Names and orders worker lane `slot`. A worker with a rank is named by its host and rank, and
// its lane sorted by host.
void AddWorkerLane(nlohmann::json& events, int pid, int slot, const std::vector<Span>& spans,
                   const std::vector<std::string>& hosts) {
  const auto ranked = std::find_if(spans.begin(), spans.end(),
                                   [slot](const Span& s) { return s.slot == slot && s.rank >= 0; });
  std::string lane = "worker " + std::to_string(slot);
  int sort_index = slot;
  if (ranked != spans.end()) {
    const auto host = static_cast<std::size_t>(ranked->host);
    lane = (host < hosts.size() ? hosts[host] : "host " + std::to_string(host)) + " rank " +
           std::to_string(ranked->rank) + " (" + lane + ")";
    sort_index = ranked->host * 100'000 + slot;
  }
  events.push_back(Metadata("thread_name", pid, slot, "name", lane));
  events.push_back(Metadata("thread_sort_index", pid, slot, "sort_index", sort_index));
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

void Timeline::Write(const std::string& path) const {
  using nlohmann::json;
  json events = json::array();
  int pid = 1;
  for (const Entry& e : entries_) {
    events.push_back(Metadata("process_name", pid, 0, "name", e.name));
    // Keep Perfetto's process order equal to the run order.
    events.push_back(Metadata("process_sort_index", pid, 0, "sort_index", pid));
    for (int slot = 0; slot < e.workers; ++slot) AddWorkerLane(events, pid, slot, e.spans, hosts_);
    // The iteration's wall time, on its own lane after the workers'.
    events.push_back(Metadata("thread_name", pid, e.workers, "name", "iteration"));
    events.push_back(Metadata("thread_sort_index", pid, e.workers, "sort_index", 100'000'000));
    events.push_back({{"name", "iteration"},
                      {"cat", "iteration"},
                      {"ph", "X"},
                      {"pid", pid},
                      {"tid", e.workers},
                      {"ts", 0.0},
                      {"dur", Micros(e.stop_ns - e.start_ns)},
                      {"args",
                       {{"workers", e.workers},
                        {"tasks", e.tasks},
                        {"tasks_recorded", e.spans.size()},
                        {"iterations", e.iterations},
                        {"runs", e.runs}}}});
    for (const Span& s : e.spans) events.push_back(TaskEvent(s, pid, e.start_ns));
    ++pid;
  }
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
