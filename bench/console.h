// bench's console: a few lines of context, one row per benchmark (its median over the
// repetitions and the counters that matter for its family), and at the end a summary per
// family with the command that prints the full tables. Everything else is in the JSON.
#pragma once

#include <benchmark/benchmark.h>

#include <map>
#include <string>
#include <vector>

#include "bench/suite.h"

namespace parbench {

// One benchmark as the console saw it: medians over its repetitions.
struct ConsoleResult {
  double median_s = 0;  // real time per iteration
  double spread = 0;    // (max - min) / median over the repetitions
  int repetitions = 0;
  std::map<std::string, double> counters;  // medians
  std::string error;                       // "" unless it failed
};

class SuiteConsole final : public benchmark::BenchmarkReporter {
 public:
  // `header`: the lines printed before the first row (machine, profile, results file);
  // `tools`: how to call parbench-tools from here; `results`: the JSON file the run writes.
  SuiteConsole(const SuiteEnv& env, std::string header, std::string tools, std::string results,
               std::string filter);
  bool ReportContext(const Context& context) override;
  void ReportRuns(const std::vector<Run>& runs) override;
  void Finalize() override;

  // The results seen so far, by name (tests read them).
  [[nodiscard]] const std::map<std::string, ConsoleResult>& results() const { return results_; }

 private:
  [[nodiscard]] std::string Row(const Registered& r, const ConsoleResult& result) const;
  [[nodiscard]] const ConsoleResult* Baseline(const Registered& r) const;

  const SuiteEnv& env_;
  std::string header_;
  std::string tools_;
  std::string results_file_;
  std::size_t name_width_ = 0;
  std::map<std::string, ConsoleResult> results_;
};

// The benchmarks --benchmark_filter=`filter` runs (close to Google Benchmark's own matching).
[[nodiscard]] std::vector<const Registered*> Selected(const std::vector<Registered>& registered,
                                                      const std::string& filter);

// The family summaries at the end of a run: for each family with results, one line per
// group (its axis values): the speedup of each executor at `cpus` workers (with the best
// count when another one is better), its METG when it swept task durations, or (cost
// families) what a unit of work costs against the floor.
[[nodiscard]] std::string FamilySummary(const SuiteEnv& env,
                                        const std::map<std::string, ConsoleResult>& results);

// printf into a std::string (up to 127 characters).
[[nodiscard]] std::string Printf(const char* format, ...) __attribute__((format(printf, 1, 2)));
// "1.98×", "31.2×".
[[nodiscard]] std::string FormatSpeedup(double speedup);
// A counter's value in its unit, short: "1.2 GiB/s", "85.3 ns", "0.99".
[[nodiscard]] std::string FormatCounter(double value, std::string_view unit);
// Seconds in the unit that keeps three digits: "322 ms", "85.3 ns".
[[nodiscard]] std::string FormatSeconds(double seconds);

}  // namespace parbench
