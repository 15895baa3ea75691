// Boost 1.74 enables its vfork path only for pre-2008 POSIX feature macros, which modern glibc
// never sets, so bp::posix::use_vfork fails to link. vfork is available on Linux: turn it on.
#define BOOST_POSIX_HAS_VFORK 1

#include "executors/process_pool.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <boost/process/args.hpp>
#include <boost/process/child.hpp>
#include <boost/process/exe.hpp>
#include <boost/process/extend.hpp>
#include <boost/process/io.hpp>
#include <boost/process/pipe.hpp>
#include <boost/process/posix.hpp>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <thread>

#include "common/cleanup.h"
#include "common/unique_fd.h"
#include "executors/frame.h"
#include "executors/worker_main.h"

namespace bp = boost::process;

namespace parbench {
namespace {

using wire::FrameType;

// How long a worker may take to say hello, and to exit once its stdin is closed.
constexpr std::chrono::seconds kStartTimeout{30};
constexpr std::chrono::seconds kExitGrace{2};
// Reads ask for at least this much, so small frames cost one read() each.
constexpr std::size_t kReadChunk = 64 * 1024;
// Adaptive batching: once tasks are seen to take less than kTinyTaskNs on average, several go
// in one frame, sized to about kFrameWorkNs of work, so a pipe round trip (tens of µs here) is
// paid per frame instead of per task. Longer tasks keep chunk size 1: the next task always
// goes to the first free worker.
constexpr double kTinyTaskNs = 20'000;
constexpr double kFrameWorkNs = 200'000;

// "was killed by signal 9 (Killed)" / "exited with status 3", from a raw waitpid status.
std::string DescribeStatus(int status) {
  if (WIFSIGNALED(status)) {
    const int sig = WTERMSIG(status);
    return "was killed by signal " + std::to_string(sig) + " (" + ::strsignal(sig) + ")";
  }
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  return "stopped with wait status " + std::to_string(status);
}

// Pipes of 1 MiB instead of 64 KiB: a large payload then crosses in 16 times fewer hand-offs
// between the two processes (each a context switch). Capped by /proc/sys/fs/pipe-max-size;
// failing is harmless (the pipe keeps its default size).
constexpr int kPipeBytes = 1 << 20;

void SetNonBlocking(int fd) {
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
    throw ExecutorError(std::string("processes: fcntl(O_NONBLOCK): ") + std::strerror(errno));
  }
}

int MillisUntil(std::int64_t deadline_ns) {
  const std::int64_t left = deadline_ns - NowNs();
  if (left <= 0) return 0;
  return static_cast<int>(std::min<std::int64_t>((left + 999'999) / 1'000'000, INT32_MAX));
}

// A mapping of a worker's shared region; results that point into it keep it alive.
struct Mapping {
  Mapping(int fd, std::size_t bytes) : size(bytes) {
    void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
      throw ExecutorError(std::string("processes: mmap of a shared region: ") + std::strerror(errno));
    }
    data = static_cast<std::byte*>(p);
  }
  ~Mapping() { ::munmap(data, size); }
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
  std::byte* data = nullptr;
  std::size_t size = 0;
};

}  // namespace

struct ProcessPool::Worker {
  int slot = 0;
  int pid = 0;
  bp::child child;
  UniqueFd to;    // the worker's stdin (our write end, non-blocking)
  UniqueFd from;  // the worker's stdout (our read end, non-blocking)
  bool reaped = false;
  int status = 0;  // raw waitpid status once reaped
  UniqueFd shm;                     // the shared region (Transport::kShm only)
  std::shared_ptr<Mapping> region;  // its current mapping

  // Grows the shared region to at least `bytes` (and maps it); a smaller one is kept.
  void EnsureRegion(std::size_t bytes) {
    if (region && region->size >= bytes) return;
    if (::ftruncate(shm.get(), static_cast<off_t>(bytes)) != 0) {
      throw ExecutorError(std::string("processes: growing a shared region: ") + std::strerror(errno));
    }
    region = std::make_shared<Mapping>(shm.get(), bytes);  // older results keep the old mapping
  }

  // Outgoing: owned bytes (configure frame, task frame prefix) and then a view of the payload.
  std::vector<std::byte> out;
  std::size_t out_sent = 0;
  std::span<const std::byte> payload;
  std::size_t payload_sent = 0;

  // Incoming: `in_have` bytes of `in` are a frame (or more) being received.
  std::vector<std::byte> in;
  std::size_t in_have = 0;
  bool hello = false;

  // Scheduling.
  std::string job_key;  // the job this worker is configured for
  bool busy = false;
  std::uint32_t first = 0;
  std::uint32_t count = 0;
  std::uint32_t done = 0;
  std::int64_t busy_since_ns = 0;

  [[nodiscard]] bool sending() const {
    return out_sent < out.size() || payload_sent < payload.size();
  }

  // Writes what it can without blocking; returns false if the worker is gone (EPIPE).
  bool Flush() {
    while (sending()) {
      iovec iov[2];
      int n = 0;
      if (out_sent < out.size()) {
        iov[n++] = {out.data() + out_sent, out.size() - out_sent};
      }
      if (payload_sent < payload.size()) {
        iov[n++] = {const_cast<std::byte*>(payload.data()) + payload_sent,
                    payload.size() - payload_sent};
      }
      const ssize_t w = ::writev(to.get(), iov, n);
      if (w < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN) return true;
        return false;  // EPIPE: the worker closed its stdin, i.e. it died
      }
      auto left = static_cast<std::size_t>(w);
      const std::size_t from_out = std::min(left, out.size() - out_sent);
      out_sent += from_out;
      left -= from_out;
      payload_sent += left;
    }
    out.clear();
    out_sent = 0;
    payload = {};
    payload_sent = 0;
    return true;
  }

  // Reaps the process, killing it (SIGKILL) if it has not exited within `grace`. Done with
  // waitpid on the pid rather than bp::child: a raw status tells a crash from exit(11), and the
  // child object is detached so that its destructor never touches the reaped pid again.
  void Reap(std::chrono::milliseconds grace) {
    if (reaped) return;
    const std::int64_t deadline = NowNs() + std::chrono::nanoseconds(grace).count();
    int raw = 0;
    for (;;) {
      const pid_t r = ::waitpid(pid, &raw, WNOHANG);
      if (r == pid) break;
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) {  // ECHILD: nothing left to reap
        raw = 0;
        break;
      }
      if (NowNs() >= deadline) {
        ::kill(pid, SIGKILL);
        while (::waitpid(pid, &raw, 0) < 0 && errno == EINTR) {
        }
        break;
      }
      std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
    child.detach();
    status = raw;
    reaped = true;
    cleanup::RemoveProcess(pid);
  }
};

ProcessPool::ProcessPool(const ExecutorOptions& options)
    : timeout_(options.task_timeout), transport_(options.transport) {
  // A worker that dies turns our next write into EPIPE; without this it would kill us.
  struct sigaction old{};
  ::sigaction(SIGPIPE, nullptr, &old);
  if (old.sa_handler == SIG_DFL) std::signal(SIGPIPE, SIG_IGN);

  if (::access(options.worker_exe.c_str(), X_OK) != 0) {
    throw ExecutorError("processes: cannot start worker '" + options.worker_exe +
                        "': " + std::strerror(errno));
  }
  const std::string parent_pid = std::to_string(::getpid());
  workers_.reserve(static_cast<std::size_t>(options.workers));
  try {
    for (int slot = 0; slot < options.workers; ++slot) {
      auto worker = std::make_unique<Worker>();
      worker->slot = slot;
      // O_CLOEXEC: a sibling worker started later must not inherit this worker's pipe ends,
      // or closing our end of its stdin would never reach it.
      int to_child[2];
      int from_child[2];
      if (::pipe2(to_child, O_CLOEXEC) != 0) {
        throw ExecutorError(std::string("processes: pipe2: ") + std::strerror(errno));
      }
      bp::pipe stdin_pipe(to_child[0], to_child[1]);
      if (::pipe2(from_child, O_CLOEXEC) != 0) {
        throw ExecutorError(std::string("processes: pipe2: ") + std::strerror(errno));
      }
      bp::pipe stdout_pipe(from_child[0], from_child[1]);
      int memfd = -1;
      if (transport_ == Transport::kShm) {
        memfd = ::memfd_create("parbench-worker", MFD_CLOEXEC);
        if (memfd < 0) {
          throw ExecutorError(std::string("processes: memfd_create: ") + std::strerror(errno));
        }
        worker->shm.Reset(memfd);
      }
      std::error_code ec;
      worker->child = bp::child(
          bp::exe = options.worker_exe, bp::args = {std::string(kWorkerFlag), parent_pid},
          bp::std_in < stdin_pipe, bp::std_out > stdout_pipe,
          // vfork: the child borrows the parent's memory until exec, so start-up does not
          // grow with the parent's size (no page tables to copy).
          bp::posix::use_vfork,
          // Only stdin, stdout, stderr (and the shared region, as descriptor 3) cross into the
          // worker: close whatever else the parent holds without O_CLOEXEC (an output file, a
          // socket). This runs in the vforked child, whose descriptor table is its own.
          bp::extend::on_exec_setup =
              [memfd](auto&) {
                if (memfd < 0) {
                  ::close_range(3, ~0U, 0);
                  return;
                }
                if (memfd == wire::kShmFd) {
                  ::fcntl(memfd, F_SETFD, 0);  // dup2 onto itself would keep O_CLOEXEC
                } else {
                  ::dup2(memfd, wire::kShmFd);
                }
                ::close_range(wire::kShmFd + 1, ~0U, 0);
              },
          // When exec fails, Boost reports the error but leaves the dead child unreaped.
          bp::extend::on_error =
              [](auto& exec, const std::error_code&) {
                int status = 0;
                if (exec.pid > 0) ::waitpid(exec.pid, &status, 0);
              },
          ec);
      if (ec) {
        throw ExecutorError("processes: cannot start worker '" + options.worker_exe +
                            "': " + ec.message());
      }
      worker->pid = worker->child.id();
      cleanup::AddProcess(worker->pid);  // stopped and reaped even if bench is interrupted
      worker->to.Reset(stdin_pipe.native_sink());
      stdin_pipe.assign_sink(-1);
      worker->from.Reset(stdout_pipe.native_source());
      stdout_pipe.assign_source(-1);
      SetNonBlocking(worker->to.get());
      SetNonBlocking(worker->from.get());
      ::fcntl(worker->to.get(), F_SETPIPE_SZ, kPipeBytes);
      ::fcntl(worker->from.get(), F_SETPIPE_SZ, kPipeBytes);
      workers_.push_back(std::move(worker));
    }
    WaitForHellos();
  } catch (...) {
    broken_ = true;
    for (auto& w : workers_) {
      w->to.Reset();
      w->Reap(std::chrono::milliseconds(0));
    }
    throw;
  }
}

ProcessPool::~ProcessPool() {
  // Closing stdin asks every worker to exit; a broken pool's workers get no grace.
  for (auto& w : workers_) w->to.Reset();
  const auto grace = broken_ ? std::chrono::milliseconds(0)
                             : std::chrono::milliseconds(kExitGrace);
  const std::int64_t deadline = NowNs() + std::chrono::nanoseconds(grace).count();
  for (auto& w : workers_) {
    // Wait for end of file on its stdout: the worker has exited (or closed it).
    char sink[4096];
    while (!w->reaped && w->from.valid()) {
      pollfd p{w->from.get(), POLLIN, 0};
      const int ready = ::poll(&p, 1, MillisUntil(deadline));
      if (ready < 0 && errno == EINTR) continue;
      if (ready <= 0) break;
      const ssize_t r = ::read(w->from.get(), sink, sizeof sink);
      if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) break;
    }
    w->Reap(std::chrono::milliseconds(MillisUntil(deadline)));
    w->from.Reset();
  }
}

