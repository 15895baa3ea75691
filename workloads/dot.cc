#include "workloads/dot.h"

#include <cmath>

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
    .summary = "an OpenBLAS cblas_dgemm of two --dot_n x --dot_n float64 matrices, with "
               "blas_threads set in every worker",
    .make_runner = [](const Config& config) { return Blas().make_runner(config); },
};

}  // namespace parbench::dot
