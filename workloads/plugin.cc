#include "workloads/plugin.h"

#include <dlfcn.h>

#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <set>

#include "workloads/family.h"

namespace parbench::plugin {
namespace {

constexpr std::size_t kErrorSize = 512;  // one line of a plugin's error, NUL included

// The loaded plugins by path. Never destroyed and never dlclose()d: a worker thread abandoned
// past the task timeout may still be inside one.
struct Loaded {
  std::mutex mu;
  std::map<std::string, const parbench_plugin_v1*> tables;
};
Loaded& Plugins() {
  static auto* loaded = new Loaded;
  return *loaded;
}

bool ValidName(const char* name) {
  if (name == nullptr) return false;
  const std::string_view text(name);
  if (text.empty() || text.size() > 64) return false;
  for (const char c : text) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

const parbench_plugin_v1& LoadUncached(const std::string& path) {
  // RTLD_LOCAL: two plugins may define the same symbols.
  void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* why = ::dlerror();
    throw WorkloadError(path + " is not a parbench plugin: cannot load it: " +
                        (why != nullptr ? why : "unknown error"));
  }
  auto* entry = reinterpret_cast<parbench_plugin_entry_fn>(::dlsym(handle, PARBENCH_PLUGIN_ENTRY));
  if (entry == nullptr) {
    throw WorkloadError(path + " is not a parbench plugin: it exports no " + PARBENCH_PLUGIN_ENTRY +
                        "() (see include/parbench/plugin.h)");
  }
  const parbench_plugin_v1* table = entry();
  if (table == nullptr)
    throw WorkloadError(path + ": " + PARBENCH_PLUGIN_ENTRY + "() returned NULL");
  if (table->abi_version != PARBENCH_PLUGIN_ABI_VERSION) {
    throw WorkloadError(path + " has plugin ABI version " + std::to_string(table->abi_version) +
                        ", this bench needs version " +
                        std::to_string(PARBENCH_PLUGIN_ABI_VERSION) +
                        " (rebuild it against this parbench/plugin.h)");
  }
  if (!ValidName(table->name)) {
    throw WorkloadError(path + ": the plugin's name must be 1 to 64 letters, digits, '_' or '-'");
  }
  if (table->init == nullptr || table->run == nullptr) {
    throw WorkloadError(path + ": the plugin has no init() or no run()");
  }
  return *table;
}

// One worker's instance: init() on construction, fini() on destruction.
class State {
 public:
  State(const parbench_plugin_v1& table, const Config& config) : table_(table) {
    char error[kErrorSize] = {};
    state_ = table_.init(config.Serialize().c_str(), error, sizeof error);
    if (state_ == nullptr) {
      throw WorkloadError(std::string(table_.name) + ": init failed: " + Message(error));
    }
  }
  ~State() {
    if (table_.fini != nullptr) table_.fini(state_);
  }
  State(const State&) = delete;
  State& operator=(const State&) = delete;

  [[nodiscard]] void* get() const { return state_; }
  [[nodiscard]] const parbench_plugin_v1& table() const { return table_; }

  // A plugin's error text, at most kErrorSize - 1 bytes even without its NUL.
  static std::string Message(char (&error)[kErrorSize]) {
    error[kErrorSize - 1] = '\0';
    return error[0] != '\0' ? std::string(error) : std::string("no message");
  }

 private:
  const parbench_plugin_v1& table_;
  void* state_ = nullptr;
};

class Runner final : public TaskRunner {
 public:
  explicit Runner(const Config& config) : state_(Load(config.GetString("path")), config) {}
  TaskOutput Run(std::uint32_t index, std::span<const std::byte> payload) override {
    // Only the first byte set: clearing all 512 per task would cost more than an empty task.
    char error[kErrorSize];
    error[0] = '\0';
    std::uint64_t proof = 0;
    const parbench_plugin_v1& table = state_.table();
    if (table.run(state_.get(), index, payload.data(), payload.size(), &proof, error,
                  sizeof error) != 0) {
      throw WorkloadError(std::string(table.name) + ": " + State::Message(error));
    }
    return {.value = proof, .reply = {}};
  }

