// The transport interface of the remote-worker core: what a transport does, at each end, so
// that the core can dispatch tasks to workers it cannot share memory with.
//
// Parent side: a Link owns (or reaches) W workers and moves messages to and from them; the
// core's Dispatcher decides which tasks go to which worker in how many messages, watches the
// deadlines and keeps the results in task order (see dispatcher.h). Worker side: a WorkerLink
// receives configure and task messages and sends results back; the core's task server runs
// the tasks (see task_server.h). A new transport (a socket to another host, another engine)
// is one pair of these, as the process pool (process/) and mpi (mpi/) are, and as the test
// double in tests/executors/remote/ shows.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "executors/executor.h"
#include "executors/remote/wire.h"

namespace parbench::remote {

// Tasks first..first+count-1 of a batch: what one task message carries.
struct TaskRange {
  std::uint32_t first = 0;
  std::uint32_t count = 0;
};

// A worker that failed during a run: thrown by a link or by the dispatcher, and turned into
// an ExecutorError naming the worker and the tasks it was running.
struct WorkerFault {
  int worker = -1;   // the worker's index; -1 when the link itself failed
  std::string what;  // "was killed by signal 9 (Killed)", "broke the protocol: ..."
};

// Where a link hands over what the workers answered.
class Inbox {
 public:
  virtual ~Inbox() = default;
  // One task's result from `worker`. The link fills in everything but span.slot; span.task
  // names the task. Throws WorkerFault when the worker was not given that task.
  virtual void Deliver(int worker, Result&& result) = 0;
};

// The parent's end of a transport to W workers (indices 0..W-1). Driven by one thread, one run
// at a time. Any method may throw WorkerFault for a worker that failed (or ExecutorError when
// the transport itself fails); the run then ends and Abandon() is called.
class Link {
 public:
  virtual ~Link() = default;

  // How many workers it reaches.
  [[nodiscard]] virtual int workers() const = 0;
  // How many task messages a worker may hold at once: one it runs, the rest queued behind it,
  // so it starts the next without waiting a round trip for the parent.
  [[nodiscard]] virtual std::size_t depth() const = 0;
  // False while `worker` cannot take another message yet (one is still going out).
  [[nodiscard]] virtual bool CanSend(int /*worker*/) const { return true; }

  // A run of `batch` begins: every message of the run carries batch.payload.
  virtual void Begin(const Batch& /*batch*/) {}
  // Tells `worker` to build the runner for `workload` with `config` (Config::Serialize())
  // before the tasks that follow.
  virtual void Configure(int worker, std::string_view workload, std::string_view config) = 0;
  // Sends `worker` one message: tasks `range`, each given `payload`.
  virtual void Send(int worker, TaskRange range, std::span<const std::byte> payload) = 0;
  // Moves what is ready to move and hands every result that arrived to `inbox`; when nothing
  // happens, waits a while, but not past `deadline_ns` (NowNs). `busy`: the workers with task
  // messages out (a link may watch only those).
  virtual void Poll(std::span<const int> busy, std::int64_t deadline_ns, Inbox& inbox) = 0;
  // Every result is in: finishes what is still in flight before the run returns.
  virtual void Settle() {}

  // `worker` ran past the task timeout: stops it if it can, and says how ("was killed").
  virtual std::string StopOverdue(int worker) = 0;
  // How errors name `worker`: "worker slot 1 (pid 42)", "rank 2 (host vm, pid 4242)".
  [[nodiscard]] virtual std::string Describe(int worker) const = 0;
  // After a failure of `worker` (-1: of the link, or of something else during the run) that
  // ends the run with `message`: gives the worker up and makes the link safe to destroy.
  // `in_flight[w]` is how many task messages worker w had not answered.
  virtual void Abandon(int worker, std::span<const std::size_t> in_flight,
                       const std::string& message) = 0;
};

// What a worker's link received from the parent.
struct Incoming {
  enum class Kind { kConfigure, kTasks };
  Kind kind = Kind::kTasks;
  std::string workload;                // kConfigure: the job's workload
  std::string config;                  // kConfigure: its Config::Serialize()
  TaskRange range;                     // kTasks
  std::span<const std::byte> payload;  // kTasks: valid until the next Next()
};

// Every transport's configure message is {str workload, str config}, and its task message
// starts with {u32 first, u32 count} (the transport adds the payload its own way). These write
// and read those fields.
void WriteConfigure(wire::Writer& w, std::string_view workload, std::string_view config);
void WriteTaskRange(wire::Writer& w, TaskRange range);
// A whole configure body, into `in` (kind kConfigure). Throws wire::ProtocolError.
void ReadConfigure(std::span<const std::byte> body, Incoming& in);
// The task range at the start of a task message, into `in` (kind kTasks).
void ReadTaskRange(wire::Reader& reader, Incoming& in);

// The worker's end of a transport. One thread drives it.
class WorkerLink {
 public:
  virtual ~WorkerLink() = default;
  // Waits for the parent's next configure or task message; false when the parent is done (a
  // clean end). Serves the transport's own messages (clock pings, echoes) on the way. Throws
  // on a message that breaks the protocol.
  virtual bool Next(Incoming& in) = 0;
  // The result of one task of the message Next() returned last, in task order. `reply` stays
  // valid until Send() (the task server copies a reply whose runner would reuse it).
  virtual void Add(const wire::ResultRecord& record, std::span<const std::byte> reply) = 0;
  // Sends the results added since the task message came, as one answer.
  virtual void Send() = 0;
  // Tells the parent (as far as it can) and stderr that this worker fails with `what`.
  virtual void Fail(const std::string& what) = 0;
};

}  // namespace parbench::remote
