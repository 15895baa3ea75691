// The machine context written into the JSON: what ran, where, built how, with which flags.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "bench/machine.h"
#include "bench/suite.h"

namespace parbench {

// Adds the machine (its CPUs and those this run may use), build and library versions, every
// flag (set or default) as parbench_<flag>, the keys of each family the run measures (its
// Family::context: a library's version, its module loaded only then) and the run's manifest
// (parbench_manifest) to Google Benchmark's context.
void AddMachineContext(const SuiteEnv& env, const CpuBudget& budget);

// The families with context keys that `filter` (--benchmark_filter, as Google Benchmark reads
// it) selects a benchmark of, among those registered in `env`.
[[nodiscard]] std::vector<const Family*> FamiliesToRun(const SuiteEnv& env, std::string filter);

// The revision bench was built from ("unknown" when the build could not tell: no .git, not a
// git archive, no PARBENCH_REVISION; see cmake/git_revision.cmake).
[[nodiscard]] std::string_view BuildRevision();

// This process's machine as JSON text: host name, CPU model, cores, usable CPUs, the CPUs of
// its affinity mask and its network interfaces (name, IPv4 address; up, not loopback): what
// every MPI rank tells rank 0 about its machine.
[[nodiscard]] std::string MachineJson(const CpuBudget& budget);

// Adds `key` = `value` to the context of a JSON file Google Benchmark has written (for what is
// known only after the run, like the noise probe at the end). Replaces the file atomically;
// throws std::runtime_error naming the file when it cannot.
void AddToWrittenContext(const std::string& path, const std::string& key, const std::string& value);

}  // namespace parbench
