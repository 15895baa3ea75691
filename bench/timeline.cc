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
    events.push_back({{"name", "process_name"},
                      {"ph", "M"},
                      {"pid", pid},
                      {"tid", 0},
                      {"args", {{"name", e.name}}}});
    // Keep Perfetto's process order equal to the run order.
    events.push_back({{"name", "process_sort_index"},
                      {"ph", "M"},
                      {"pid", pid},
                      {"tid", 0},
                      {"args", {{"sort_index", pid}}}});
    for (int slot = 0; slot < e.workers; ++slot) {
      // A worker with a rank is named by its host and rank, and its lane sorted by host.
      const auto ranked = std::find_if(e.spans.begin(), e.spans.end(), [slot](const Span& s) {
        return s.slot == slot && s.rank >= 0;
      });
      std::string lane = "worker " + std::to_string(slot);
      int sort_index = slot;
      if (ranked != e.spans.end()) {
        const auto host = static_cast<std::size_t>(ranked->host);
        lane = (host < hosts_.size() ? hosts_[host] : "host " + std::to_string(host)) + " rank " +
               std::to_string(ranked->rank) + " (" + lane + ")";
        sort_index = ranked->host * 100'000 + slot;
      }
      events.push_back({{"name", "thread_name"},
                        {"ph", "M"},
                        {"pid", pid},
                        {"tid", slot},
                        {"args", {{"name", lane}}}});
      events.push_back({{"name", "thread_sort_index"},
                        {"ph", "M"},
                        {"pid", pid},
                        {"tid", slot},
                        {"args", {{"sort_index", sort_index}}}});
    }
    // The iteration's wall time, on its own lane after the workers'.
    events.push_back({{"name", "thread_name"},
                      {"ph", "M"},
                      {"pid", pid},
                      {"tid", e.workers},
                      {"args", {{"name", "iteration"}}}});
    events.push_back({{"name", "thread_sort_index"},
                      {"ph", "M"},
                      {"pid", pid},
                      {"tid", e.workers},
                      {"args", {{"sort_index", 100'000'000}}}});
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
    for (const Span& s : e.spans) {
      events.push_back({{"name", "task " + std::to_string(s.task)},
                        {"cat", "task"},
                        {"ph", "X"},
                        {"pid", pid},
                        {"tid", s.slot},
                        {"ts", Micros(s.start_ns - e.start_ns)},
                        {"dur", Micros(s.stop_ns - s.start_ns)},
                        {"args",
                         {{"task", s.task},
                          {"host", s.host},
                          {"rank", s.rank},
                          {"os_pid", s.pid},
                          {"os_tid", s.tid},
                          {"clock", s.clock == SpanClock::kAligned ? "aligned" : "host"}}}});
    }
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
