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
#include <vector>

#include "executors/process/frame.h"
#include "executors/process/spin.h"
#include "executors/remote/task_server.h"

namespace parbench {
namespace {

using wire::FrameType;

// The shared-memory region (descriptor kShmFd), mapped on first use and again when the parent
// has grown it.
class SharedRegion {
 public:
  SharedRegion() = default;
  SharedRegion(const SharedRegion&) = delete;
  SharedRegion& operator=(const SharedRegion&) = delete;
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

// The worker's end of the pipes: frames in on stdin, out on a private copy of stdout; payloads
// and single replies through the shared region when the parent says so.
class PipeWorkerLink final : public remote::WorkerLink {
 public:
  PipeWorkerLink(int in, int out) : in_(in), out_(out), reader_(in) {}

  // Says hello: the parent waits for it before it sends anything.
  void Hello() {
    std::vector<std::byte> hello;
    wire::Writer(hello).I32(static_cast<std::int32_t>(::getpid()));
    std::vector<std::byte> frame;
    wire::AppendFrame(frame, FrameType::kHello, hello);
    const std::span<const std::byte> pieces[] = {frame};
    wire::WriteFull(out_, pieces);
  }

  bool Next(remote::Incoming& in) override;
  void Add(const wire::ResultRecord& record, std::span<const std::byte> reply) override;
  void Send() override;
  void Fail(const std::string& what) override;

 private:
  void DecodeTasks(std::span<const std::byte> body, remote::Incoming& in);

  int in_;
  int out_;
  wire::FrameReader reader_;
  bool spin_ = false;  // the last task frame allowed a spin for the next (wire::kSpinAfter)
  SharedRegion region_;
  // The task frame being answered: its size and where its shared payload was.
  std::uint32_t count_ = 0;
  std::uint64_t payload_size_ = 0;
  std::span<std::byte> shared_;  // the mapped region, when the payload came through it
  // Each record's fixed fields in its own buffer and its reply as a separate piece, so a large
  // reply goes out with writev instead of being copied into the frame.
  std::deque<std::vector<std::byte>> heads_;
  std::vector<std::span<const std::byte>> pieces_;
  std::uint64_t body_size_ = 0;
};

bool PipeWorkerLink::Next(remote::Incoming& in) {
  if (spin_ && !reader_.buffered()) {
    // Wait for the next frame spinning for a moment before read() blocks (spin.h). End of file
    // ends the spin too: the blocking read below then sees it.
    pollfd stdin_fd{in_, POLLIN, 0};
    (void)process_spin::SpinPoll({&stdin_fd, 1}, process_spin::kSpin);
  }
  spin_ = false;
  wire::Header header;
  std::span<const std::byte> body;
  if (!reader_.Next(header, body)) return false;  // the parent closed our stdin
  switch (static_cast<FrameType>(header.type)) {
    case FrameType::kConfigure: {
      remote::ReadConfigure(body, in);
      // At most one payload's worth of memory at a time: drop the last job's large frame
      // buffer before the new runner builds its data or the new job's payload arrives (the
      // task server then frees the old runner before building the new one).
      reader_.Shrink();
      return true;
    }
    case FrameType::kTasks:
      DecodeTasks(body, in);
      return true;
    default:
      throw wire::ProtocolError("unexpected frame type " + std::to_string(header.type) +
                                " from the parent");
  }
}

void PipeWorkerLink::DecodeTasks(std::span<const std::byte> body, remote::Incoming& in) {
  wire::Reader reader(body);
  remote::ReadTaskRange(reader, in);
  const std::uint32_t flags = reader.U32();
  spin_ = (flags & wire::kSpinAfter) != 0;
  payload_size_ = reader.U64();
  shared_ = {};
  if ((flags & wire::kPayloadInShm) != 0) {
    shared_ = region_.Map(payload_size_);
    in.payload = shared_.first(static_cast<std::size_t>(payload_size_));
  } else {
    in.payload = reader.Bytes(payload_size_);
  }
  reader.ExpectEnd();
  count_ = in.range.count;
  heads_.clear();
  pieces_.clear();
  heads_.emplace_back();
  pieces_.emplace_back();  // header and count, filled in by Send()
  body_size_ = sizeof(std::uint32_t);
}

void PipeWorkerLink::Add(const wire::ResultRecord& record, std::span<const std::byte> reply) {
  std::vector<std::byte>& bytes = heads_.emplace_back();
  wire::Writer w(bytes);
  const std::uint64_t reply_at = wire::ReplyOffset(payload_size_);
  if (!shared_.empty() && count_ == 1 && !reply.empty() &&
      reply.size() <= shared_.size() - std::min<std::size_t>(reply_at, shared_.size())) {
    // The reply crosses back through the region: one copy, no pipe.
    std::memmove(shared_.data() + reply_at, reply.data(), reply.size());
    wire::ResultRecord in_region = record;
    in_region.flags = wire::kReplyInShm;
    wire::EncodeResultHead(w, in_region, in_region.reply_size);
    reply = {};
  } else {
    wire::EncodeResultHead(w, record, record.reply_size);
  }
  pieces_.emplace_back(bytes);
  pieces_.push_back(reply);
  body_size_ += bytes.size() + reply.size();
}

void PipeWorkerLink::Send() {
  const wire::Header header{.type = static_cast<std::uint16_t>(FrameType::kResults),
                            .size = body_size_};
  std::vector<std::byte>& top = heads_.front();
  wire::Writer w(top);
  w.Raw(&header, sizeof header);
  w.U32(count_);
  pieces_[0] = top;
  wire::WriteFull(out_, pieces_);
}

void PipeWorkerLink::Fail(const std::string& what) {
  const std::string message = "protocol error: " + what;
  std::fprintf(stderr, "parbench worker %d: %s\n", static_cast<int>(::getpid()), message.c_str());
  std::vector<std::byte> body;
  wire::Writer(body).Str(message.substr(0, wire::kMaxErrorText));
  std::vector<std::byte> frame;
  wire::AppendFrame(frame, FrameType::kError, body);
  try {
    const std::span<const std::byte> pieces[] = {frame};
    wire::WriteFull(out_, pieces);
  } catch (const std::exception&) {
    // The parent is gone; stderr still carries the message.
  }
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
  const int out = ::fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
  if (out < 0 || ::dup2(STDERR_FILENO, STDOUT_FILENO) < 0) {
    std::perror("parbench worker: setting up stdout");
    return 3;
  }
  PipeWorkerLink link(STDIN_FILENO, out);
  try {
    link.Hello();
  } catch (const std::exception& e) {
    link.Fail(e.what());
    return 3;
  }
  return remote::Serve(link);  // 0 once the parent closes our stdin: a clean shutdown
}

}  // namespace parbench
