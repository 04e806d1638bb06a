#include "cgroup/placement.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <filesystem>
#include <iterator>
#include <vector>

#include "cgroup/cgroup_files.h"
#include "util/file_io.h"
#include "util/text.h"

namespace climits::cgroup {

namespace {

const char* const kHowToFix =
    "climits-manager creates cgroups there: run it as root, or under systemd with "
    "Delegate=yes (see docs/cgroups.md)";

Error not_writable(const Error& cause, const std::string& root) {
  return Error{cause.code,
               "cannot use cgroup root " + root + ": " + cause.message + ". " + kHowToFix};
}

Result<void> make_dirs(const std::string& path, std::vector<std::string>* made = nullptr) {
  return files::make_dirs(path, made);
}

// Creating and removing a scratch cgroup is the only reliable writability test: access(2)
// does not know about read-only mounts of delegated subtrees or about cgroup namespaces.
Result<void> probe_writable(const std::string& root, std::vector<std::string>* made = nullptr) {
  if (auto dirs = make_dirs(root, made); !dirs) return not_writable(dirs.error(), root);
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
Result<void> move_into_supervisor_leaf(const std::string& root, PlacementNotes* notes) {
  const std::string leaf = root + "/" + kSupervisorLeaf;
  if (auto made = files::make_dir(leaf); !made) return not_writable(made.error(), root);
  auto pids = files::read_pids(root + "/cgroup.procs");
  if (!pids) return pids.error();
  for (pid_t pid : *pids) {
    if (pid != ::getpid() && notes)
      notes->push_back("moving process " + std::to_string(pid) + " (not the manager) from " + root +
                       " into " + leaf);
    auto moved = write_file(leaf + "/cgroup.procs", std::to_string(pid));
    if (!moved && moved.error().code != ESRCH)
      return Error{moved.error().code, "moving process " + std::to_string(pid) + " into " + leaf +
                                           ": " + moved.error().message + ". " + kHowToFix};
  }
  return success();
}

Result<void> enable_controllers(const std::string& dir) {
  if (!lists_controller(dir, "memory"))
    return Error{ENOENT, "the memory controller is not available in " + dir +
                             " (its cgroup.controllers lacks memory): enable it in the "
                             "parent's cgroup.subtree_control, or run under systemd with "
                             "Delegate=yes"};
  std::string wanted = lists_controller(dir, "pids") ? "+memory +pids" : "+memory";
  auto enabled = write_file(dir + "/cgroup.subtree_control", wanted);
  if (!enabled) {
    if (enabled.error().code == EBUSY)
      return Error{EBUSY, "cannot enable controllers in " + dir +
                              ": it holds processes of its own (cgroup v2 allows controllers "
                              "only for cgroups without processes); choose a cgroup_root "
                              "below an empty cgroup, or use cgroup_root: auto"};
    return enabled.error();  // the caller says which root it was for
  }
  // cpu and io only where offered, each on its own: a failure (the cpu controller refuses
  // while a realtime process sits in the subtree) costs only the programs that set cpu: or
  // io:, which are then warned that their files are missing.
  for (const char* extra : {"cpu", "io"})
    if (lists_controller(dir, extra))
      (void)write_file(dir + "/cgroup.subtree_control", std::string("+") + extra);
  return success();
}

// The real root of a v2 hierarchy has no cgroup.type; every other cgroup has one. Only the
// real root may hold processes and delegate controllers at once.
bool is_hierarchy_root(const std::string& dir) {
  return !files::exists(dir + "/cgroup.type");
}

// mkdir -p below the mount, enabling the controllers in every new ancestor on the way down,
// so that a nested explicit root gets memory and pids. The directories made now are added to
// `made` (outermost first).
Result<void> make_v2_dirs(const std::string& mount, const std::string& root,
                          std::vector<std::string>& made) {
  std::string partial = mount;
  std::filesystem::path rest = std::filesystem::path(root).lexically_relative(mount);
  for (const auto& part : rest) {
    if (part == ".") continue;
    std::string child = partial + "/" + part.string();
    if (!files::exists(child)) {
      if (auto enabled = enable_controllers(partial); !enabled)
        return enabled.error().code == EBUSY || enabled.error().code == ENOENT
                   ? enabled.error()
                   : not_writable(enabled.error(), root);
      auto now = files::make_dir(child);
      if (!now) return not_writable(now.error(), root);
      if (*now) made.push_back(child);
    }
    partial = child;
  }
  return success();
}

// One manager per cgroup root: a second one would take the first one's live programs for the
// leftovers of a crash and kill them. The lock is an flock on the root directory, held for
// the manager's life; the kernel drops it when the manager dies, even by SIGKILL, so crash
// recovery still works.
Result<int> lock_root(const std::string& root) {
  int fd = ::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return not_writable(Error::from_errno(errno, root), root);
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int saved = errno;
    ::close(fd);
    if (saved == EWOULDBLOCK)
      return Error{EBUSY, "another climits-manager already uses the cgroup root " + root +
                              ": stop it first, or give this one its own cgroup_root"};
    return Error::from_errno(saved, "locking the cgroup root " + root);
  }
  return fd;
}

}  // namespace

std::string resolve_root(const Hierarchy& hierarchy, const std::string& cgroup_root) {
  if (cgroup_root == "auto") return hierarchy.own_dir();
  std::string relative = cgroup_root;
  for (const std::string& mount : {hierarchy.mount}) {
    if (cgroup_root == mount)
      relative = "";
    else if (cgroup_root.starts_with(mount + "/"))
      relative = cgroup_root.substr(mount.size());
  }
  return hierarchy.mount + relative;
}

// The v2 program root for a setting. `auto` is the manager's own cgroup — unless that is
// already the supervisor leaf of an earlier run (a manager restarted after a crash sits
// there): then its parent, so that the earlier run's programs are found and cleared.
std::string v2_root(const Layout& layout, const std::string& cgroup_root) {
  std::string root = resolve_root(layout.memory, cgroup_root);
  if (cgroup_root == "auto" && std::filesystem::path(root).filename() == kSupervisorLeaf &&
      root != layout.memory.mount)
    return std::filesystem::path(root).parent_path().string();
  return root;
}

Result<std::unique_ptr<Backend>> open_backend(const Layout& layout, const std::string& cgroup_root,
                                              PlacementNotes* notes) {
  if (layout.version == Version::v2) {
    std::string root = v2_root(layout, cgroup_root);
    std::vector<std::string> made;
    if (auto dirs = make_v2_dirs(layout.memory.mount, root, made); !dirs) return dirs.error();
    // The manager inside its own root (auto, or a root equal to its cgroup) must leave it for
    // the leaf, unless the root is the hierarchy's real root. In a cgroup namespace the
    // namespace root looks like "/" but is an ordinary cgroup: cgroup.type tells them apart.
    std::string own = layout.memory.own_dir();
    if (own == root && !is_hierarchy_root(root)) {
      if (auto moved = move_into_supervisor_leaf(root, notes); !moved) return moved.error();
    }
    if (auto enabled = enable_controllers(root); !enabled)
      return enabled.error().code == EBUSY || enabled.error().code == ENOENT
                 ? enabled.error()
                 : not_writable(enabled.error(), root);
    if (auto probed = probe_writable(root); !probed) return probed.error();
    auto lock = lock_root(root);
    if (!lock) return lock.error();
    std::unique_ptr<Backend> backend = make_v2_backend(root, *lock);
    if (cgroup_root != "auto" && !made.empty()) backend->record_created_root(std::move(made));
    return {std::move(backend)};
  }
  // v1: the pids root mirrors the memory root's place, so that each manager has its own
  // (on hosts where everyone shares the pids root cgroup, program-* there would be shared).
  std::string memory_root = resolve_root(layout.memory, cgroup_root);
  std::optional<std::string> pids_root;
  if (layout.pids) pids_root = layout.pids->mount + memory_root.substr(layout.memory.mount.size());
  std::vector<std::string> memory_made, pids_made;
  if (auto probed = probe_writable(memory_root, &memory_made); !probed) return probed.error();
  if (pids_root) {
    if (auto probed = probe_writable(*pids_root, &pids_made); !probed) return probed.error();
  }
  auto lock = lock_root(memory_root);
  if (!lock) return lock.error();
  // Not probed here: most configurations set no cpu: or io:, and those hierarchies are then
  // never touched (the backend makes these roots when a program first needs them).
  auto mirror = [&](const std::optional<Hierarchy>& hierarchy) -> std::optional<std::string> {
    if (!hierarchy) return std::nullopt;
    return hierarchy->mount + memory_root.substr(layout.memory.mount.size());
  };
  V1OptionalRoots optional_roots{mirror(layout.cpu), mirror(layout.cpuacct), mirror(layout.blkio)};
  std::unique_ptr<Backend> backend =
      make_v1_backend(memory_root, pids_root, std::move(optional_roots), *lock);
  if (cgroup_root != "auto") {
    if (!memory_made.empty()) backend->record_created_root(std::move(memory_made));
    if (!pids_made.empty()) backend->record_created_root(std::move(pids_made));
  }
  return {std::move(backend)};
}

Result<void> Backend::remove_root_if_created() {
  std::string problems;
  int code = 0;
  for (const auto& made : created_roots_) {
    // The root first (every program cgroup is gone by now, so it is empty), then the
    // directories made on the way to it, as long as nothing else has come to live in them.
    auto removed = files::remove_dir(made.back(), std::chrono::milliseconds(500));
    if (!removed) {
      code = removed.error().code;
      problems += (problems.empty() ? "" : "; ") + removed.error().message;
      continue;
    }
    for (auto dir = std::next(made.rbegin()); dir != made.rend(); ++dir)
      if (::rmdir(dir->c_str()) != 0 && errno != ENOENT) break;
  }
  created_roots_.clear();
  if (!problems.empty())
    return Error{code, "the cgroup root this manager created is left behind: " + problems};
  return success();
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
