#include "executors/process/worker_main.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <string>

#include "executors/executor.h"
#include "executors/process/frame.h"

namespace parbench {
namespace {

using wire::FrameType;

// The slot is the parent's business: it fills it in from which pipe the result came through.
constexpr std::int32_t kUnknownSlot = -1;

void SendError(int out, const std::string& message) {
  std::vector<std::byte> body;
  wire::Writer(body).Str(message.substr(0, wire::kMaxErrorText));
  std::vector<std::byte> frame;
  wire::AppendFrame(frame, FrameType::kError, body);
  try {
    const std::span<const std::byte> pieces[] = {frame};
    wire::WriteFull(out, pieces);
  } catch (const std::exception&) {
    // The parent is gone; stderr still carries the message.
  }
}

// The shared-memory region (descriptor kShmFd), mapped on first use and again when the parent
// has grown it.
class SharedRegion {
 public:
  ~SharedRegion() {
    if (data_ != nullptr) ::munmap(data_, size_);
  }
  // The whole region, at least `need` bytes; throws ProtocolError when there is none.
  std::span<std::byte> Map(std::uint64_t need) {
    struct stat st {};
    if (::fstat(wire::kShmFd, &st) != 0) {
      throw wire::ProtocolError("shared-memory frame, but no shared region was passed");
    }
    const auto size = static_cast<std::size_t>(st.st_size);
    if (size != size_) {
      if (data_ != nullptr) ::munmap(data_, size_);
      data_ = nullptr;
      size_ = 0;
      void* p = size == 0
                    ? nullptr
                    : ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, wire::kShmFd, 0);
      if (p == MAP_FAILED) throw wire::ProtocolError("cannot map the shared region");
      data_ = static_cast<std::byte*>(p);
      size_ = size;
    }
    if (need > size_) throw wire::ProtocolError("the shared region is smaller than its payload");
    return {data_, size_};
  }

 private:
  std::byte* data_ = nullptr;
  std::size_t size_ = 0;
};

// Runs the tasks of one kTasks frame and writes one kResults frame back.
void ServeTasks(int out, const Job& job, RunnerCache& cache, SharedRegion& region,
                std::span<const std::byte> body) {
  wire::Reader reader(body);
  const std::uint32_t first = reader.U32();
  const std::uint32_t count = reader.U32();
  const std::uint32_t flags = reader.U32();
  const std::uint64_t payload_size = reader.U64();
  const bool shm = (flags & wire::kPayloadInShm) != 0;
  std::span<std::byte> shared;
  std::span<const std::byte> payload;
  if (shm) {
    shared = region.Map(payload_size);
    payload = shared.first(static_cast<std::size_t>(payload_size));
  } else {
    payload = reader.Bytes(payload_size);
  }
  reader.ExpectEnd();
  if (count == 0 || std::uint64_t{first} + count > UINT32_MAX) {
    throw wire::ProtocolError("kTasks frame with a bad task range");
  }
  if (job.workload.empty()) throw wire::ProtocolError("kTasks frame before any kConfigure");

  TaskRunner* runner = cache.Get(job);
  const Batch batch{.job = &job, .tasks = first + count, .payload = payload};
  // Each record's fixed fields in its own buffer and its reply as a separate piece, so a large
  // reply goes out with writev instead of being copied into the frame.
  std::deque<std::vector<std::byte>> heads;
  std::deque<std::vector<std::byte>> owned_replies;
  std::vector<std::span<const std::byte>> pieces;
  std::uint64_t body_size = sizeof(std::uint32_t);
  std::vector<std::byte>& top = heads.emplace_back();
  pieces.emplace_back();  // header and count, filled in below
  for (std::uint32_t i = first; i < first + count; ++i) {
    Result result = RunOneTask(runner, cache.error(), batch, i, kUnknownSlot);
    std::span<const std::byte> reply = result.reply;
    wire::ResultRecord record{.task = i,
                              .value = result.value,
                              .start_ns = result.span.start_ns,
                              .stop_ns = result.span.stop_ns,
                              .tid = result.span.tid,
                              .flags = 0,
                              .error = result.error,
                              .reply_size = reply.size(),
                              .reply = {}};
    const std::uint64_t reply_at = wire::ReplyOffset(payload_size);
    if (shm && count == 1 && !reply.empty() &&
        reply.size() <= shared.size() - std::min<std::size_t>(reply_at, shared.size())) {
      // The reply crosses back through the region: one copy, no pipe.
      std::memmove(shared.data() + reply_at, reply.data(), reply.size());
      record.flags = wire::kReplyInShm;
      reply = {};
    } else if (count > 1 && !reply.empty()) {
      // A runner's reply is valid only until its next task: copy it when more tasks follow.
      reply = owned_replies.emplace_back(reply.begin(), reply.end());
    }
    std::vector<std::byte>& head = heads.emplace_back();
    wire::Writer w(head);
    wire::EncodeResultHead(w, record, record.reply_size);
    pieces.emplace_back(head);
    pieces.push_back(reply);
    body_size += head.size() + reply.size();
  }
  const wire::Header header{.type = static_cast<std::uint16_t>(FrameType::kResults),
                            .size = body_size};
  wire::Writer w(top);
  w.Raw(&header, sizeof header);
  w.U32(count);
  pieces[0] = top;
  wire::WriteFull(out, pieces);
}

}  // namespace

