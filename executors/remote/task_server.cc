#include "executors/remote/task_server.h"

#include <cstdint>
#include <exception>
#include <utility>

namespace parbench::remote {
namespace {

// The slot is the parent's business: it knows which worker a result came from.
constexpr std::int32_t kUnknownSlot = -1;

}  // namespace

void TaskServer::Configure(std::string_view workload, std::string_view config) {
  job_.workload = std::string(workload);
  job_.config = Config::Parse(config);
  (void)cache_.Get(job_);  // a build error is reported by each of the job's tasks
}

void TaskServer::RunTasks(TaskRange range, std::span<const std::byte> payload, WorkerLink& link) {
  const std::uint32_t first = range.first;
  const std::uint32_t count = range.count;
  if (count == 0 || std::uint64_t{first} + count > UINT32_MAX) {
    throw wire::ProtocolError("a task message with a bad task range");
  }
  if (job_.workload.empty()) throw wire::ProtocolError("a task message before any configure");
  TaskRunner* runner = cache_.Get(job_);
  const Batch batch{.job = &job_, .tasks = first + count, .payload = payload};
  owned_replies_.clear();
  for (std::uint32_t i = first; i < first + count; ++i) {
    Result result = RunOneTask(runner, cache_.error(), batch, i, kUnknownSlot);
    std::span<const std::byte> reply = result.reply;
    // A runner's reply is valid only until its next task: copy it when more tasks follow.
    if (i + 1 < first + count && !reply.empty()) {
      reply = owned_replies_.emplace_back(reply.begin(), reply.end());
    }
    const wire::ResultRecord record{.task = i,
                                    .value = result.value,
                                    .start_ns = result.span.start_ns,
                                    .stop_ns = result.span.stop_ns,
                                    .tid = result.span.tid,
                                    .flags = 0,
                                    .error = std::move(result.error),
                                    .reply_size = reply.size(),
                                    .reply = {}};
    link.Add(record, reply);
  }
  link.Send();
}

int Serve(WorkerLink& link) {
  try {
    TaskServer server;
    Incoming in;
    while (link.Next(in)) {
      if (in.kind == Incoming::Kind::kConfigure) {
        server.Configure(in.workload, in.config);
      } else {
        server.RunTasks(in.range, in.payload, link);
      }
    }
    return 0;
  } catch (const std::exception& e) {
    link.Fail(e.what());
    return 3;
  }
}

}  // namespace parbench::remote
