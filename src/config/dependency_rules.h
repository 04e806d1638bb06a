#pragma once
// The rules of depends_on, checked once every program is known: each name is a program of
// the file, not the program itself, and no chain of dependencies comes back to where it began
// (the cycle is named: "a -> b -> a"). Each error points at the dependency that breaks the
// rule.
#include <vector>

#include "config/key_readers.h"

namespace climits::config {

// `sources` is per program, in the order of config.programs.
void check_dependencies(YamlReader& reader, const Config& config,
                        const std::vector<KeySources>& sources);

}  // namespace climits::config
