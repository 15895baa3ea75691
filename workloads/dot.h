// dot: an OpenBLAS matrix product per task. Question it answers: what happens when the library
// is already parallel (one BLAS thread per worker, or as many as there are cores)?
#pragma once

#include <cstdint>
#include <string>

#include "workloads/workload.h"

namespace parbench::dot {

// The config of a dot job: n x n float64 matrices, `blas_threads` OpenBLAS threads, set in
// every worker before its first product.
[[nodiscard]] Config MakeConfig(std::int64_t n, std::int64_t blas_threads);

// The sum of every element of C = A * B for the inputs every task uses (A all ones,
// B[k][j] = j): n * n * n(n-1)/2. Every term is an integer below 2^53, so it is exact.
[[nodiscard]] std::uint64_t ExpectedSum(std::int64_t n);

// Floating-point operations of one product: 2 n^3.
[[nodiscard]] double Flops(std::int64_t n);

// OpenBLAS's build configuration, the core it chose, and its thread count in this process.
// Each loads OpenBLAS on first use; when its module cannot be loaded they return
// "unavailable: " and why, and 0 threads.
[[nodiscard]] std::string BlasConfig();
[[nodiscard]] std::string BlasCore();
[[nodiscard]] int BlasThreads();

extern const Workload kWorkload;

}  // namespace parbench::dot
