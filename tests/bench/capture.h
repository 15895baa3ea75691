// A Google Benchmark reporter that keeps each run's name, error and counters instead of
// printing them, so tests check names and outcomes (never timings).
#pragma once

#include <benchmark/benchmark.h>

#include <string>
#include <vector>

namespace parbench::testing {

class CapturingReporter : public benchmark::BenchmarkReporter {
 public:
  struct Outcome {
    std::string name;
    std::string error;  // "" when the run succeeded
    benchmark::UserCounters counters;
  };
  bool ReportContext(const Context&) override { return true; }
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& run : runs) {
      outcomes.push_back(
          {run.benchmark_name(), run.error_occurred ? run.error_message : "", run.counters});
    }
  }
  std::vector<Outcome> outcomes;
};

// Runs the registered benchmarks whose names match `filter`, each for `min_time` seconds, and
// returns what they reported.
inline std::vector<CapturingReporter::Outcome> RunMatching(const std::string& filter,
                                                           const std::string& min_time) {
  std::string program = "parbench_test";
  std::string filter_flag = "--benchmark_filter=" + filter;
  std::string min_time_flag = "--benchmark_min_time=" + min_time;
  char* argv[] = {program.data(), filter_flag.data(), min_time_flag.data(), nullptr};
  int argc = 3;
  benchmark::Initialize(&argc, argv);
  CapturingReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  return reporter.outcomes;
}

}  // namespace parbench::testing