bool IsWorkerInvocation(int argc, char** argv) { return argc >= 2 && argv[1] == kWorkerFlag; }

int WorkerMain(int argc, char** argv) {
  // Die with the parent, so a killed bench never leaves an orphan worker behind.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (argc >= 3 && ::getppid() != std::atoi(argv[2])) return 1;  // the parent died before prctl
  // Ctrl-C, Ctrl-\ and a closed terminal reach the whole process group; the parent decides
  // how workers stop (and they die with it).
  for (int sig : {SIGINT, SIGQUIT, SIGHUP}) std::signal(sig, SIG_IGN);

  // Frames go out on a private copy of stdout; anything a library prints goes to stderr.
  const int in = STDIN_FILENO;
  const int out = ::fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
  if (out < 0 || ::dup2(STDERR_FILENO, STDOUT_FILENO) < 0) {
    std::perror("parbench worker: setting up stdout");
    return 3;
  }

  try {
    std::vector<std::byte> hello;
    wire::Writer(hello).I32(static_cast<std::int32_t>(::getpid()));
    std::vector<std::byte> frame;
    wire::AppendFrame(frame, FrameType::kHello, hello);
    const std::span<const std::byte> pieces[] = {frame};
    wire::WriteFull(out, pieces);

    Job job;
    RunnerCache cache;
    SharedRegion region;
    wire::Header header;
    std::span<const std::byte> body;
    wire::FrameReader reader_in(in);
    while (reader_in.Next(header, body)) {
      switch (static_cast<FrameType>(header.type)) {
        case FrameType::kConfigure: {
          wire::Reader reader(body);
          job.workload = reader.Str();
          job.config = Config::Parse(reader.Str());
          reader.ExpectEnd();
          // At most one payload's worth of memory at a time: drop the last job's large frame
          // buffer, then its runner (Get() frees it before building the new one), before the
          // new runner builds its data or the new job's payload arrives.
          reader_in.Shrink();
          (void)cache.Get(job);  // a build error is reported by each of the job's tasks
          break;
        }
        case FrameType::kTasks:
          ServeTasks(out, job, cache, region, body);
          break;
        default:
          throw wire::ProtocolError("unexpected frame type " + std::to_string(header.type) +
                                    " from the parent");
      }
    }
    return 0;  // the parent closed our stdin: a clean shutdown
  } catch (const std::exception& e) {
    const std::string message = std::string("protocol error: ") + e.what();
    std::fprintf(stderr, "parbench worker %d: %s\n", static_cast<int>(::getpid()), message.c_str());
    SendError(out, message);
    return 3;
  }
}

}  // namespace parbench