 private:
  State state_;
};

}  // namespace

const parbench_plugin_v1& Load(const std::string& path) {
  Loaded& loaded = Plugins();
  std::lock_guard lock(loaded.mu);
  auto it = loaded.tables.find(path);
  if (it == loaded.tables.end()) it = loaded.tables.emplace(path, &LoadUncached(path)).first;
  return *it->second;
}

Config MakeConfig(const std::string& path, const std::string& name, std::int64_t tasks) {
  return Config().Set("path", path).Set("name", name).Set("tasks", tasks).Set("payload_bytes", 0);
}

std::vector<std::string> SplitPaths(const std::string& list) {
  std::vector<std::string> out;
  for (std::size_t at = 0; at < list.size();) {
    const std::size_t comma = std::min(list.find(',', at), list.size());
    if (comma > at) out.push_back(list.substr(at, comma - at));
    at = comma + 1;
  }
  return out;
}

constexpr Workload kWorkload = {
    .name = "plugin",
    .summary = "your own native task from --plugin=PATH.so (the C ABI of parbench/plugin.h)",
    .make_runner = [](const Config& config) -> std::unique_ptr<TaskRunner> {
      return std::make_unique<Runner>(config);
    },
};

namespace {

// name -> path of every --plugin; throws WorkloadError for a bad one or a name given twice.
std::map<std::string, std::string> ByName(const Options& options) {
  std::map<std::string, std::string> out;
  for (const std::string& given : SplitPaths(options.String("plugin"))) {
    // Absolute: dlopen() would look a bare file name up in the library path, not here.
    const std::string path = std::filesystem::absolute(given).lexically_normal().string();
    const std::string name = Load(path).name;
    if (const auto [it, fresh] = out.emplace(name, path); !fresh) {
      throw WorkloadError(path + ": a plugin named '" + name + "' is already loaded from " +
                          it->second);
    }
  }
  return out;
}

void CheckPaths(std::string_view name, const std::string& value) {
  if (value.empty() || value.front() == ',' || value.back() == ',' ||
      value.find(",,") != std::string::npos) {
    throw FlagError("--" + std::string(name) + "='" + value +
                    "' is invalid: allowed is the path of a plugin library (no ',' in it)");
  }
}

// The parent checks each task's proof with the plugin's check() on an instance of its own,
// when the plugin has one; else every task must have succeeded.
Prepared PreparePlugin(const Point& point, Fixtures& f) {
  const std::string& name = point.Get("name");
  const std::string path = ByName(f.options()).at(name);
  const auto tasks = static_cast<std::uint32_t>(f.options().Int("tasks"));
  Prepared p{.job = {"plugin", MakeConfig(path, name, tasks)}, .payload = {}, .tasks = tasks};
  const parbench_plugin_v1& table = Load(path);
  if (table.check == nullptr) {
    p.check = [](std::uint32_t, const TaskOutput&) { return std::string(); };
    return p;
  }
  auto parent = std::make_shared<State>(table, p.job.config);
  p.check = [parent](std::uint32_t task, const TaskOutput& out) -> std::string {
    char error[kErrorSize] = {};
    if (parent->table().check(parent->get(), task, nullptr, 0, out.value, error, sizeof error) ==
        0) {
      return "";
    }
    return "returned " + std::to_string(out.value) + ": " + State::Message(error);
  };
  p.hold = parent;
  return p;
}

const bool kRegistered = RegisterFamily({
    .workload = &kWorkload,
    .flags = {{.name = "plugin",
               .type = FlagType::kString,
               .help = "plugin: load a native plugin and run it as the family plugin (repeatable)",
               .allowed = "the path of a shared library built against parbench/plugin.h",
               .default_help = "none: no plugin family",
               .check = CheckPaths,
               .repeatable = true}},
    // One point per plugin, named by the plugin itself; none without --plugin.
    .axes =
        [](const Options& o, int) {
          Axis axis{"name", {}};
          for (const auto& [name, path] : ByName(o)) axis.values.push_back(name);
          return std::vector<Axis>{axis};
        },
    .prepare = PreparePlugin,
    // As overhead reports it: an empty plugin task against bench's own empty task.
    .counters =
        [](const Point&, const Prepared&, const Measurement& m, Fixtures&) {
          return Counters{
              {"ns_per_task", static_cast<double>(m.wall_ns) / static_cast<double>(m.tasks)}};
        },
    .counter_specs = {{"ns_per_task", "ns", false}},
    .validate =
        [](const Options& o) {
          try {
            (void)ByName(o);
          } catch (const WorkloadError& e) {
            throw FlagError(std::string("--plugin: ") + e.what());
          }
        },
});

}  // namespace
}  // namespace parbench::plugin
