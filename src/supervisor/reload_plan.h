#pragma once
// A program's settings seen as parts, each with its own way of taking a change (docs/reload.md),
// and the difference between the running configuration and a new one, per program. Pure: the
// manager and the runners apply it.
//   runs     command, directory, environment, user, group, umask  → stop and start again
//   outputs  where stdout and stderr go                            → stop and start again
//   limits   memory.*, pids_max, cpu.*, io.*                       → written to the live cgroup
//   policy   autostart, restart, start, stop, depends_on           → used from the next event on
//   rotation output max_size and keep                              → used at the next rotation
//   added → created, started if autostart;  removed → stopped, cgroup removed
#include <string>
#include <vector>

#include "cgroup/limits.h"
#include "config/model.h"

namespace climits::supervisor {

enum class Part : unsigned {
  runs = 1u << 0,
  outputs = 1u << 1,
  limits = 1u << 2,
  policy = 1u << 3,
  rotation = 1u << 4,
};

// A set of parts.
class Parts {
 public:
  Parts() = default;
  Parts& add(Part part) {
    bits_ |= static_cast<unsigned>(part);
    return *this;
  }
  bool has(Part part) const { return (bits_ & static_cast<unsigned>(part)) != 0; }
  bool empty() const { return bits_ == 0; }
  // The parts whose change needs a new process.
  bool need_restart() const { return has(Part::runs) || has(Part::outputs); }
  static Parts all();

 private:
  unsigned bits_ = 0;
};

// The parts in which `a` and `b` differ. Every field of config::Program belongs to exactly one
// part (a static_assert in reload_plan.cc stops a new field from being forgotten).
Parts differing_parts(const config::Program& a, const config::Program& b);

// The limits part of a program, in the cgroup layer's words: what its cgroup should have.
cgroup::Limits desired_limits(const config::Program& program);

struct ProgramChange {
  std::string name;
  bool added = false;
  bool removed = false;
  Parts parts;  // for a program in both: what differs (may be empty)
};

// One entry per program of either configuration, in the new file's order, then removals.
std::vector<ProgramChange> plan_reload(const config::Config& running, const config::Config& next);

}  // namespace climits::supervisor
