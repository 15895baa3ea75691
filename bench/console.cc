#include "bench/console.h"

#include <regex.h>

#include <algorithm>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <ostream>
#include <set>
#include <sstream>

#include "bench/profile.h"

namespace parbench {
namespace {

// Others took more than this share of the usable CPUs while a benchmark ran: it is marked ⚠
// (the tools' default --max-interference).
constexpr double kDisturbed = 0.10;
// The longest name column; longer names push their row to the right.
constexpr std::size_t kMaxNameWidth = 46;
// The terminal the summary is wrapped for.
constexpr std::size_t kWidth = 120;

// Columns a UTF-8 string takes (each character one: µ, ×, ≤ and ⚠ included).
std::size_t Columns(std::string_view text) {
  return static_cast<std::size_t>(std::count_if(text.begin(), text.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  }));
}

// `line` broken at spaces into lines of at most `width` columns, the later ones indented by
// `indent`; each ends with a newline.
std::string Wrap(const std::string& line, std::size_t width, std::size_t indent) {
  std::string out;
  std::string current;
  std::istringstream words(line);
  const std::string lead = line.substr(0, line.find_first_not_of(' '));
  for (std::string word; words >> word;) {
    if (!current.empty() && Columns(current) + 1 + Columns(word) > width) {
      out += current + "\n";
      current = std::string(indent, ' ') + word;
    } else {
      current += (current.empty() ? lead : " ") + word;
    }
  }
  return out + current + "\n";
}

double Median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const std::size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

const Family* FamilyNamed(std::string_view name) {
  for (const Family& f : Families()) {
    if (f.display_name() == name) return &f;
  }
  return nullptr;
}

// The unit of `counter` as `family` declares it ("" for bench's plain ratios).
std::string_view UnitOf(const Family* family, std::string_view counter) {
  if (family != nullptr) {
    for (const CounterSpec& c : family->counter_specs) {
      if (c.name == counter) return c.unit;
    }
  }
  return "";
}

double InterferenceOf(const ConsoleResult& r) {
  const auto get = [&r](const char* key) {
    const auto it = r.counters.find(key);
    return it == r.counters.end() ? 0.0 : it->second;
  };
  return get("interference_cpu_frac") + get("steal_frac");
}

// The medians of one benchmark's repetitions.
ConsoleResult Summarise(const std::vector<const benchmark::BenchmarkReporter::Run*>& runs) {
  ConsoleResult out;
  std::vector<double> times;
  std::map<std::string, std::vector<double>> counters;
  for (const auto* run : runs) {
    if (run->error_occurred) {
      out.error = run->error_message;
      continue;
    }
    times.push_back(run->real_accumulated_time / static_cast<double>(run->iterations));
    for (const auto& [name, counter] : run->counters) counters[name].push_back(counter.value);
  }
  out.repetitions = static_cast<int>(times.size());
  out.median_s = Median(times);
  if (!times.empty() && out.median_s > 0) {
    const auto [lo, hi] = std::minmax_element(times.begin(), times.end());
    out.spread = (*hi - *lo) / out.median_s;
  }
  for (auto& [name, values] : counters) out.counters[name] = Median(std::move(values));
  return out;
}

// True when `base`'s point is `point` on every axis the baseline has (its "" axes are scoped
// to other executors).
bool SamePoint(const Point& base, const Point& point) {
  const auto& b = base.values();
  const auto& p = point.values();
  if (b.size() != p.size()) return false;
  for (std::size_t i = 0; i < b.size(); ++i) {
    if (b[i].first != p[i].first || (!b[i].second.empty() && b[i].second != p[i].second)) {
      return false;
    }
  }
  return true;
}

}  // namespace

std::string Printf(const char* format, ...) {
  char text[128];
  va_list args;
  va_start(args, format);
  std::vsnprintf(text, sizeof text, format, args);
  va_end(args);
  return text;
}

std::string FormatSeconds(double seconds) {
  struct Scale {
    double factor;
    const char* unit;
  };
  for (const Scale s : {Scale{1, "s"}, Scale{1e-3, "ms"}, Scale{1e-6, "µs"}, Scale{1e-9, "ns"}}) {
    const double v = seconds / s.factor;
    if (std::stod(Printf("%.3g", v)) >= 1 || s.factor == 1e-9) {
      return Printf("%.3g", v) + " " + s.unit;
    }
  }
  return Printf("%.3g", seconds) + " s";
}

std::string FormatSpeedup(double speedup) {
  return speedup < 10 ? Printf("%.2f×", speedup) : Printf("%.3g×", speedup);
}

std::string FormatCounter(double value, std::string_view unit) {
  if (unit == "ns") return FormatSeconds(value * 1e-9);
  if (unit == "us") return FormatSeconds(value * 1e-6);
  if (unit == "ms") return FormatSeconds(value * 1e-3);
  if (unit == "B/s") {
    return value >= (1 << 30) ? Printf("%.3g GiB/s", value / (1 << 30))
                              : Printf("%.3g MiB/s", value / (1 << 20));
  }
  if (unit == "B") return Printf("%.3g MiB", value / (1 << 20));
  if (unit == "%") return Printf("%.3g%%", value);
  if (unit.empty()) return Printf("%.3g", value);
  return Printf("%.3g", value) + " " + std::string(unit);
}

