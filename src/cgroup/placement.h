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
#include <vector>

#include "cgroup/backend.h"
#include "cgroup/layout.h"
#include "util/result.h"

namespace climits::cgroup {

// What preparing the root did that an operator should hear of, one log line each, in order
// ("moving process 12 (not the manager) from ROOT into ROOT/supervisor"); the caller logs them.
using PlacementNotes = std::vector<std::string>;

// Prepares the root and returns the backend for it. Errors say why and what to do; the
// daemon exits 2 with them. `notes`, when given, receives what was done on the way, also when
// an error follows.
Result<std::unique_ptr<Backend>> open_backend(const Layout& layout, const std::string& cgroup_root,
                                              PlacementNotes* notes = nullptr);

// For --check: where programs would go and whether that place is writable, changing nothing.
struct PlacementReport {
  std::string root;  // the program root (memory hierarchy on v1)
  bool writable = false;
  std::string problem;  // why not, and what to do
};
PlacementReport inspect_placement(const Layout& layout, const std::string& cgroup_root);

// The directory a cgroup_root setting names inside a hierarchy.
std::string resolve_root(const Hierarchy& hierarchy, const std::string& cgroup_root);

inline constexpr const char* kSupervisorLeaf = "supervisor";

}  // namespace climits::cgroup
