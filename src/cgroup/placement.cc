#include "cgroup/placement.h"

#include <unistd.h>

#include <filesystem>

#include "cgroup/cgroup_files.h"
#include "util/file_io.h"
#include "util/text.h"

namespace climits::cgroup {

namespace {

const char* const kHowToFix =
    "climits-manager creates cgroups there: run it as root, or under systemd with "
    "Delegate=yes (see docs/cgroups.md)";

Error not_writable(const Error& cause, const std::string& root) {
  return Error{cause.code, "cannot use cgroup root " + root + ": " + cause.message + ". " +
                               kHowToFix};
}

// mkdir -p inside a cgroup filesystem (each mkdir creates a cgroup).
Result<void> make_dirs(const std::string& path) {
  std::string partial;
  for (const auto& part : std::filesystem::path(path)) {
    partial = (std::filesystem::path(partial) / part).string();
    if (partial == "/" || files::exists(partial)) continue;
    if (auto made = files::make_dir(partial); !made) return made;
  }
  return success();
}

// Creating and removing a scratch cgroup is the only reliable writability test: access(2)
// does not know about read-only mounts of delegated subtrees or about cgroup namespaces.
Result<void> probe_writable(const std::string& root) {
  if (auto made = make_dirs(root); !made) return not_writable(made.error(), root);
  std::string probe = root + "/climits-probe-" + std::to_string(::getpid());
  if (auto made = files::make_dir(probe); !made) return not_writable(made.error(), root);
  return files::remove_dir(probe, std::chrono::milliseconds(500));
}

bool lists_controller(const std::string& dir, std::string_view controller) {
  auto text = read_file(dir + "/cgroup.controllers");
  if (!text) return false;
  for (const auto& word : split_words(*text))
    if (word == controller) return true;
  return false;
}

// The no-internal-processes rule: a v2 cgroup that hands controllers to children may not
// hold processes itself. Move everything in it (the manager, and a wrapper shell if any)
// into the supervisor leaf.
Result<void> move_into_supervisor_leaf(const std::string& root) {
  const std::string leaf = root + "/" + kSupervisorLeaf;
  if (auto made = files::make_dir(leaf); !made) return not_writable(made.error(), root);
  auto pids = files::read_pids(root + "/cgroup.procs");
  if (!pids) return pids.error();
  for (pid_t pid : *pids) {
    auto moved = write_file(leaf + "/cgroup.procs", std::to_string(pid));
    if (!moved && moved.error().code != ESRCH)
      return Error{moved.error().code, "moving process " + std::to_string(pid) + " into " + leaf +
                                           ": " + moved.error().message + ". " + kHowToFix};
  }
  return success();
}

Result<void> enable_controllers(const std::string& root) {
  if (!lists_controller(root, "memory"))
    return Error{ENOENT, "the memory controller is not available in " + root +
                             " (its cgroup.controllers lacks memory): enable it in the "
                             "parent's cgroup.subtree_control, or run under systemd with "
                             "Delegate=yes"};
  std::string wanted = lists_controller(root, "pids") ? "+memory +pids" : "+memory";
  auto enabled = write_file(root + "/cgroup.subtree_control", wanted);
  if (!enabled) {
    if (enabled.error().code == EBUSY)
      return Error{EBUSY, "cannot enable controllers in " + root +
                              ": it holds processes of its own (cgroup v2 allows controllers "
                              "only for cgroups without processes); use cgroup_root: auto, "
                              "or an empty cgroup"};
    return not_writable(enabled.error(), root);
  }
  return success();
}

}  // namespace

std::string resolve_root(const Hierarchy& hierarchy, const std::string& cgroup_root) {
  if (cgroup_root == "auto") return hierarchy.own_dir();
  std::string relative = cgroup_root;
  for (const std::string& mount : {hierarchy.mount}) {
    if (cgroup_root == mount) relative = "";
    else if (cgroup_root.starts_with(mount + "/")) relative = cgroup_root.substr(mount.size());
  }
  return hierarchy.mount + relative;
}

Result<std::unique_ptr<Backend>> open_backend(const Layout& layout,
                                              const std::string& cgroup_root) {
  if (layout.version == Version::v2) {
    std::string root = resolve_root(layout.memory, cgroup_root);
    if (auto made = make_dirs(root); !made) return not_writable(made.error(), root);
    bool inside_root = root == layout.memory.own_dir() && layout.memory.self != "/";
    if (inside_root) {
      if (auto moved = move_into_supervisor_leaf(root); !moved) return moved.error();
    }
    if (auto enabled = enable_controllers(root); !enabled) return enabled.error();
    if (auto probed = probe_writable(root); !probed) return probed.error();
    return make_v2_backend(root);
  }
  // v1: a setting under the memory mount names the same relative place in the pids one.
  std::string memory_root = resolve_root(layout.memory, cgroup_root);
  std::optional<std::string> pids_root;
  if (layout.pids) {
    pids_root = cgroup_root == "auto"
                    ? layout.pids->own_dir()
                    : layout.pids->mount + memory_root.substr(layout.memory.mount.size());
  }
  if (auto probed = probe_writable(memory_root); !probed) return probed.error();
  if (pids_root) {
    if (auto probed = probe_writable(*pids_root); !probed) return probed.error();
  }
  return make_v1_backend(memory_root, pids_root);
}

PlacementReport inspect_placement(const Layout& layout, const std::string& cgroup_root) {
  PlacementReport report;
  report.root = resolve_root(layout.memory, cgroup_root);
  // The nearest existing directory decides whether the root can be created and used.
  std::string existing = report.root;
  while (!files::exists(existing) && existing.size() > 1)
    existing = std::filesystem::path(existing).parent_path().string();
  if (::access(existing.c_str(), W_OK) == 0) {
    report.writable = true;
  } else {
    report.problem = not_writable(Error::from_errno(errno, existing), report.root).message;
  }
  return report;
}

}  // namespace climits::cgroup
