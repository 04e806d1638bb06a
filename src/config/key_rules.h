#pragma once
// The rules that span keys, checked once every key is read and the defaults are merged in:
// backoff.max against backoff.initial, the user and group that must exist, and one writer per
// output file. Each error points at
// a key the file gave (key_readers.h records where).
#include <vector>

#include "config/accounts.h"
#include "config/key_readers.h"

namespace climits::config {

// backoff.max below backoff.initial. The error points at the key this section gave; when it
// gave neither, both values come from the defaults: section, whose own check has already
// reported them.
void check_backoff(YamlReader& reader, const Program& program, const KeySources& sources);

// `user` and `group` become the program's identity (accounts.h). A name that does not exist
// is reported at the key that gave it; one inherited from defaults: has been reported there.
void resolve_accounts(YamlReader& reader, AccountLookup& accounts, Program& program,
                      const KeySources& sources);

// `file: auto` becomes <log_dir>/<name>.<stream>.log now that log_dir is known; two programs
// writing the same file would interleave and rotate each other's output. `locations` and
// `sources` are per program, in the order of config.programs.
void resolve_outputs(YamlReader& reader, Config& config, const std::vector<Located>& locations,
                     const std::vector<KeySources>& sources);

}  // namespace climits::config
