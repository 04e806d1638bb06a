#pragma once
// The difference between the running configuration and a new one, per program (SPEC §7).
// Pure: the manager applies it.
//   how it runs (command, directory, environment, user, group, umask, output files)
//                                    → stop and start with the new settings
//   cgroup limits (memory.*, pids_max) → written to the live cgroup, no restart
//   the rest (autostart, restart, start, stop, output sizes) → used from the next event on
//   added → created, started if autostart;  removed → stopped, cgroup removed
#include <string>
#include <vector>

#include "config/model.h"

namespace climits::supervisor {

struct ProgramChange {
  std::string name;
  bool added = false;
  bool removed = false;
  bool restart = false;   // how it runs changed
  bool limits = false;    // cgroup limits changed
  bool settings = false;  // anything else changed
  bool unchanged() const { return !added && !removed && !restart && !limits && !settings; }
};

// One entry per program of either configuration, in the new file's order, then removals.
std::vector<ProgramChange> plan_reload(const config::Config& running, const config::Config& next);

bool runs_differently(const config::Program& a, const config::Program& b);
bool limits_differ(const config::Program& a, const config::Program& b);

}  // namespace climits::supervisor
