// The timeline: every benchmark's last iteration as Chrome Trace Event JSON (Perfetto opens it).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "executors/executor.h"

namespace parbench {

class Timeline {
 public:
  // The host table starts with this machine's name (host 0).
  Timeline();
  // The names of the hosts spans refer to by index (Span::host).
  [[nodiscard]] const std::vector<std::string>& hosts() const { return hosts_; }
  // Replaces the host table (an MPI run: every rank's host, rank 0's first).
  void SetHosts(std::vector<std::string> hosts) { hosts_ = std::move(hosts); }

  // The most task spans kept per benchmark: a trace of a granularity run would otherwise hold
  // millions (the first ones are kept; the iteration event says how many there were).
  static constexpr std::size_t kMaxSpans = 1000;

  // Keeps the spans of one iteration of benchmark `name` (the `iterations`-th of its run),
  // replacing what an earlier call for the same name recorded (so the last iteration of the
  // last run, i.e. of the last repetition, wins) and counting the runs.
  void Record(const std::string& name, int workers, std::int64_t start_ns, std::int64_t stop_ns,
              const std::vector<Result>& results, std::int64_t iterations = 1);

  // Writes the trace: one pid per benchmark and host (a lane group: named by a process_name
  // metadata event, the benchmark's name for rank 0's host, "NAME @ HOST" for each other host
  // its workers ran on, right after it), one tid per worker slot (in its host's group), an X event
  // per task (ts/dur in µs from the iteration's start, args with the task index, host index, rank,
  // OS pid and tid, clock) and one X event for the whole iteration (args: workers, tasks,
  // tasks_recorded, iterations, runs); otherData.hosts names the hosts. Compact JSON: a trace is
  // large. Lanes of workers with ranks are named "HOST rank R (worker S)"; the iteration's lane is
  // in rank 0's host's group. Throws std::runtime_error when the file cannot be written.
  void Write(const std::string& path) const;

  [[nodiscard]] bool empty() const { return entries_.empty(); }

 private:
  struct Entry {
    std::string name;
    int workers = 0;
    std::int64_t start_ns = 0;
    std::int64_t stop_ns = 0;
    std::vector<Span> spans;
    std::size_t tasks = 0;        // in the iteration (spans holds at most kMaxSpans of them)
    std::int64_t iterations = 1;  // of the run the iteration was the last of
    int runs = 0;                 // how often the benchmark ran (sizing trials, repetitions)
  };
  // "pb-host1": host `host` by the hosts table ("host N" beyond it).
  [[nodiscard]] std::string HostName(int host) const;
  // The host of each worker slot of `e` (that of its ranked spans; 0 without a rank).
  [[nodiscard]] static std::vector<int> SlotHosts(const Entry& e);
  // Appends `e`'s events, its lane groups numbered from `pid` (advanced past them).
  void WriteEntry(const Entry& e, int& pid, nlohmann::json& events) const;

  std::vector<Entry> entries_;
  std::vector<std::string> hosts_;
};

}  // namespace parbench
