#include "workloads/workload.h"

#include <charconv>

#include "workloads/api.h"
#include "workloads/cpu.h"
#include "workloads/dot.h"
#include "workloads/io.h"
#include "workloads/transfer.h"

namespace parbench {
namespace {

std::int64_t ParseInt(const std::string& key, const std::string& text) {
  std::int64_t value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || ptr != end) {
    throw WorkloadError("config key '" + key + "' is not an integer: '" + text + "'");
  }
  return value;
}

// The table is built on first use; RegisterWorkload may extend it before any worker starts.
std::vector<Workload>& Table() {
  static std::vector<Workload> table = {
      api::kWorkload, cpu::kWorkload, dot::kWorkload, io::kWorkload, transfer::kOverhead,
      transfer::kEcho,
  };
  return table;
}

}  // namespace

Config Config::Parse(std::string_view text) {
  Config config;
  while (!text.empty()) {
    const std::size_t semi = text.find(';');
    const std::string_view pair = text.substr(0, semi);
    const std::size_t eq = pair.find('=');
    if (eq == std::string_view::npos || eq == 0) {
      throw WorkloadError("malformed config pair '" + std::string(pair) + "'");
    }
    config.values_[std::string(pair.substr(0, eq))] = std::string(pair.substr(eq + 1));
    text = semi == std::string_view::npos ? std::string_view() : text.substr(semi + 1);
  }
  return config;
}

Config& Config::Set(const std::string& key, const std::string& value) {
  if (key.empty() || key.find_first_of("=;") != std::string::npos ||
      value.find(';') != std::string::npos) {
    throw WorkloadError("config pair '" + key + "=" + value + "' holds a reserved character");
  }
  values_[key] = value;
  return *this;
}

Config& Config::Set(const std::string& key, std::int64_t value) {
  return Set(key, std::to_string(value));
}

std::string Config::GetString(const std::string& key) const {
  auto it = values_.find(key);
  if (it == values_.end()) throw WorkloadError("config key '" + key + "' is missing");
  return it->second;
}

std::int64_t Config::GetInt(const std::string& key) const { return ParseInt(key, GetString(key)); }

std::string Config::GetString(const std::string& key, const std::string& fallback) const {
  auto it = values_.find(key);
  return it == values_.end() ? fallback : it->second;
}

std::int64_t Config::GetInt(const std::string& key, std::int64_t fallback) const {
  auto it = values_.find(key);
  return it == values_.end() ? fallback : ParseInt(key, it->second);
}

std::string Config::Serialize() const {
  std::string out;
  for (const auto& [key, value] : values_) {
    if (!out.empty()) out += ';';
    out += key;
    out += '=';
    out += value;
  }
  return out;
}

const std::vector<Workload>& Workloads() { return Table(); }

const Workload& FindWorkload(std::string_view name) {
  for (const Workload& workload : Table()) {
    if (workload.name == name) return workload;
  }
  throw WorkloadError("unknown workload '" + std::string(name) + "'");
}

void RegisterWorkload(const Workload& workload) {
  for (const Workload& existing : Table()) {
    if (existing.name == workload.name) {
      throw WorkloadError("workload '" + std::string(workload.name) + "' is already registered");
    }
  }
  Table().push_back(workload);
}

std::unique_ptr<TaskRunner> MakeRunner(std::string_view workload, const Config& config) {
  return FindWorkload(workload).make_runner(config);
}

}  // namespace parbench
