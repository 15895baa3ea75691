// Resource limits and usage that bench acts on or reports: the descriptor limit and peak
// memory. Plain functions over getrlimit/getrusage and /proc; safe from any thread.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

namespace parbench::resources {

// What RaiseDescriptorLimit() did.
struct DescriptorLimitChange {
  std::uint64_t before = 0;  // the soft limit found
  std::uint64_t after = 0;   // the soft limit now
  std::uint64_t hard = 0;    // the hard limit
  std::string error;         // why it could not be raised; "" when it was or needed not be
  // One line for the machine context: "1048576 (raised from 1024, the hard limit)",
  // "1048576 (the hard limit)", or "1024 (not raised to 4096: Operation not permitted)".
  [[nodiscard]] std::string Describe() const;
};

// Raises this process's soft RLIMIT_NOFILE to its hard limit (capped at fs.nr_open), as servers
// and load generators do: every api worker holds a connection, and the loopback server one per
// worker. Children inherit it.
[[nodiscard]] DescriptorLimitChange RaiseDescriptorLimit();

// The soft RLIMIT_NOFILE of this process.
[[nodiscard]] std::uint64_t DescriptorLimit();
// Descriptors this process has open (the entries of /proc/self/fd); -1 when it cannot tell
// (opening the directory itself takes one).
[[nodiscard]] int OpenDescriptors();
// "" unless this process is out of descriptors or within 2% (at least 8) of its limit; then
// one clause saying so: "this process has 1020 of its 1024 file descriptors open (ulimit -n):
// it is out of descriptors".
[[nodiscard]] std::string DescriptorShortage();

// The peak resident set of this process in bytes since it started or since ResetPeakRss()
// (getrusage RUSAGE_SELF).
[[nodiscard]] std::int64_t PeakRssSelf();
// The largest peak resident set among this process's children that were waited for (and
// their waited-for descendants), in bytes (getrusage RUSAGE_CHILDREN). Live children are not
// included: use PeakRss(pid) for those.
[[nodiscard]] std::int64_t PeakRssReapedChildren();
// The peak resident set of live process `pid` in bytes (VmHWM in /proc/PID/status); -1 when
// it cannot be read (gone, or another user's).
[[nodiscard]] std::int64_t PeakRss(pid_t pid);
// The current resident set of live process `pid` in bytes (VmRSS); -1 when unreadable.
[[nodiscard]] std::int64_t CurrentRss(pid_t pid);
// Resets `pid`'s peak to its current resident set (writes 5 to /proc/PID/clear_refs), so that
// a peak can be taken per benchmark; false when the kernel refuses.
bool ResetPeakRss(pid_t pid);

}  // namespace parbench::resources
