// libparbench_blas.so: everything that touches OpenBLAS (see modules.h for why it is a module).
#include <cblas.h>  // OpenBLAS's: cblas_dgemm and openblas_set_num_threads

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "workloads/modules.h"

namespace parbench {
namespace {

// The most threads OpenBLAS has been asked for in this process (0: none yet; the pool it started
// when it loaded is then openblas_get_num_threads()). Its pool grows to that size and never
// shrinks.
std::atomic<int> g_pool_threads{0};

// Throws WorkloadError unless `count` - 1 threads can run at once right now. OpenBLAS does not
// check pthread_create when it grows its pool: a thread that could not start is waited for
// forever by the next product. Probe threads are started and held until all are up.
void CheckThreadsCanStart(int count) {
  std::mutex mu;
  std::condition_variable cv;
  bool release = false;
  std::vector<std::thread> probes;
  std::string failure;
  for (int i = 1; i < count && failure.empty(); ++i) {
    try {
      probes.emplace_back([&] {
        std::unique_lock lock(mu);
        cv.wait(lock, [&] { return release; });
      });
    } catch (const std::system_error& e) {
      failure = "OpenBLAS cannot start " + std::to_string(count - 1) + " thread(s) for " +
                std::to_string(count) + " BLAS threads: " + std::strerror(e.code().value());
      if (e.code().value() == EAGAIN) failure += " (the limit on processes, ulimit -u, is reached)";
    }
  }
  {
    std::lock_guard lock(mu);
    release = true;
  }
  cv.notify_all();
  for (auto& t : probes) t.join();
  if (!failure.empty()) throw WorkloadError(failure);
}

// openblas_set_num_threads(count), after checking that a larger pool than before can start.
void SetBlasThreads(int count) {
  const int pool = g_pool_threads.load() != 0 ? g_pool_threads.load() : openblas_get_num_threads();
  if (count > pool) CheckThreadsCanStart(count);
  // Remember the larger pool (the workers of a thread pool may all get here at once).
  const int larger = std::max(pool, count);
  int seen = g_pool_threads.load();
  while (larger > seen && !g_pool_threads.compare_exchange_weak(seen, larger)) {
  }
  openblas_set_num_threads(count);
}

class Runner final : public TaskRunner {
 public:
  explicit Runner(const Config& config)
      : n_(config.GetInt("n")), threads_(static_cast<int>(config.GetInt("blas_threads"))) {
    if (n_ < 1) throw WorkloadError("dot: n must be at least 1");
    if (threads_ < 1) throw WorkloadError("dot: blas_threads must be at least 1");
    // Explicit, in every worker: left alone, each worker's OpenBLAS would use every core.
    SetBlasThreads(threads_);
    const auto size = static_cast<std::size_t>(n_ * n_);
    a_.assign(size, 1.0);
    b_.resize(size);
    c_.assign(size, 0.0);
    for (std::int64_t k = 0; k < n_; ++k) {
      for (std::int64_t j = 0; j < n_; ++j)
        b_[static_cast<std::size_t>(k * n_ + j)] = static_cast<double>(j);
    }
  }

  TaskOutput Run(std::uint32_t, std::span<const std::byte>) override {
    // Another job in this process may have changed the setting since we were built.
    if (openblas_get_num_threads() != threads_) SetBlasThreads(threads_);
    const auto n = static_cast<blasint>(n_);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0, a_.data(), n, b_.data(), n,
                0.0, c_.data(), n);
    double sum = 0;
    for (double v : c_) sum += v;
    // Spot-check one element as well: the sum alone could hide a swapped pair.
    const double corner = c_[static_cast<std::size_t>(n_ - 1)];
    if (corner != static_cast<double>(n_ * (n_ - 1))) {
      throw WorkloadError("dot: C[0][n-1] is " + std::to_string(corner) + ", expected " +
                          std::to_string(n_ * (n_ - 1)));
    }
    return {.value = static_cast<std::uint64_t>(std::llround(sum)), .reply = {}};
  }

 private:
  std::int64_t n_;
  int threads_;
  std::vector<double> a_, b_, c_;
};

constexpr BlasModule kModule = {
    .abi = kModuleAbi,
    .make_runner = [](const Config& config) -> std::unique_ptr<TaskRunner> {
      return std::make_unique<Runner>(config);
    },
    .config = [] { return static_cast<const char*>(openblas_get_config()); },
    .core = [] { return static_cast<const char*>(openblas_get_corename()); },
    .threads = [] { return openblas_get_num_threads(); },
};

}  // namespace
}  // namespace parbench

extern "C" [[gnu::visibility("default")]] const parbench::BlasModule* parbench_blas_module() {
  return &parbench::kModule;
}
