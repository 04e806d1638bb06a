#include "cgroup/backend.h"

#include <unistd.h>

#include "cgroup/cgroup_files.h"

namespace climits::cgroup {

Backend::~Backend() {
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

Limits limits_of(const config::Program& program) {
  return Limits{program.memory, program.pids_max};
}

Result<std::vector<std::string>> program_names_in(const std::string& root) {
  auto children = files::list_children(root, kProgramPrefix);
  if (!children) return children.error();
  std::vector<std::string> names;
  for (auto& child : *children) names.push_back(child.substr(std::string_view(kProgramPrefix).size()));
  return names;
}

std::string cgroup_dir_name(const std::string& program) { return kProgramPrefix + program; }

}  // namespace climits::cgroup
