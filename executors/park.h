// Spin-then-park: how the thread pool's workers and callers wait, and how the peers' handoff
// round trips wait for their workers (so every executor pays the same for the caller's side).
//
// The patterns are the known-good ones: libgomp's do_wait (spin on the word, then futex;
// the spin cut to almost nothing when it manages more threads than there are CPUs), oneTBB's
// and folly's eventcount (a waiter announces itself before its last check, so a notifier skips
// the system call when nobody sleeps and wakes only as many as it needs), and a linger: a
// thread that found no work spins for a short, bounded time, then sleeps in the kernel and
// uses no CPU until it is woken.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace parbench::park {

// How long an idle thread spins before it sleeps, when it does not compete with other runnable
// threads for the CPUs. Long enough to bridge the gap between two batches of a benchmark loop
// (a few µs), short enough that an idle pool costs nothing measurable a moment later.
inline constexpr std::chrono::microseconds kLinger{50};
// Spin iterations (each a CPU pause) when the awake threads outnumber the usable CPUs: a spinner
// would only take the CPU from a thread with real work (libgomp throttles to 100).
inline constexpr int kThrottledSpins = 64;

// The CPUs this process may use, for the throttle: bench sets it once from its CPU budget (the
// affinity mask and the cgroup quota, bench/machine.h); until then, the affinity mask's count.
void SetUsableCpus(int cpus);
[[nodiscard]] int UsableCpus();

// Threads of this process, across every pool, that are running: a worker with a task, a
// caller inside Run() (not while it sleeps in the kernel). Thread-safe.
[[nodiscard]] int RunningThreads();
// Idle workers spinning for their next batch, across every pool.
[[nodiscard]] int SpinningThreads();
// True when the running and spinning threads outnumber the usable CPUs.
[[nodiscard]] bool Oversubscribed();

// Counts the calling thread as running for its lifetime (and, with Sleep()/Wake(), not while
// it sleeps).
class Running {
 public:
  Running();
  ~Running();
  Running(const Running&) = delete;
  Running& operator=(const Running&) = delete;
  void Sleep();  // the thread is about to sleep in the kernel
  void Wake();   // it is back

 private:
  bool counted_ = true;
};

// A CPU pause (x86 `pause`, Arm `yield`): eases a spin loop on the core and its sibling.
void CpuRelax();

// Who spins: an idle worker needs one of the CPUs no running thread uses (a permit: running +
// spinning <= usable CPUs, so of three idle workers beside one running caller on 2 CPUs one
// spins and two sleep); a caller waiting for its batch is running already.
enum class Spinner { kIdleWorker, kWaitingCaller };

// How long one spin may go on: the linger, or kThrottledSpins pauses when the CPUs are taken.
// An idle worker holds its spin permit while the budget lives.
class SpinBudget {
 public:
  explicit SpinBudget(Spinner who);
  ~SpinBudget();
  SpinBudget(const SpinBudget&) = delete;
  SpinBudget& operator=(const SpinBudget&) = delete;
  // Whether spin number `i` (from 0) may go on.
  bool Continue(int i) {
    if (throttled_) return i < kThrottledSpins;
    return (i & 63) != 63 || CheckClock();
  }

 private:
  bool CheckClock();  // false once the linger is over or the CPUs are taken
  bool permit_ = false;
  bool throttled_ = false;
  std::int64_t deadline_ns_ = 0;
};

// Spins until `changed()` is true or the budget is spent. Returns whether it changed.
template <typename Changed>
bool SpinUntil(Spinner who, Changed changed) {
  if (changed()) return true;
  SpinBudget budget(who);
  for (int i = 0;; ++i) {
    if (changed()) return true;
    CpuRelax();
    if (!budget.Continue(i)) return false;
  }
}

// Sleeps while `*word == expected` (FUTEX_WAIT_PRIVATE), at most `timeout` when it is not
// zero. Returns at once when the word differs; may return spuriously.
void FutexWait(std::atomic<std::uint32_t>& word, std::uint32_t expected,
               std::chrono::nanoseconds timeout = std::chrono::nanoseconds::zero());
// Wakes up to `count` threads sleeping on `word`.
void FutexWake(std::atomic<std::uint32_t>& word, int count);

// A one-shot signal from one thread to one waiting thread: Reset(), then Post() from the
// worker and Wait() in the waiter (spin, then park). Post() wakes only a waiter that sleeps.
class Signal {
 public:
  void Reset() { word_.store(kPending, std::memory_order_relaxed); }
  void Post();
  void Wait();

 private:
  static constexpr std::uint32_t kPending = 0;
  static constexpr std::uint32_t kPosted = 1;
  static constexpr std::uint32_t kSleeping = 2;  // pending, and the waiter sleeps on the word
  std::atomic<std::uint32_t> word_{kPending};
};

// An eventcount (folly's EventCount, oneTBB's concurrent_monitor): lets threads sleep until a
// condition they check lock-free may have changed, without a lost wake-up and without a system
// call when nobody sleeps.
//
//   waiter:   if (work()) ...; key = ec.Prepare(); if (work()) { ec.Cancel(); ... }
//             else ec.Wait(key);
//   notifier: make work visible; ec.Notify(n);
//
// A waiter that returned from Prepare() before Notify() began is either woken or does not
// sleep. Notify(n) wakes at most n sleepers (those beyond stay asleep until the next Notify).
class EventCount {
 public:
  // Announces a waiter; returns the epoch to pass to Wait().
  std::uint32_t Prepare();
  // Withdraws a Prepare() whose condition turned out true.
  void Cancel();
  // Sleeps until a Notify() after Prepare() wakes this thread (returns at once if one already
  // happened since).
  void Wait(std::uint32_t epoch);
  // Publishes a change and wakes up to `count` sleeping waiters.
  void Notify(int count);
  // Threads between Prepare() and the end of Wait()/Cancel().
  [[nodiscard]] std::uint32_t waiters() const;

 private:
  // One word: the epoch (high half, the futex word) and the waiter count (low half), so a
  // notifier bumps the epoch and learns whether anybody waits in one atomic operation.
  std::atomic<std::uint64_t> state_{0};
};

}  // namespace parbench::park
