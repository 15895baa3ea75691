// Suite flags as data: what a flag is (FlagSpec) and the parsed values (Options).
//
// Every flag of bench is a FlagSpec: the suite's own (bench/flags.cc) and each family's (its
// row in the family table). Parsing, --help, the JSON context and the README's flag list are
// all made from these specs, so a flag cannot be parsed but missing from the context.
#pragma once

#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace parbench {

// A bad flag value. what() is the one line the user sees.
class FlagError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// What kind of value a flag holds.
enum class FlagType {
  kInt,      // one integer in [lo, hi]; "1e6" is accepted when it is an exact integer
  kIntList,  // comma-separated integers in [lo, hi], sorted, duplicates dropped
  kString,   // text, checked by `check` when set
};

// One flag: its name (without "--"), type, limits, default and help.
struct FlagSpec {
  std::string_view name{};
  FlagType type = FlagType::kInt;
  std::int64_t lo = 0;  // kInt, kIntList: the smallest allowed value
  std::int64_t hi = 0;  // kInt, kIntList: the largest allowed value
  // The default as a user would type it; parsed like user input (so it is validated too).
  std::string_view default_value{};
  std::string_view help{};  // one line: what it does
  // kString: what is allowed, for --help and errors ("an existing writable directory").
  std::string_view allowed{};
  // What the default means, for --help, when it is not a plain value ("$TMPDIR or /tmp").
  std::string_view default_help{};
  // kString: throws FlagError (one line naming the flag) when `value` is not allowed.
  void (*check)(std::string_view name, const std::string& value) = nullptr;
  // When set, the default depends on the machine: it returns the default text for `cpus`
  // usable CPUs (the worker counts, $TMPDIR).
  std::string (*machine_default)(int cpus) = nullptr;
  // kString: the flag may be given more than once; the values are joined with ',' (so a value
  // must not hold one) and `check` sees the joined list.
  bool repeatable = false;
};

// The parsed value of every flag, looked up by name. Built by ParseFlags (bench/flags.h).
class Options {
 public:
  using Value = std::variant<std::int64_t, std::vector<std::int64_t>, std::string>;

  // The value of an integer, list or string flag; throws std::logic_error for an unknown
  // name or another type (a bug in a family row, not a user error).
  [[nodiscard]] std::int64_t Int(std::string_view name) const;
  [[nodiscard]] const std::vector<std::int64_t>& IntList(std::string_view name) const;
  [[nodiscard]] const std::string& String(std::string_view name) const;
  // The text the value was parsed from (or would print as), for the context.
  [[nodiscard]] const std::string& Text(std::string_view name) const;
  // True when the user gave the flag (false: its default).
  [[nodiscard]] bool WasSet(std::string_view name) const;

  // Sets a value (the parser and tests use this).
  void Set(std::string_view name, Value value, std::string text, bool was_set = true);

  // Every flag name, in sorted order.
  [[nodiscard]] std::vector<std::string> Names() const;

 private:
  struct Entry {
    Value value;
    std::string text;
    bool was_set = false;
  };
  [[nodiscard]] const Entry& Find(std::string_view name) const;
  std::map<std::string, Entry, std::less<>> values_{};
};

// Parses one flag value as `spec` says; throws FlagError naming the flag and what it allows.
[[nodiscard]] Options::Value ParseFlagValue(const FlagSpec& spec, std::string_view text);

// "an integer from 1 to 256" or "a comma-separated list of integers from 0 to 1073741824" or
// spec.allowed: what the flag accepts, as --help and errors say it.
[[nodiscard]] std::string DescribeAllowed(const FlagSpec& spec);

}  // namespace parbench
