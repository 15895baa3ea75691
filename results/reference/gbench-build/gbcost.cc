// What Google Benchmark's library costs per iteration: the same binary run against Debian's
// libbenchmark (built without NDEBUG) and against upstream 1.7.1 built as Release.
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdint>

// The loop alone: `for (auto _ : state)` is inline; the library is entered once per batch.
static void BM_Loop(benchmark::State& state) {
  std::uint64_t i = 0;
  for (auto _ : state) benchmark::DoNotOptimize(i++);
}
BENCHMARK(BM_Loop)->UseRealTime();

// bench's TimedLoop shape: every iteration pauses the timer (check) and resumes it.
static void BM_PauseResume(benchmark::State& state) {
  std::uint64_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(i++);
    state.PauseTiming();
    state.ResumeTiming();
  }
}
BENCHMARK(BM_PauseResume)->UseRealTime();

// The whole cost of one PauseTiming() + ResumeTiming() pair, the paused part included, timed
// from outside by the steady clock (its two reads, tens of ns, included).
static void BM_PauseResumePair(benchmark::State& state) {
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    state.PauseTiming();
    state.ResumeTiming();
    const auto t1 = std::chrono::steady_clock::now();
    state.SetIterationTime(std::chrono::duration<double>(t1 - t0).count());
  }
}
BENCHMARK(BM_PauseResumePair)->UseManualTime();

BENCHMARK_MAIN();
