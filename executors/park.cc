#include "executors/park.h"

#include <linux/futex.h>
#include <sched.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <climits>

namespace parbench::park {
namespace {

static_assert(sizeof(std::atomic<std::uint32_t>) == sizeof(std::uint32_t) &&
                  std::atomic<std::uint32_t>::is_always_lock_free,
              "a futex word must be a plain 32-bit word");
static_assert(std::endian::native == std::endian::little,
              "the eventcount's epoch is the high half of its word");

int AffinityCount() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof set, &set) != 0) return 1;
  return std::max(1, CPU_COUNT(&set));
}

std::atomic<int> g_usable{0};    // 0: not set by bench; the affinity mask's count is read once
std::atomic<int> g_running{0};   // see RunningThreads()
std::atomic<int> g_spinning{0};  // see SpinningThreads()

void RawWait(void* word, std::uint32_t expected, std::chrono::nanoseconds timeout) {
  timespec ts{};
  timespec* deadline = nullptr;
  if (timeout.count() > 0) {
    ts.tv_sec = static_cast<time_t>(timeout.count() / 1'000'000'000);
    ts.tv_nsec = static_cast<long>(timeout.count() % 1'000'000'000);
    deadline = &ts;  // relative, for FUTEX_WAIT
  }
  ::syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, expected, deadline, nullptr, 0);
}

void RawWake(void* word, int count) {
  ::syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, count, nullptr, nullptr, 0);
}

constexpr std::uint64_t kOneWaiter = 1;
constexpr std::uint64_t kOneEpoch = std::uint64_t{1} << 32;
constexpr std::uint64_t kWaiterMask = kOneEpoch - 1;

}  // namespace

void SetUsableCpus(int cpus) { g_usable.store(std::max(1, cpus), std::memory_order_relaxed); }

int UsableCpus() {
  int cpus = g_usable.load(std::memory_order_relaxed);
  if (cpus == 0) {
    static const int affinity = AffinityCount();
    cpus = affinity;
  }
  return cpus;
}

int RunningThreads() { return g_running.load(std::memory_order_relaxed); }

int SpinningThreads() { return g_spinning.load(std::memory_order_relaxed); }

bool Oversubscribed() { return RunningThreads() + SpinningThreads() > UsableCpus(); }

Running::Running() { g_running.fetch_add(1, std::memory_order_relaxed); }

Running::~Running() {
  if (counted_) g_running.fetch_sub(1, std::memory_order_relaxed);
}

void Running::Sleep() {
  if (counted_) g_running.fetch_sub(1, std::memory_order_relaxed);
  counted_ = false;
}

void Running::Wake() {
  if (!counted_) g_running.fetch_add(1, std::memory_order_relaxed);
  counted_ = true;
}

SpinBudget::SpinBudget(Spinner who) {
  if (who == Spinner::kIdleWorker) {
    // A permit: this spinner and those before it fit beside the running threads.
    const int spinning = g_spinning.fetch_add(1, std::memory_order_relaxed) + 1;
    permit_ = RunningThreads() + spinning <= UsableCpus();
    if (!permit_) g_spinning.fetch_sub(1, std::memory_order_relaxed);
    throttled_ = !permit_;
  } else {
    throttled_ = RunningThreads() + SpinningThreads() > UsableCpus();
  }
}

SpinBudget::~SpinBudget() {
  if (permit_) g_spinning.fetch_sub(1, std::memory_order_relaxed);
}

bool SpinBudget::CheckClock() {
  const std::int64_t now = std::chrono::steady_clock::now().time_since_epoch().count();
  if (deadline_ns_ == 0) {
    deadline_ns_ = now + std::chrono::nanoseconds(kLinger).count();
    return true;
  }
  // Running threads that outnumber the CPUs need them more than a spinner does.
  return now < deadline_ns_ && RunningThreads() + (permit_ ? SpinningThreads() : 0) <= UsableCpus();
}

void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield" ::: "memory");
#endif
}

void FutexWait(std::atomic<std::uint32_t>& word, std::uint32_t expected,
               std::chrono::nanoseconds timeout) {
  RawWait(&word, expected, timeout);
}

void FutexWake(std::atomic<std::uint32_t>& word, int count) { RawWake(&word, count); }

void Signal::Post() {
  if (word_.exchange(kPosted, std::memory_order_acq_rel) == kSleeping) FutexWake(word_, 1);
}

void Signal::Wait() {
  if (SpinUntil(Spinner::kWaitingCaller,
                [this] { return word_.load(std::memory_order_acquire) == kPosted; }))
    return;
  std::uint32_t expected = kPending;
  // Announce the sleep, unless the post came first.
  if (!word_.compare_exchange_strong(expected, kSleeping, std::memory_order_acq_rel)) return;
  while (word_.load(std::memory_order_acquire) != kPosted) FutexWait(word_, kSleeping);
}

std::uint32_t EventCount::Prepare() {
  return static_cast<std::uint32_t>(state_.fetch_add(kOneWaiter, std::memory_order_seq_cst) >> 32);
}

void EventCount::Cancel() { state_.fetch_sub(kOneWaiter, std::memory_order_seq_cst); }

void EventCount::Wait(std::uint32_t epoch) {
  // The epoch is the high half of the word: on a little-endian machine, the second 32 bits.
  void* epoch_word = reinterpret_cast<std::uint32_t*>(&state_) + 1;
  while (static_cast<std::uint32_t>(state_.load(std::memory_order_acquire) >> 32) == epoch) {
    RawWait(epoch_word, epoch, std::chrono::nanoseconds::zero());
  }
  state_.fetch_sub(kOneWaiter, std::memory_order_seq_cst);
}

void EventCount::Notify(int count) {
  const std::uint64_t before = state_.fetch_add(kOneEpoch, std::memory_order_seq_cst);
  if ((before & kWaiterMask) != 0) RawWake(reinterpret_cast<std::uint32_t*>(&state_) + 1, count);
}

std::uint32_t EventCount::waiters() const {
  return static_cast<std::uint32_t>(state_.load(std::memory_order_relaxed) & kWaiterMask);
}

}  // namespace parbench::park
