#include "cgroup/backend.h"

namespace climits::cgroup {

Limits limits_of(const config::Program& program) {
  return Limits{program.memory, program.pids_max};
}

std::string cgroup_dir_name(const std::string& program) { return kProgramPrefix + program; }

}  // namespace climits::cgroup