SuiteConsole::SuiteConsole(const SuiteEnv& env, std::string header, std::string tools,
                           std::string results, std::string filter)
    : env_(env),
      header_(std::move(header)),
      tools_(std::move(tools)),
      results_file_(std::move(results)) {
  for (const Registered* r : Selected(env_.registered, filter)) {
    name_width_ = std::max(name_width_, r->name.size());
  }
  name_width_ = std::min(name_width_, kMaxNameWidth);
}

std::vector<const Registered*> Selected(const std::vector<Registered>& registered,
                                        const std::string& filter) {
  // Google Benchmark on Linux matches its filter as a POSIX extended regex (regcomp); a
  // pattern regcomp refuses selects everything here (bench itself then reports it).
  const bool negated = filter.starts_with('-');
  regex_t pattern;
  const bool matching = !filter.empty() && filter != "all" &&
                        regcomp(&pattern, (negated ? filter.substr(1) : filter).c_str(),
                                REG_EXTENDED | REG_NOSUB) == 0;
  std::vector<const Registered*> out;
  for (const Registered& r : registered) {
    if (!matching || (regexec(&pattern, r.name.c_str(), 0, nullptr, 0) == 0) != negated) {
      out.push_back(&r);
    }
  }
  if (matching) regfree(&pattern);
  return out;
}

bool SuiteConsole::ReportContext(const Context&) {
  std::string columns = "benchmark";
  columns.resize(std::max<std::size_t>(name_width_, 9), ' ');
  GetOutputStream() << header_ << columns
                    << "    median   spread  speedup, efficiency (vs serial); counters\n"
                    << std::flush;
  return true;
}

const ConsoleResult* SuiteConsole::Baseline(const Registered& r) const {
  for (const Registered& b : env_.registered) {
    if (b.family != r.family || b.executor != kBaselineExecutor || b.name == r.name) continue;
    if (!SamePoint(b.point, r.point)) continue;
    const auto it = results_.find(b.name);
    return it == results_.end() || !it->second.error.empty() ? nullptr : &it->second;
  }
  return nullptr;
}

std::string SuiteConsole::Row(const Registered& r, const ConsoleResult& result) const {
  std::string name = r.name;
  if (name.size() < name_width_) name.resize(name_width_, ' ');
  if (!result.error.empty()) return name + "  ERROR: " + result.error;
  std::string row = name + " ";
  const std::string time = FormatSeconds(result.median_s);
  row += std::string(time.size() < 9 ? 9 - time.size() : 0, ' ') + time;
  row += result.repetitions > 1 ? Printf("  ±%4.1f%%", result.spread * 50) : "         ";
  const Family* family = FamilyNamed(r.family);
  const ConsoleResult* base = Baseline(r);
  if (base != nullptr && family != nullptr && family->reading == Reading::kSpeedup &&
      result.median_s > 0) {
    const double speedup = base->median_s / result.median_s;
    const int cpus = env_.EfficiencyCpus(r.executor, r.workers);
    const std::string times = FormatSpeedup(speedup);
    row += std::string(times.size() < 8 ? 8 - times.size() : 0, ' ') + times +
           Printf(" eff %.2f", speedup / std::max(cpus, 1));
  }
  if (family != nullptr) {
    for (std::string_view counter : family->shown_counters) {
      const auto it = result.counters.find(std::string(counter));
      if (it == result.counters.end()) continue;
      row += "  " + std::string(counter) + " " + FormatCounter(it->second, UnitOf(family, counter));
    }
  }
  if (const double i = InterferenceOf(result); i > kDisturbed) {
    row += Printf("  ⚠ interference %.0f%%", i * 100);
  }
  return row;
}

void SuiteConsole::ReportRuns(const std::vector<Run>& runs) {
  // One call holds the repetitions of one benchmark (then one with its aggregates, skipped).
  std::map<std::string, std::vector<const Run*>> by_name;
  std::vector<std::string> order;
  for (const Run& run : runs) {
    if (run.run_type == Run::RT_Aggregate) continue;
    const std::string& name = run.run_name.function_name;
    if (!by_name.contains(name)) order.push_back(name);
    by_name[name].push_back(&run);
  }
  for (const std::string& name : order) {
    const ConsoleResult result = Summarise(by_name[name]);
    results_[name] = result;
    const auto r = std::find_if(env_.registered.begin(), env_.registered.end(),
                                [&name](const Registered& e) { return e.name == name; });
    if (r != env_.registered.end()) GetOutputStream() << Row(*r, result) << "\n" << std::flush;
  }
}

void SuiteConsole::Finalize() {
  std::ostream& out = GetOutputStream();
  out << "\nSummary (medians; speedup = serial time / executor time for the same work):\n";
  std::istringstream lines(FamilySummary(env_, results_));
  for (std::string line; std::getline(lines, line);) out << Wrap(line, kWidth, 6);
  if (results_file_.empty()) {
    out << "\nNo results file (--benchmark_out was empty): the tools need one, e.g. "
           "--benchmark_out=run.json.\n"
        << std::flush;
    return;
  }
  out << "\nFull tables, verdicts and intervals:\n  " << tools_ << " speedup " << results_file_
      << " --format text\n"
      << "A page with plots and timelines:\n  " << tools_ << " report " << results_file_
      << " --out report.html\n"
      << std::flush;
}

}  // namespace parbench
