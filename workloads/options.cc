#include "workloads/options.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <optional>

namespace parbench {
namespace {

// Parses a whole integer; "1e6" style is accepted when it is an exact integer.
std::optional<std::int64_t> ParseInteger(std::string_view text) {
  if (text.empty()) return std::nullopt;
  std::int64_t value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec == std::errc() && ptr == end) return value;
  double d = 0;
  auto [dptr, dec] = std::from_chars(text.data(), end, d);
  // 9e18 keeps the conversion below inside int64's range.
  if (dec != std::errc() || dptr != end || !std::isfinite(d) || d != std::floor(d) ||
      std::fabs(d) > 9e18) {
    return std::nullopt;
  }
  return static_cast<std::int64_t>(d);
}

std::string Flag(const FlagSpec& spec) { return "--" + std::string(spec.name); }

std::int64_t ParseBounded(const FlagSpec& spec, std::string_view text) {
  const auto value = ParseInteger(text);
  if (!value || *value < spec.lo || *value > spec.hi) {
    throw FlagError(Flag(spec) + "='" + std::string(text) + "' is invalid: allowed is " +
                    DescribeAllowed(spec));
  }
  return *value;
}

std::vector<std::int64_t> ParseIntList(const FlagSpec& spec, std::string_view text) {
  if (text.empty()) throw FlagError(Flag(spec) + " is empty: allowed is " + DescribeAllowed(spec));
  std::vector<std::int64_t> out;
  for (;;) {
    const std::size_t comma = text.find(',');
    const std::string_view item = text.substr(0, comma);
    const auto value = ParseInteger(item);
    if (!value || *value < spec.lo || *value > spec.hi) {
      throw FlagError(Flag(spec) + ": '" + std::string(item) + "' is invalid: allowed is " +
                      DescribeAllowed(spec));
    }
    out.push_back(*value);
    if (comma == std::string_view::npos) break;
    text = text.substr(comma + 1);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace

std::string DescribeAllowed(const FlagSpec& spec) {
  const std::string range =
      "integers from " + std::to_string(spec.lo) + " to " + std::to_string(spec.hi);
  switch (spec.type) {
    case FlagType::kInt:
      return "an integer from " + std::to_string(spec.lo) + " to " + std::to_string(spec.hi);
    case FlagType::kIntList:
      return "a comma-separated list of " + range;
    case FlagType::kString:
      return std::string(spec.allowed);
  }
  return "";
}

Options::Value ParseFlagValue(const FlagSpec& spec, std::string_view text) {
  switch (spec.type) {
    case FlagType::kInt:
      return ParseBounded(spec, text);
    case FlagType::kIntList:
      return ParseIntList(spec, text);
    case FlagType::kString: {
      std::string value(text);
      if (spec.check != nullptr) spec.check(spec.name, value);
      return value;
    }
  }
  throw FlagError(Flag(spec) + ": unknown flag type");
}

const Options::Entry& Options::Find(std::string_view name) const {
  const auto it = values_.find(name);
  if (it == values_.end()) throw std::logic_error("no flag --" + std::string(name));
  return it->second;
}

std::int64_t Options::Int(std::string_view name) const {
  const auto* v = std::get_if<std::int64_t>(&Find(name).value);
  if (v == nullptr) throw std::logic_error("--" + std::string(name) + " is not an integer flag");
  return *v;
}

const std::vector<std::int64_t>& Options::IntList(std::string_view name) const {
  const auto* v = std::get_if<std::vector<std::int64_t>>(&Find(name).value);
  if (v == nullptr) throw std::logic_error("--" + std::string(name) + " is not a list flag");
  return *v;
}

const std::string& Options::String(std::string_view name) const {
  const auto* v = std::get_if<std::string>(&Find(name).value);
  if (v == nullptr) throw std::logic_error("--" + std::string(name) + " is not a string flag");
  return *v;
}

const std::string& Options::Text(std::string_view name) const { return Find(name).text; }

bool Options::WasSet(std::string_view name) const { return Find(name).was_set; }

void Options::Set(std::string_view name, Value value, std::string text, bool was_set) {
  values_.insert_or_assign(std::string(name), Entry{std::move(value), std::move(text), was_set});
}

std::vector<std::string> Options::Names() const {
  std::vector<std::string> out;
  for (const auto& [name, entry] : values_) out.push_back(name);
  return out;
}

}  // namespace parbench
