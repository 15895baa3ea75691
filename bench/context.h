// Machine context recorded in the Google Benchmark JSON, so a number always says where it
// came from.
#pragma once

#include "bench/flags.h"

namespace parbench {

// Adds CPU model, cores, compiler and flags, build type, git revision, OpenBLAS config,
// library versions and the suite's flags through benchmark::AddCustomContext.
void AddMachineContext(const SuiteOptions& options, int hardware_threads);

}  // namespace parbench
