// RaiseFileLimit: lets this process open as many descriptors as its hard limit allows.
#pragma once

#include <sys/resource.h>

namespace parbench {

// Raises the soft RLIMIT_NOFILE to the hard limit and returns the soft limit in force (-1 when
// it cannot be read). A thousand requests in flight hold a thousand client sockets, and the
// loopback server in the same process a thousand more: the common soft default of 1024 is
// too few. Process workers close every inherited descriptor, so they are not affected; no
// code here uses select(), whose FD_SETSIZE a raised limit could exceed.
inline long RaiseFileLimit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return -1;
  if (limit.rlim_cur < limit.rlim_max) {
    const rlim_t before = limit.rlim_cur;
    limit.rlim_cur = limit.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &limit) != 0) limit.rlim_cur = before;
  }
  return limit.rlim_cur == RLIM_INFINITY ? -1 : static_cast<long>(limit.rlim_cur);
}

}  // namespace parbench
