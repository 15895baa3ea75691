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

// True for a byte written as %XX: the separators, the escape character itself, and anything
// that is not printable ASCII (a newline in a path must not split a frame's text when read).
bool NeedsEscape(unsigned char c) {
  return c == '%' || c == ';' || c == '=' || c < 0x20 || c > 0x7e;
}

// Appends `text` with every byte NeedsEscape() names written as %XX (upper-case hex).
void AppendEscaped(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (!NeedsEscape(c)) {
      out += ch;
      continue;
    }
    out += '%';
    out += kHex[c >> 4];
    out += kHex[c & 0xF];
  }
}

// The value of one hex digit, or -1.
int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// Undoes AppendEscaped; throws WorkloadError on a '%' not followed by two hex digits.
std::string Unescape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    const int high = i + 2 < text.size() ? HexValue(text[i + 1]) : -1;
    const int low = i + 2 < text.size() ? HexValue(text[i + 2]) : -1;
    if (high < 0 || low < 0) {
      throw WorkloadError("malformed escape in config text '" + std::string(text) + "'");
    }
    out += static_cast<char>(high * 16 + low);
    i += 2;
  }
  return out;
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
    config.values_[Unescape(pair.substr(0, eq))] = Unescape(pair.substr(eq + 1));
    text = semi == std::string_view::npos ? std::string_view() : text.substr(semi + 1);
  }
  return config;
}

Config& Config::Set(const std::string& key, const std::string& value) {
  if (key.empty()) throw WorkloadError("config key for value '" + value + "' is empty");
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
    AppendEscaped(out, key);
    out += '=';
    AppendEscaped(out, value);
  }
  return out;
}

}  // namespace parbench
