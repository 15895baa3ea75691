// api_server: the suite's loopback HTTP server as a program of its own, for clients outside
// bench (tools/anchors/api.py runs Python's answers against the same server).
//
//   build/api_server
//
// Prints its base URL ("http://127.0.0.1:PORT") on the first line of stdout, then serves until
// stdin ends. Each line on stdin is a command, answered with one line on stdout:
//   stats   {"requests":N,"connections":N,"max_in_flight":N,"delay_ms_median":X,
//            "answers":N,"cpu_ms":X}  (max_in_flight and the delays since the last stats;
//            cpu_ms: the server's own CPU time since start)
//   reset   {"ok":true}: starts the next max_in_flight and delays afresh
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <string>

#include "common/resources.h"
#include "harness/api_server.h"

namespace {

double Median(std::vector<double> values) {
  if (values.empty()) return 0;
  const auto mid = values.begin() + static_cast<std::ptrdiff_t>(values.size() / 2);
  std::nth_element(values.begin(), mid, values.end());
  return *mid;
}

}  // namespace

int main() {
  (void)parbench::resources::RaiseDescriptorLimit();  // a thousand clients in flight: a thousand
                                                      // sockets
  parbench::api::Server server;
  std::cout << "http://127.0.0.1:" << server.port() << std::endl;
  for (std::string line; std::getline(std::cin, line);) {
    if (line == "stats") {
      const std::vector<double> delays = server.TakeAddedMs();
      std::cout << "{\"requests\":" << server.requests()
                << ",\"connections\":" << server.connections()
                << ",\"max_in_flight\":" << server.max_in_flight()
                << ",\"delay_ms_median\":" << Median(delays) << ",\"answers\":" << delays.size()
                << ",\"cpu_ms\":" << static_cast<double>(server.cpu_ns()) / 1e6 << "}" << std::endl;
      server.ResetMaxInFlight();
    } else if (line == "reset") {
      (void)server.TakeAddedMs();
      server.ResetMaxInFlight();
      std::cout << "{\"ok\":true}" << std::endl;
    } else {
      std::cout << "{\"error\":\"unknown command; known: stats, reset\"}" << std::endl;
    }
  }
  return 0;  // stdin ended: the destructor closes every connection and joins the I/O thread
}
