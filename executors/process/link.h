// The process pool's transport: worker processes started with Boost.Process (spawn.h), reached
// through one pipe pair each, and optionally a shared-memory region each.
//
// Each worker is the running binary re-executed as `EXE --worker PARENT_PID` (see
// worker_main.h), so it has the same workload table. Tasks and results travel as
// length-prefixed frames (frame.h); a task's payload is copied through the pipe, which is the
// price Python pays for pickling. One poll() loop drives every pipe with non-blocking
// descriptors, so a large frame going out never waits on a large frame coming back. With
// Transport::kShm, payloads and replies travel through a shared-memory region per worker
// instead (a memfd the worker sees as descriptor 3). Both ends spin briefly before they block,
// when the CPUs allow it (spin.h).
#pragma once

#include <poll.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "executors/process/worker.h"
#include "executors/remote/link.h"

namespace parbench {

class ProcessLink final : public remote::Link {
 public:
  // Starts options.workers processes and waits until each has said hello (a worker that
  // cannot start, or speaks another protocol version, throws ExecutorError).
  explicit ProcessLink(const ExecutorOptions& options);
  // Closes every worker's stdin, gives the workers a grace period to exit (none after a
  // failure), kills the ones that do not, and reaps them all: no zombie and no descriptor is
  // left behind.
  ~ProcessLink() override;
  ProcessLink(const ProcessLink&) = delete;
  ProcessLink& operator=(const ProcessLink&) = delete;

  [[nodiscard]] int workers() const override { return static_cast<int>(workers_.size()); }
  // Pipes: one frame running and one queued. Shared memory: one, since every frame's replies
  // use the same place in the region.
  [[nodiscard]] std::size_t depth() const override;
  [[nodiscard]] bool CanSend(int worker) const override;
  void Begin(const Batch& batch) override { payload_size_ = batch.payload.size(); }
  void Configure(int worker, std::string_view workload, std::string_view config) override;
  void Send(int worker, remote::TaskRange range, std::span<const std::byte> payload) override;
  void Poll(std::span<const int> busy, std::int64_t deadline_ns, remote::Inbox& inbox) override;
  // The kill happens in Abandon(), which closes the worker's stdin and reaps it.
  std::string StopOverdue(int /*worker*/) override { return "was killed"; }
  [[nodiscard]] std::string Describe(int worker) const override;
  void Abandon(int worker, std::span<const std::size_t> in_flight,
               const std::string& message) override;

  // The OS pid of every worker, by slot.
  [[nodiscard]] std::vector<int> pids() const;

 private:
  void WaitForHellos();
  void AwaitHello(ProcessWorker& w, std::int64_t deadline);
  [[noreturn]] void FailAtStart(ProcessWorker& w, const std::string& what);
  void PutPayloadInRegion(ProcessWorker& w, std::span<const std::byte> payload);
  void Receive(int worker, remote::Inbox& inbox);
  // The worker's pipe broke (end of file, or EPIPE on a write): it is exiting or gone. Reaps it
  // (killing it after a second if it lingers) and throws a fault that says how it ended.
  [[noreturn]] void Lost(int worker);
  void HandleFrames(int worker, remote::Inbox& inbox);
  void StoreResults(int worker, std::span<const std::byte> body, remote::Inbox& inbox);
  // Whether the parent should spin in Poll() for the `busy` workers (spin.h).
  [[nodiscard]] bool ShouldSpin(std::span<const int> busy) const;

  std::vector<std::unique_ptr<ProcessWorker>> workers_;
  Transport transport_;
  std::uint64_t payload_size_ = 0;  // this run's, for where a shared reply starts
  bool broken_ = false;
  std::vector<pollfd> fds_;  // reused by every poll()
  std::vector<int> fd_owners_;
  // For the spin (spin.h): tasks sent to each worker and not answered yet, how many workers
  // have any, and whether each worker's last answer took longer than a spin (then waiting for
  // its next one by spinning would mostly waste the CPU).
  std::vector<std::uint32_t> tasks_out_;
  int busy_workers_ = 0;
  std::vector<bool> slow_;
};

}  // namespace parbench