std::vector<int> ProcessPool::pids() const {
  std::vector<int> out;
  for (const auto& w : workers_) out.push_back(w->pid);
  return out;
}

void ProcessPool::Fail(Worker& worker, const std::string& what) {
  broken_ = true;
  worker.to.Reset();
  worker.Reap(std::chrono::milliseconds(200));
  std::string message = "processes: worker slot " + std::to_string(worker.slot) + " (pid " +
                        std::to_string(worker.pid) + ") " + what;
  if (worker.busy) {
    message += worker.count == 1 ? " while running task " + std::to_string(worker.first)
                                 : " while running tasks " + std::to_string(worker.first) +
                                       ".." + std::to_string(worker.first + worker.count - 1);
  }
  throw ExecutorError(message);
}

void ProcessPool::WaitForHellos() {
  const std::int64_t deadline = NowNs() + std::chrono::nanoseconds(kStartTimeout).count();
  for (auto& w : workers_) {
    wire::Header header;
    std::size_t have = 0;
    std::int32_t pid = 0;
    std::byte buffer[sizeof header + sizeof pid];
    while (have < sizeof buffer) {
      pollfd p{w->from.get(), POLLIN, 0};
      const int ready = ::poll(&p, 1, MillisUntil(deadline));
      if (ready < 0 && errno == EINTR) continue;
      if (ready == 0) Fail(*w, "did not say hello within " + std::to_string(kStartTimeout.count()) + " s");
      const ssize_t r = ::read(w->from.get(), buffer + have, sizeof buffer - have);
      if (r < 0 && (errno == EAGAIN || errno == EINTR)) continue;
      if (r <= 0) {
        w->Reap(std::chrono::milliseconds(500));
        Fail(*w, DescribeStatus(w->status) + " before saying hello");
      }
      have += static_cast<std::size_t>(r);
    }
    std::memcpy(&header, buffer, sizeof header);
    std::memcpy(&pid, buffer + sizeof header, sizeof pid);
    try {
      wire::CheckHeader(header);
    } catch (const wire::ProtocolError& e) {
      Fail(*w, std::string("broke the protocol at hello: ") + e.what());
    }
    if (header.type != static_cast<std::uint16_t>(FrameType::kHello) ||
        header.size != sizeof pid || pid != w->pid) {
      Fail(*w, "sent a malformed hello");
    }
    w->hello = true;
  }
}

