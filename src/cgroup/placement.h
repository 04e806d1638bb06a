#pragma once
// Where the program cgroups go (manager.cgroup_root), and preparing that place:
//   auto      the manager's own cgroup. On v2 the manager first moves itself (and anything
//             else there) into the leaf <root>/supervisor — a cgroup with processes may not
//             delegate controllers to children — then enables +memory +pids for children.
//   /a/path   used as given: a directory under the hierarchy's mount point
//             (/sys/fs/cgroup/memory/climits on v1), or a cgroup path (/climits) that is
//             taken inside each hierarchy. Created if missing.
#include <memory>
#include <string>

#include "cgroup/backend.h"
#include "cgroup/layout.h"
#include "util/result.h"

namespace climits::cgroup {

// Prepares the root and returns the backend for it. Errors say why and what to do; the
// daemon exits 2 with them.
Result<std::unique_ptr<Backend>> open_backend(const Layout& layout, const std::string& cgroup_root);

// For --check: where programs would go and whether that place is writable, changing nothing.
struct PlacementReport {
  std::string root;     // the program root (memory hierarchy on v1)
  bool writable = false;
  std::string problem;  // why not, and what to do
};
PlacementReport inspect_placement(const Layout& layout, const std::string& cgroup_root);

// The directory a cgroup_root setting names inside a hierarchy.
std::string resolve_root(const Hierarchy& hierarchy, const std::string& cgroup_root);

inline constexpr const char* kSupervisorLeaf = "supervisor";

}  // namespace climits::cgroup
