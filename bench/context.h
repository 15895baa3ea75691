// The machine context written into the JSON: what ran, where, built how, with which flags.
#pragma once

#include "bench/suite.h"

namespace parbench {

// Adds the machine, build and library versions, every flag (set or default) as
// parbench_<flag>, and the run's manifest (parbench_manifest) to Google Benchmark's context.
// Loads the curl and BLAS modules for their versions.
void AddMachineContext(const SuiteEnv& env);

}  // namespace parbench
