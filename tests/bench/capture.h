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
      outcomes.push_back({run.benchmark_name(), run.error_occurred ? run.error_message : "",
                          run.counters});
    }
  }
  std::vector<Outcome> outcomes;
};

}  // namespace parbench::testing
