#include "workloads/family.h"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <stdexcept>

namespace parbench {
namespace {

// Never destroyed, like the workload table: registration happens in static initializers.
std::list<Family>& FamilyTable() {
  static auto* table = new std::list<Family>;
  return *table;
}
std::list<Reference>& ReferenceTable() {
  static auto* table = new std::list<Reference>;
  return *table;
}

}  // namespace

const std::string& Point::Get(std::string_view axis) const {
  for (const auto& [name, value] : values_) {
    if (name == axis) return value;
  }
  throw std::logic_error("no axis '" + std::string(axis) + "' in this point");
}

std::int64_t Point::Int(std::string_view axis) const {
  const std::string& text = Get(axis);
  std::int64_t value = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size()) {
    throw std::logic_error("axis '" + std::string(axis) + "' is not an integer: " + text);
  }
  return value;
}

std::string Point::Suffix() const {
  std::string out;
  for (const auto& [name, value] : values_) {
    if (!value.empty()) out += "/" + name + ":" + value;
  }
  return out;
}

std::string_view Family::display_name() const {
  return name.empty() && workload != nullptr ? workload->name : name;
}

std::string_view Family::display_summary() const {
  return summary.empty() && workload != nullptr ? workload->summary : summary;
}

bool RegisterFamily(Family family) {
  std::list<Family>& table = FamilyTable();
  for (const Family& existing : table) {
    if (existing.display_name() == family.display_name()) {
      throw std::logic_error("family '" + std::string(family.display_name()) +
                             "' is registered twice");
    }
    for (const FlagSpec& mine : family.flags) {
      for (const FlagSpec& theirs : existing.flags) {
        if (mine.name == theirs.name) {
          throw std::logic_error("flag --" + std::string(mine.name) + " is owned by both " +
                                 std::string(existing.display_name()) + " and " +
                                 std::string(family.display_name()));
        }
      }
    }
  }
  if (family.workload != nullptr) {
    const auto& known = Workloads();
    const bool registered = std::any_of(known.begin(), known.end(), [&](const Workload& w) {
      return w.name == family.workload->name;
    });
    if (!registered) RegisterWorkload(*family.workload);
  }
  const auto at = std::upper_bound(
      table.begin(), table.end(), family.display_name(),
      [](std::string_view name, const Family& f) { return name < f.display_name(); });
  table.insert(at, std::move(family));
  return true;
}

bool RegisterReference(Reference reference) {
  std::list<Reference>& table = ReferenceTable();
  const auto key = [](const Reference& r) { return std::pair(r.family, r.name); };
  for (const Reference& existing : table) {
    if (key(existing) == key(reference)) {
      throw std::logic_error("reference '" + std::string(reference.family) + "/" +
                             std::string(reference.name) + "' is registered twice");
    }
  }
  const auto at =
      std::upper_bound(table.begin(), table.end(), reference,
                       [&](const Reference& a, const Reference& b) { return key(a) < key(b); });
  table.insert(at, std::move(reference));
  return true;
}

const std::list<Family>& Families() { return FamilyTable(); }

const std::list<Reference>& References() { return ReferenceTable(); }

bool Family::LeavesOut(const Point& point) const {
  return std::any_of(left_out.begin(), left_out.end(), [&point](const auto& entry) {
    return std::all_of(entry.begin(), entry.end(),
                       [&point](const auto& pair) { return point.Get(pair.first) == pair.second; });
  });
}

Axis DispatchAxis() {
  return {.name = "dispatch",
          .values = {"", "per_task"},
          .scope = Scope::kDispatch,
          .plain = "adaptive"};
}

std::vector<Point> Cartesian(const std::vector<Axis>& axes) {
  std::vector<std::vector<std::pair<std::string, std::string>>> points = {{}};
  for (const Axis& axis : axes) {
    std::vector<std::vector<std::pair<std::string, std::string>>> next;
    for (const auto& point : points) {
      for (const std::string& value : axis.values) {
        next.push_back(point);
        next.back().emplace_back(axis.name, value);
      }
    }
    points = std::move(next);
  }
  std::vector<Point> out;
  out.reserve(points.size());
  for (auto& values : points) out.emplace_back(std::move(values));
  return out;
}

std::function<std::string(std::uint32_t, const TaskOutput&)> ExpectValue(std::uint64_t expected,
                                                                         std::string what) {
  return [expected, what = std::move(what)](std::uint32_t, const TaskOutput& out) -> std::string {
    if (out.value == expected) return "";
    return "returned " + std::to_string(out.value) + what + ", expected " +
           std::to_string(expected);
  };
}

std::string FormatBytes(std::int64_t bytes) {
  for (auto [unit, size] : {std::pair{"GiB", std::int64_t{1} << 30},
                            {"MiB", std::int64_t{1} << 20},
                            {"KiB", std::int64_t{1} << 10}}) {
    if (bytes >= size && bytes % size == 0) return std::to_string(bytes / size) + unit;
  }
  return std::to_string(bytes) + "B";
}

std::int64_t ParseBytes(std::string_view text) {
  for (auto [unit, size] : {std::pair{"GiB", std::int64_t{1} << 30},
                            {"MiB", std::int64_t{1} << 20},
                            {"KiB", std::int64_t{1} << 10},
                            {"B", std::int64_t{1}}}) {
    const std::string_view suffix(unit);
    if (text.size() <= suffix.size() || !text.ends_with(suffix)) continue;
    const std::string_view digits = text.substr(0, text.size() - suffix.size());
    std::int64_t value = 0;
    const auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
    // Only what FormatBytes writes: no sign, and nothing that overflows.
    if (ec == std::errc() && ptr == digits.data() + digits.size() && value >= 0 &&
        digits.front() != '-' && value <= INT64_MAX / size) {
      return value * size;
    }
  }
  throw std::logic_error("not a byte count: '" + std::string(text) + "'");
}

}  // namespace parbench
