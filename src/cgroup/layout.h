#pragma once
// Where the memory controller lives on this host, detected once at start-up: the unified
// cgroup v2 hierarchy, or a cgroup v1 `memory` hierarchy (also in hybrid layouts where
// cgroup2 is mounted without the memory controller).
#include <optional>
#include <string>
#include <string_view>

#include "util/result.h"

namespace climits::cgroup {

enum class Version { v1, v2 };

struct Hierarchy {
  std::string mount;            // e.g. /sys/fs/cgroup/memory
  std::string self;             // the manager's own cgroup in it, e.g. /system.slice/x.service
  std::string own_dir() const;  // mount + self: the manager's cgroup directory
};

struct Layout {
  Version version = Version::v2;
  Hierarchy memory;               // v2: the unified hierarchy
  std::optional<Hierarchy> pids;  // v1 only: the pids hierarchy, when mounted
  // v1 only, when mounted (possibly co-mounted: cpu and cpuacct often share one): used by the
  // programs that set cpu: or io: (docs/cgroups.md).
  std::optional<Hierarchy> cpu;
  std::optional<Hierarchy> cpuacct;
  std::optional<Hierarchy> blkio;

  std::string describe() const;  // "cgroup v1 (memory hierarchy at /sys/fs/cgroup/memory)"
};

// Reads /proc/self/mountinfo and /proc/self/cgroup.
Result<Layout> detect_layout();

// The pure part, for tests. `has_memory_controller(mount)` tells whether a cgroup2 mount
// offers the memory controller (its cgroup.controllers lists it).
Result<Layout> detect_layout_from(std::string_view mountinfo, std::string_view proc_self_cgroup,
                                  bool (*has_memory_controller)(const std::string& mount));

const char* version_name(Version version);  // "v1" / "v2"

}  // namespace climits::cgroup
