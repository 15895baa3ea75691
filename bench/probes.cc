#include "bench/probes.h"

#include <pthread.h>
#include <sched.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "executors/spawn.h"
#include "workloads/cpu.h"

namespace parbench {
namespace {

// Work units done in `seconds` by the calling thread.
std::int64_t Spin(double seconds, std::atomic<std::uint64_t>& sink) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  std::int64_t units = 0;
  std::uint64_t acc = 0;
  while (std::chrono::steady_clock::now() < end) {
    acc += cpu::Spin(20'000, static_cast<std::uint64_t>(units) + 1);  // about 35 µs
    ++units;
  }
  sink += acc;  // keeps the work observable
  return units;
}

}  // namespace

double NoiseProbe(int threads, double seconds) {
  std::atomic<std::uint64_t> sink{0};
  const double single = static_cast<double>(Spin(seconds, sink));
  std::vector<std::int64_t> units(static_cast<std::size_t>(threads));
  std::vector<std::thread> pool;
  std::string failure;
  for (int i = 0; i < threads && failure.empty(); ++i) {
    try {
      pool.emplace_back([&, i] {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(static_cast<std::size_t>(i % CPU_SETSIZE), &set);
        pthread_setaffinity_np(pthread_self(), sizeof set, &set);  // best effort
        units[static_cast<std::size_t>(i)] = Spin(seconds, sink);
      });
    } catch (const std::system_error& e) {
      failure = "the noise probe cannot start thread " + std::to_string(i + 1) + " of " +
                std::to_string(threads) + ": " + std::strerror(e.code().value());
      if (e.code().value() == EAGAIN) failure += " (the limit on processes, ulimit -u, is reached)";
    }
  }
  for (auto& t : pool) t.join();  // before throwing: a joinable thread's destructor terminates
  if (!failure.empty()) throw std::runtime_error(failure);
  double parallel = 0;
  for (std::int64_t u : units) parallel += static_cast<double>(u);
  return single > 0 ? parallel / (single * threads) : 0;
}

struct PipePingPong::Impl {
  Spawned cat;
};

PipePingPong::PipePingPong() : impl_(new Impl{Spawn({.exe = "/bin/cat"})}) {}

PipePingPong::~PipePingPong() {
  impl_->cat.to_stdin.Reset();  // cat sees end of file and exits
  // cat exits at once; the grace only bounds a wait that should never be needed.
  impl_->cat.process.Reap(std::chrono::seconds(10));
  delete impl_;
}

bool PipePingPong::Ping(std::uint64_t message) {
  if (::write(impl_->cat.to_stdin.get(), &message, sizeof message) != sizeof message) {
    return false;
  }
  std::uint64_t back = 0;
  std::size_t got = 0;
  while (got < sizeof back) {
    const ssize_t r = ::read(impl_->cat.from_stdout.get(), reinterpret_cast<char*>(&back) + got,
                             sizeof back - got);
    if (r <= 0) return false;
    got += static_cast<std::size_t>(r);
  }
  return back == message;
}

}  // namespace parbench
