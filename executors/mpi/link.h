// mpi's transport: rank 0's end of the worker ranks 1..W of an Open MPI job (see session.h).
//
// Configure, task and payload messages go out with MPI_Isend (the caller's payload as a
// message of its own, no copy into a header); results come back as one kResults message per
// task message, each reply as a kReply message of its own, received into a buffer that the
// result keeps (valid until the result is dropped) and that later runs reuse.
//
// Rank 0 never blocks in MPI: it polls (MPI_Iprobe / MPI_Test), spinning for 50 µs after the
// last message and then sleeping, so it leaves the cores to the worker ranks; it spins while
// a send of its own is in flight, since shared-memory sends progress only when it polls.
//
// Faults: a rank on rank 0's host that exits is seen within milliseconds (its pid is
// watched); a task past the timeout gets its rank killed (on this host) or abandoned (another
// host). The rank is lost for the rest of the run; the results still on their way from the
// other ranks are received and dropped by a later run.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "executors/mpi/session.h"
#include "executors/remote/link.h"

namespace parbench::mpi {

class MpiLink final : public remote::Link {
 public:
  // Reaches ranks 1..options.workers; ExecutorError without mpirun, when the job has fewer
  // worker ranks, or when one of them was lost earlier in the run.
  explicit MpiLink(const ExecutorOptions& options);
  // The ranks keep running for the next executor; nothing to stop here.
  ~MpiLink() override = default;
  MpiLink(const MpiLink&) = delete;
  MpiLink& operator=(const MpiLink&) = delete;

  [[nodiscard]] int workers() const override { return workers_; }
  // One message running and one queued per rank.
  [[nodiscard]] std::size_t depth() const override { return 2; }
  void Begin(const Batch& batch) override;
  void Configure(int worker, std::string_view workload, std::string_view config) override;
  void Send(int worker, remote::TaskRange range, std::span<const std::byte> payload) override;
  void Poll(std::span<const int> busy, std::int64_t deadline_ns, remote::Inbox& inbox) override;
  // Waits until every send has finished (they have: the results came back).
  void Settle() override;
  std::string StopOverdue(int worker) override;
  [[nodiscard]] std::string Describe(int worker) const override;
  void Abandon(int worker, std::span<const std::size_t> in_flight,
               const std::string& message) override;

 private:
  // A send rank 0 has started and must see finished before its buffer may go.
  struct Posted {
    void* request = nullptr;
    int worker = 0;
    std::shared_ptr<std::vector<std::byte>> header;  // nullptr for the caller's payload
  };

  [[nodiscard]] RankInfo& RankOf(int worker) const;
  void Post(int worker, const void* data, std::uint64_t bytes, int tag,
            std::shared_ptr<std::vector<std::byte>> header);
  bool TestSends();
  void WatchRanks(std::span<const int> busy) const;
  void Handle(int from, int tag, std::uint64_t bytes, remote::Inbox& inbox);
  void Deliver(int worker, wire::ResultRecord record, remote::Inbox& inbox);
  std::shared_ptr<std::vector<std::byte>> ReplyBuffer(std::uint64_t bytes);
  std::shared_ptr<std::vector<std::byte>> ReceiveReply(int worker, std::uint64_t bytes);

  int workers_;
  std::chrono::milliseconds timeout_;
  Backoff backoff_;
  std::vector<Posted> sends_;
  // Reply buffers: one per reply of a run; reused by later runs once no result holds them.
  std::vector<std::shared_ptr<std::vector<std::byte>>> replies_;
};

}  // namespace parbench::mpi
