// A small Google Benchmark program whose JSON the tools' tests read: the features a foreign
// user's file has (threads, repetitions, complexity, errors, user counters, manual time).
// PROG_SCALE (an environment variable, default 1) multiplies the work, to plant a slowdown.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <vector>

namespace {

// The work multiplier from PROG_SCALE; read once.
std::int64_t Scale() {
  static const std::int64_t scale = [] {
    const char* text = std::getenv("PROG_SCALE");
    return text ? std::max<std::int64_t>(1, std::atoll(text)) : 1;
  }();
  return scale;
}

// A loop the optimizer cannot remove.
std::uint64_t Spin(std::int64_t n) {
  std::uint64_t x = 88172645463325252ull;
  for (std::int64_t i = 0; i < n; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    benchmark::DoNotOptimize(x);
  }
  return x;
}

// The same work on one and on two threads: /threads:1 and /threads:2 are distinct benchmarks.
void BM_Work(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(Spin(2000 * Scale()));
}
BENCHMARK(BM_Work)->UseRealTime()->Threads(1)->Threads(2);

// Two families with the same arguments, for comparing families inside one file.
void BM_Copy(benchmark::State& state) {
  std::vector<char> a(static_cast<std::size_t>(state.range(0) * Scale()), 'x'), b(a.size());
  for (auto _ : state) {
    std::copy(a.begin(), a.end(), b.begin());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(a.size()));
}
BENCHMARK(BM_Copy)->Arg(4096)->Arg(65536);

void BM_Fill(benchmark::State& state) {
  std::vector<char> b(static_cast<std::size_t>(state.range(0) * Scale()));
  for (auto _ : state) {
    std::fill(b.begin(), b.end(), 'y');
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(b.size()));
}
BENCHMARK(BM_Fill)->Arg(4096)->Arg(65536);

// Work proportional to the argument, with a complexity fit: BigO and RMS rows.
void BM_Linear(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(Spin(state.range(0) * Scale()));
  state.SetComplexityN(state.range(0));
}
BENCHMARK(BM_Linear)->RangeMultiplier(4)->Range(256, 4096)->Complexity(benchmark::oN);

// A benchmark that fails.
void BM_Error(benchmark::State& state) {
  state.SkipWithError("could not reach the test server");
  for (auto _ : state) {
  }
}
BENCHMARK(BM_Error);

// User counters: a rate, a plain value, one that is always 0 (its cv aggregate is NaN) and one
// that is NaN: Google Benchmark writes NaN into its JSON.
void BM_Counters(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(Spin(500 * Scale()));
  state.counters["items"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
  state.counters["depth"] = 3;
  state.counters["zero"] = 0;
  state.counters["unknown"] = std::numeric_limits<double>::quiet_NaN();
}
BENCHMARK(BM_Counters);

// Manual time: the benchmark reports its own duration.
void BM_Manual(benchmark::State& state) {
  for (auto _ : state) {
    const auto start = std::chrono::steady_clock::now();
    benchmark::DoNotOptimize(Spin(1000 * Scale()));
    state.SetIterationTime(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
}
BENCHMARK(BM_Manual)->UseManualTime()->Unit(benchmark::kMicrosecond);

// Nothing at all: well under a nanosecond per iteration.
void BM_Nothing(benchmark::State& state) {
  for (auto _ : state) {
  }
}
BENCHMARK(BM_Nothing);

}  // namespace

BENCHMARK_MAIN();
