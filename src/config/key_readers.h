#pragma once
// The per-key readers: each key of a program (or of defaults:) and of manager:, read from the
// document onto the model with the checks of its own value. The rules that span keys are in
// key_rules.h; the loader (loader.cc) walks the sections and calls both.
#include <optional>
#include <string>
#include <vector>

#include "config/model.h"
#include "config/yaml_reader.h"

namespace climits::config {

// Where one program (or the defaults: section) gave the keys that rules spanning several keys
// point at; unset when the value was inherited.
struct KeySources {
  std::optional<Located> stdout_file, stderr_file;
  std::optional<Located> backoff_initial, backoff_max;
  std::optional<Located> user, group;
  std::vector<Located> dependencies;  // one per entry of depends_on, in its order
};

// Reads the keys of one program (or of the defaults: section) onto `program`, which already
// holds the inherited values: mappings merge key by key, so a program that sets memory.high
// keeps the memory.max of its defaults. Records in `sources` where the keys that rules
// spanning keys point at were given. Returns whether `command` was given.
bool read_program(YamlReader& reader, const std::string& base_dir, const Located& value,
                  Program& program, KeySources& sources);

// `version:` (only 1 is accepted) and `manager:`; relative paths resolve against base_dir.
void read_version(YamlReader& reader, const Located& value);
void read_manager(YamlReader& reader, const Located& value, const std::string& base_dir,
                  ManagerSettings& manager);

}  // namespace climits::config
