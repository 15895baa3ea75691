#include "workloads/dot.h"

#include <cmath>

#include "workloads/family.h"
#include "workloads/modules.h"

namespace parbench::dot {

Config MakeConfig(std::int64_t n, std::int64_t blas_threads) {
  return Config().Set("n", n).Set("blas_threads", blas_threads);
}

std::uint64_t ExpectedSum(std::int64_t n) {
  const auto un = static_cast<std::uint64_t>(n);
  return un * un * (un * (un - 1) / 2);
}

double Flops(std::int64_t n) { return 2.0 * std::pow(static_cast<double>(n), 3); }

std::string BlasConfig() {
  try {
    return Blas().config();
  } catch (const WorkloadError& e) {
    return std::string("unavailable: ") + e.what();
  }
}

std::string BlasCore() {
  try {
    return Blas().core();
  } catch (const WorkloadError& e) {
    return std::string("unavailable: ") + e.what();
  }
}

int BlasThreads() {
  try {
    return Blas().threads();
  } catch (const WorkloadError&) {
    return 0;
  }
}

constexpr Workload kWorkload = {
    .name = "dot",
    .summary =
        "an OpenBLAS cblas_dgemm of two --dot_n x --dot_n float64 matrices, with "
        "blas_threads set in every worker",
    .make_runner = [](const Config& config) { return Blas().make_runner(config); },
};

namespace {

const bool kRegistered = RegisterFamily({
    .workload = &kWorkload,
    .flags = {{.name = "dot_n",
               .lo = 1,
               .hi = 8192,
               .default_value = "1024",
               .help = "dot: order of the float64 matrices"}},
    // One BLAS thread per worker, and as many as the run has CPUs (the library's own
    // parallelism competing with the executor's).
    .axes =
        [](const Options&, int cpus) {
          Axis axis{"blas_threads", {"1"}};
          if (cpus > 1) axis.values.push_back(std::to_string(cpus));
          return std::vector<Axis>{axis};
        },
    .prepare =
        [](const Point& point, Fixtures& f) {
          const std::int64_t n = f.options().Int("dot_n");
          return Prepared{.job = {"dot", MakeConfig(n, point.Int("blas_threads"))},
                          .payload = {},
                          .tasks = static_cast<std::uint32_t>(f.options().Int("tasks")),
                          .check = ExpectValue(ExpectedSum(n), " as the sum of C")};
        },
    .counters =
        [](const Point&, const Prepared&, const Measurement& m, Fixtures& f) {
          return Counters{{"gflops", Flops(f.options().Int("dot_n")) *
                                         static_cast<double>(m.tasks) / m.seconds() / 1e9}};
        },
    .counter_specs = {{"gflops", "GFLOP/s", true}},
    .shown_counters = {"gflops"},
    // Which OpenBLAS ran (its build and the kernel it picked for this CPU), and its threads in
    // bench's own process.
    .context =
        [] {
          return std::vector<std::pair<std::string, std::string>>{
              {"openblas_config", BlasConfig()},
              {"openblas_core", BlasCore()},
              {"openblas_threads", std::to_string(BlasThreads())}};
        },
});

}  // namespace

}  // namespace parbench::dot
