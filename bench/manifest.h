// The run's manifest: what the JSON's benchmark names mean, written into the context
// (key parbench_manifest) so the tools follow it instead of hard-coding names.
#pragma once

#include <string>

#include "bench/suite.h"

namespace parbench {

// The manifest of what `env` registered, as JSON text (schema 1; the README's "How it works"
// describes it): executors with their traits and the baseline, families with their axes,
// executors, counters (unit, direction) and references.
[[nodiscard]] std::string ManifestJson(const SuiteEnv& env);

}  // namespace parbench