std::vector<Result> ProcessPool::Run(const Batch& batch) {
  if (broken_) throw ExecutorError("processes: the pool is broken by an earlier failure");
  if (batch.payload.size() > wire::kMaxPayload) {
    throw ExecutorError("processes: a payload of " + std::to_string(batch.payload.size()) +
                        " bytes exceeds the frame limit of " + std::to_string(wire::kMaxPayload));
  }
  const Job& job = *batch.job;
  const std::string job_key = job.workload + '|' + job.config.Serialize();
  std::vector<Result> results(batch.tasks);
  std::uint32_t next = 0;
  std::uint32_t completed = 0;
  const std::int64_t timeout_ns = std::chrono::nanoseconds(timeout_).count();
  std::int64_t busy_ns = 0;  // summed task durations seen so far, for adaptive batching

  // How many tasks the next frame carries (see kTinyTaskNs).
  auto chunk_size = [&]() -> std::uint32_t {
    if (completed == 0) return 1;
    const double mean_ns = static_cast<double>(busy_ns) / static_cast<double>(completed);
    if (mean_ns >= kTinyTaskNs) return 1;
    const double by_work = kFrameWorkNs / std::max(mean_ns, 1.0);
    // Leave work for every worker: at most half of a fair share of what remains.
    const double fair = static_cast<double>(batch.tasks - next) / (2.0 * static_cast<double>(workers_.size()));
    return static_cast<std::uint32_t>(std::clamp(std::min(by_work, fair), 1.0, 65'536.0));
  };

  auto assign = [&](Worker& w) {
    if (w.job_key != job_key) {
      std::vector<std::byte> body;
      wire::Writer writer(body);
      writer.Str(job.workload);
      writer.Str(job.config.Serialize());
      wire::AppendFrame(w.out, FrameType::kConfigure, body);
      w.job_key = job_key;
    }
    const std::uint32_t count = std::min(chunk_size(), batch.tasks - next);
    std::uint32_t flags = 0;
    if (transport_ == Transport::kShm) {
      // The payload crosses here, one copy into the worker's region; the rest of the region
      // (at least as large again) takes the reply.
      const std::uint64_t reply_at = wire::ReplyOffset(batch.payload.size());
      w.EnsureRegion(static_cast<std::size_t>(reply_at + std::max<std::size_t>(batch.payload.size(), 4096)));
      if (!batch.payload.empty()) {
        std::memcpy(w.region->data, batch.payload.data(), batch.payload.size());
      }
      flags = wire::kPayloadInShm;
    } else {
      w.payload = batch.payload;
    }
    const auto prefix = wire::TasksFramePrefix(next, count, batch.payload.size(), flags);
    w.out.insert(w.out.end(), prefix.begin(), prefix.end());
    w.busy = true;
    w.first = next;
    w.count = count;
    w.done = 0;
    w.busy_since_ns = NowNs();
    next += count;
    if (!w.Flush()) Fail(w, "closed its stdin");
  };

  // Handles every complete frame in w.in; returns when a partial frame (or nothing) is left.
  auto handle_frames = [&](Worker& w) {
    for (;;) {
      if (w.in_have < sizeof(wire::Header)) return;
      wire::Header header;
      std::memcpy(&header, w.in.data(), sizeof header);
      try {
        wire::CheckHeader(header);
      } catch (const wire::ProtocolError& e) {
        Fail(w, std::string("broke the protocol: ") + e.what());
      }
      const std::size_t total = sizeof header + static_cast<std::size_t>(header.size);
      if (w.in_have < total) {
        if (w.in.size() < total) w.in.resize(total);  // room for the whole frame, read in place
        return;
      }
      const std::span<const std::byte> body(w.in.data() + sizeof header, header.size);
      // Replies point into the frame: hand the whole buffer to the results that refer to it.
      auto owner = std::make_shared<std::vector<std::byte>>();
      bool keeps_buffer = false;
      try {
        wire::Reader reader(body);
        switch (static_cast<FrameType>(header.type)) {
          case FrameType::kResults: {
            const std::uint32_t n = reader.U32();
            for (std::uint32_t i = 0; i < n; ++i) {
              wire::ResultRecord record = wire::DecodeResult(reader);
              if (!w.busy || record.task < w.first || record.task >= w.first + w.count) {
                throw wire::ProtocolError("result for task " + std::to_string(record.task) +
                                          " that it was not given");
              }
              Result& r = results[record.task];
              r.value = record.value;
              r.span = {.slot = w.slot, .task = record.task, .pid = w.pid, .tid = record.tid,
                        .start_ns = record.start_ns, .stop_ns = record.stop_ns};
              r.error = std::move(record.error);
              if ((record.flags & wire::kReplyInShm) != 0) {
                const std::uint64_t at = wire::ReplyOffset(batch.payload.size());
                if (!w.region || at + record.reply_size > w.region->size) {
                  throw wire::ProtocolError("a shared-memory reply outside the region");
                }
                r.reply = {w.region->data + at, static_cast<std::size_t>(record.reply_size)};
                r.reply_owner = w.region;
              } else if (!record.reply.empty()) {
                r.reply = record.reply;
                r.reply_owner = owner;
                keeps_buffer = true;
              }
              busy_ns += record.stop_ns - record.start_ns;
              ++w.done;
              ++completed;
            }
            reader.ExpectEnd();
            if (w.done == w.count) w.busy = false;
            break;
          }
          case FrameType::kError:
            Fail(w, "reported: " + reader.Str());
          default:
            throw wire::ProtocolError("unexpected frame type " + std::to_string(header.type));
        }
      } catch (const wire::ProtocolError& e) {
        Fail(w, std::string("broke the protocol: ") + e.what());
      }
      const std::size_t rest = w.in_have - total;
      if (keeps_buffer) {
        std::vector<std::byte> next_in(std::max(rest, kReadChunk));
        std::memcpy(next_in.data(), w.in.data() + total, rest);
        *owner = std::move(w.in);
        w.in = std::move(next_in);
      } else {
        std::memmove(w.in.data(), w.in.data() + total, rest);
      }
      w.in_have = rest;
    }
  };

  auto receive = [&](Worker& w) {
    for (;;) {
      // Keep room to read into: a whole frame once its header is known (see handle_frames),
      // at least a chunk otherwise.
      if (w.in.size() - w.in_have < kReadChunk / 16) w.in.resize(w.in_have + kReadChunk);
      const ssize_t r = ::read(w.from.get(), w.in.data() + w.in_have, w.in.size() - w.in_have);
      if (r > 0) {
        w.in_have += static_cast<std::size_t>(r);
        handle_frames(w);
        continue;
      }
      if (r < 0 && errno == EINTR) continue;
      if (r < 0 && errno == EAGAIN) return;
      w.Reap(std::chrono::milliseconds(1000));  // end of file: the worker is exiting
      Fail(w, DescribeStatus(w.status));
    }
  };

  std::vector<pollfd> fds;
  std::vector<Worker*> owners;
  while (completed < batch.tasks) {
    for (auto& w : workers_) {
      if (next < batch.tasks && !w->busy) assign(*w);
    }
    fds.clear();
    owners.clear();
    std::int64_t deadline = INT64_MAX;
    for (auto& w : workers_) {
      if (!w->busy) continue;
      fds.push_back({w->from.get(), POLLIN, 0});
      owners.push_back(w.get());
      if (w->sending()) {
        fds.push_back({w->to.get(), POLLOUT, 0});
        owners.push_back(w.get());
      }
      deadline = std::min(deadline, w->busy_since_ns + timeout_ns);
    }
    const int ready = ::poll(fds.data(), fds.size(), MillisUntil(deadline));
    if (ready < 0) {
      if (errno == EINTR) continue;
      broken_ = true;
      throw ExecutorError(std::string("processes: poll: ") + std::strerror(errno));
    }
    for (std::size_t i = 0; i < fds.size(); ++i) {
      if (fds[i].revents == 0) continue;
      Worker& w = *owners[i];
      if (fds[i].fd == w.to.get()) {
        if (!w.Flush()) receive(w);  // EPIPE: read its last words and its exit status
      } else {
        receive(w);
      }
    }
    const std::int64_t now = NowNs();
    for (auto& w : workers_) {
      if (w->busy && now - w->busy_since_ns > timeout_ns) {
        Fail(*w, "ran longer than the task timeout of " + std::to_string(timeout_.count()) +
                     " ms and was killed");
      }
    }
  }
  return results;
}

namespace {

const bool kRegistered = RegisterExecutor({
    .name = "processes",
    .summary = "a persistent pool of worker processes (this binary re-executed); payloads "
               "through pipes or shared memory",
    .traits = {.transport_axis = true, .starts_processes = true},
    .make = [](const ExecutorOptions& options) -> std::unique_ptr<Executor> {
      return std::make_unique<ProcessPool>(options);
    },
    .order = 20,
});

}  // namespace

}  // namespace parbench
