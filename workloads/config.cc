// Config: a workload's parameters, serialized to cross a pipe. In its own library because the
// dlopen()ed modules need it too (see modules.h).
#include <charconv>

#include "workloads/workload.h"

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

}  // namespace parbench
