#include "common/resources.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>

namespace parbench::resources {
namespace {

// The kernel's ceiling on any process's descriptor limit (fs.nr_open); 0 when unreadable.
std::uint64_t NrOpen() {
  std::ifstream in("/proc/sys/fs/nr_open");
  std::uint64_t value = 0;
  in >> value;
  return value;
}

// A "VmHWM:" or "VmRSS:" line of /proc/PID/status, in bytes; -1 when unreadable.
std::int64_t StatusBytes(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field, 0) == 0) return std::stoll(line.substr(field.size())) * 1024;  // kB
  }
  return -1;
}

}  // namespace

std::string DescriptorLimitChange::Describe() const {
  if (!error.empty()) {
    return std::to_string(after) + " (not raised to " + std::to_string(hard) + ": " + error + ")";
  }
  if (after != before) {
    return std::to_string(after) + " (raised from " + std::to_string(before) + ", the hard limit)";
  }
  return std::to_string(after) + " (the hard limit)";
}

DescriptorLimitChange RaiseDescriptorLimit() {
  DescriptorLimitChange change;
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) {
    change.error = std::string("getrlimit: ") + std::strerror(errno);
    return change;
  }
  change.before = change.after = limit.rlim_cur;
  change.hard = limit.rlim_max;
  rlim_t target = limit.rlim_max;
  // An unlimited hard limit cannot be a soft one: the kernel caps descriptors at fs.nr_open.
  if (target == RLIM_INFINITY) {
    const std::uint64_t nr_open = NrOpen();
    target = nr_open > 0 ? nr_open : limit.rlim_cur;
    change.hard = target;
  }
  if (limit.rlim_cur == RLIM_INFINITY || limit.rlim_cur >= target) return change;
  limit.rlim_cur = target;
  if (::setrlimit(RLIMIT_NOFILE, &limit) != 0) {
    change.error = std::strerror(errno);
    return change;
  }
  change.after = target;
  return change;
}

std::uint64_t DescriptorLimit() {
  rlimit limit{};
  return ::getrlimit(RLIMIT_NOFILE, &limit) == 0 ? limit.rlim_cur : 0;
}

int OpenDescriptors() {
  DIR* dir = ::opendir("/proc/self/fd");
  if (dir == nullptr) return -1;
  int count = 0;
  while (dirent* e = ::readdir(dir)) {
    if (e->d_name[0] != '.') ++count;
  }
  ::closedir(dir);
  return count - 1;  // the directory's own descriptor
}

std::string DescriptorShortage() {
  const std::uint64_t limit = DescriptorLimit();
  const int open = OpenDescriptors();
  const int error = errno;
  const std::string tail = " file descriptors open (ulimit -n): it is out of descriptors";
  if (open < 0) {
    if (error != EMFILE) return "";
    return "this process has all of its " + std::to_string(limit) + tail;
  }
  const std::uint64_t margin = std::max<std::uint64_t>(8, limit / 50);
  if (static_cast<std::uint64_t>(open) + margin < limit) return "";
  return "this process has " + std::to_string(open) + " of its " + std::to_string(limit) + tail;
}

std::int64_t PeakRssSelf() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  return std::int64_t{usage.ru_maxrss} * 1024;  // kB on Linux
}

std::int64_t PeakRssReapedChildren() {
  rusage usage{};
  ::getrusage(RUSAGE_CHILDREN, &usage);
  return std::int64_t{usage.ru_maxrss} * 1024;
}

std::int64_t PeakRss(pid_t pid) { return StatusBytes(pid, "VmHWM:"); }

std::int64_t CurrentRss(pid_t pid) { return StatusBytes(pid, "VmRSS:"); }

bool ResetPeakRss(pid_t pid) {
  const std::string path = "/proc/" + std::to_string(pid) + "/clear_refs";
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const bool ok = ::write(fd, "5", 1) == 1;  // 5: reset the peak resident set to the current
  ::close(fd);
  return ok;
}

}  // namespace parbench::resources
