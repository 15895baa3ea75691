// Measures the thread pool's linger: CPU its workers use after a batch, and when they park.
#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "executors/thread_pool.h"
using namespace parbench;
static std::set<int> Tids() {
  std::set<int> out;
  DIR* d = opendir("/proc/self/task");
  while (dirent* e = readdir(d))
    if (e->d_name[0] != '.') out.insert(atoi(e->d_name));
  closedir(d);
  return out;
}
static long long Cpu(int tid) {
  FILE* f = fopen(("/proc/self/task/" + std::to_string(tid) + "/schedstat").c_str(), "r");
  long long ns = 0;
  if (f) {
    if (fscanf(f, "%lld", &ns) != 1) ns = 0;
    fclose(f);
  }
  return ns;
}
static char State(int tid) {
  FILE* f = fopen(("/proc/self/task/" + std::to_string(tid) + "/stat").c_str(), "r");
  char buf[512] = {0};
  if (f) {
    if (!fgets(buf, sizeof buf, f)) buf[0] = 0;
    fclose(f);
  }
  char* p = strrchr(buf, ')');
  return p ? p[2] : '?';
}
int main() {
  auto before = Tids();
  ExecutorOptions o;
  o.workers = 8;
  ThreadPool pool(o);
  std::vector<int> w;
  for (int t : Tids())
    if (!before.count(t)) w.push_back(t);
  Job job{"overhead", Config()};
  std::vector<double> park_us, cpu_us, later_us;
  for (int round = 0; round < 50; ++round) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    long long c0 = 0;
    for (int t : w) c0 += Cpu(t);
    pool.Run({.job = &job, .tasks = 64, .payload = {}, .handoff = true});
    auto t0 = NowNs();
    long long c1 = 0;
    for (int t : w) c1 += Cpu(t);
    // poll until every worker sleeps
    for (;;) {
      bool all = true;
      for (int t : w)
        if (State(t) == 'R') {
          all = false;
          break;
        }
      if (all) break;
    }
    park_us.push_back((NowNs() - t0) / 1e3);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    long long c2 = 0;
    for (int t : w) c2 += Cpu(t);
    cpu_us.push_back((c2 - c1) / 1e3);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    long long c3 = 0;
    for (int t : w) c3 += Cpu(t);
    later_us.push_back((c3 - c2) / 1e3);
    (void)c0;
  }
  auto med = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  auto mx = [](std::vector<double> v) { return *std::max_element(v.begin(), v.end()); };
  std::printf("8 workers, 50 batches of 64 empty tasks (handoff), 20 ms apart\n");
  std::printf(
      "time from Run() returning until no worker is runnable: median %.0f us, max %.0f us\n",
      med(park_us), mx(park_us));
  std::printf(
      "workers' CPU in the 5 ms after Run() returned (all 8 together): median %.0f us, max %.0f "
      "us\n",
      med(cpu_us), mx(cpu_us));
  std::printf("workers' CPU in the next 100 ms: median %.0f us, max %.0f us\n", med(later_us),
              mx(later_us));
}
