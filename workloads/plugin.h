// plugin: a user's native code, loaded from --plugin=PATH.so through the C ABI of
// include/parbench/plugin.h, run as the family `plugin` under every executor
// (`plugin/threads/workers:2/name:example`). Process workers load the same path.
// Question it answers: do threads or processes pay off for *my* native task?
#pragma once

#include <string>
#include <vector>

#include "parbench/plugin.h"
#include "workloads/workload.h"

namespace parbench::plugin {

// The plugin at `path`, loaded on first call and kept for the life of the process
// (thread-safe). Throws WorkloadError, one line naming the file, when it is not a parbench
// plugin (cannot be loaded, exports no parbench_plugin(), has another ABI version, or a bad
// table).
[[nodiscard]] const parbench_plugin_v1& Load(const std::string& path);

// The config of a plugin job: the library's path, its name, and what init() is told.
[[nodiscard]] Config MakeConfig(const std::string& path, const std::string& name,
                                std::int64_t tasks);

// The paths of a --plugin list ("a.so,b.so"); none for "".
[[nodiscard]] std::vector<std::string> SplitPaths(const std::string& list);

extern const Workload kWorkload;

}  // namespace parbench::plugin
