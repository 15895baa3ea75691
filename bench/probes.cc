#include "bench/probes.h"

#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <boost/process/child.hpp>
#include <boost/process/io.hpp>
#include <boost/process/pipe.hpp>
#include <chrono>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

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
  boost::process::pipe to;
  boost::process::pipe from;
  boost::process::child child;
};

PipePingPong::PipePingPong() : impl_(new Impl) {
  namespace bp = boost::process;
  impl_->child = bp::child("/bin/cat", bp::std_in < impl_->to, bp::std_out > impl_->from);
}

PipePingPong::~PipePingPong() {
  impl_->to.close();  // cat sees end of file and exits
  std::error_code ignored;
  impl_->child.wait(ignored);
  delete impl_;
}

bool PipePingPong::Ping(std::uint64_t message) {
  if (::write(impl_->to.native_sink(), &message, sizeof message) != sizeof message) return false;
  std::uint64_t back = 0;
  std::size_t got = 0;
  while (got < sizeof back) {
    const ssize_t r = ::read(impl_->from.native_source(), reinterpret_cast<char*>(&back) + got,
                             sizeof back - got);
    if (r <= 0) return false;
    got += static_cast<std::size_t>(r);
  }
  return back == message;
}

}  // namespace parbench
