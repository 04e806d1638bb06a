#include "cgroup/layout.h"

#include <sstream>
#include <tuple>
#include <vector>

#include "util/file_io.h"
#include "util/text.h"

namespace climits::cgroup {

namespace {

struct Mount {
  std::string root;  // the mount's root inside its hierarchy (non-/ in cgroup namespaces)
  std::string point;
  std::string fs_type;
  std::string super_options;
};

// mountinfo escapes spaces and other bytes in paths as \ooo.
std::string unescape_octal(std::string_view text) {
  auto is_octal = [](char c) { return c >= '0' && c <= '7'; };
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && i + 3 < text.size() && is_octal(text[i + 1]) && is_octal(text[i + 2]) &&
        is_octal(text[i + 3])) {
      out.push_back(static_cast<char>((text[i + 1] - '0') * 64 + (text[i + 2] - '0') * 8 +
                                      (text[i + 3] - '0')));
      i += 3;
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

std::vector<Mount> cgroup_mounts(std::string_view mountinfo) {
  std::vector<Mount> mounts;
  std::istringstream lines{std::string(mountinfo)};
  std::string line;
  while (std::getline(lines, line)) {
    // id parent major:minor root mount-point options [optional fields...] - type source super
    std::vector<std::string> fields = split_words(line);
    std::size_t dash = 5;
    while (dash < fields.size() && fields[dash] != "-") ++dash;
    if (dash + 3 >= fields.size()) continue;  // needs type, source and super options
    Mount mount{unescape_octal(fields[3]), unescape_octal(fields[4]), fields[dash + 1],
                fields[dash + 3]};
    if (mount.fs_type == "cgroup" || mount.fs_type == "cgroup2") mounts.push_back(mount);
  }
  return mounts;
}

bool has_option(const std::string& options, std::string_view wanted) {
  std::size_t start = 0;
  while (start <= options.size()) {
    std::size_t end = options.find(',', start);
    if (end == std::string::npos) end = options.size();
    if (std::string_view(options).substr(start, end - start) == wanted) return true;
    start = end + 1;
  }
  return false;
}

// The manager's path in a hierarchy: the /proc/self/cgroup line whose controller list holds
// `controller` (v1), or the "0::" line (v2).
std::optional<std::string> self_path(std::string_view proc_self_cgroup,
                                     std::string_view controller) {
  std::istringstream lines{std::string(proc_self_cgroup)};
  std::string line;
  while (std::getline(lines, line)) {
    std::size_t first = line.find(':');
    std::size_t second = first == std::string::npos ? first : line.find(':', first + 1);
    if (second == std::string::npos) continue;
    std::string controllers = line.substr(first + 1, second - first - 1);
    bool match = controller.empty() ? (line.substr(0, first) == "0" && controllers.empty())
                                    : has_option(controllers, controller);
    if (match) return line.substr(second + 1);
  }
  return std::nullopt;
}

// Joins a mount with the manager's path, allowing for a mount whose root is not the
// hierarchy's root (a bind mount of a subtree). The root must be an ancestor of the
// manager's cgroup, compared by whole components (/lxc/box is not an ancestor of /lxc/box2).
Result<Hierarchy> make_hierarchy(const Mount& mount, std::string self) {
  if (mount.root != "/") {
    bool ancestor =
        self == mount.root || (self.starts_with(mount.root) && self[mount.root.size()] == '/');
    if (!ancestor)
      return Error{ENOENT, "the cgroup filesystem at " + mount.point + " shows " + mount.root +
                               ", which does not contain the manager's own cgroup " + self +
                               " (a cgroup namespace with the host's mount?); mount a cgroup "
                               "filesystem of this namespace"};
    self.erase(0, mount.root.size());
  }
  if (self.empty()) self.push_back('/');  // not = "/": GCC 12 warns falsely (-Wrestrict)
  return Hierarchy{mount.point, self};
}

bool memory_controller_listed(const std::string& mount) {
  auto controllers = read_file(mount + "/cgroup.controllers");
  if (!controllers) return false;
  for (const auto& word : split_words(*controllers))
    if (word == "memory") return true;
  return false;
}

}  // namespace

std::string Hierarchy::own_dir() const {
  return self == "/" ? mount : mount + self;
}

const char* version_name(Version version) {
  return version == Version::v1 ? "v1" : "v2";
}

std::string Layout::describe() const {
  if (version == Version::v2)
    return "cgroup v2 (unified hierarchy at " + memory.mount + ", own cgroup " + memory.self + ")";
  std::string text =
      "cgroup v1 (memory hierarchy at " + memory.mount + ", own cgroup " + memory.self;
  text += pids ? "; pids hierarchy at " + pids->mount + ")" : "; no pids hierarchy)";
  return text;
}

Result<Layout> detect_layout_from(std::string_view mountinfo, std::string_view proc_self_cgroup,
                                  bool (*has_memory_controller)(const std::string& mount)) {
  std::vector<Mount> mounts = cgroup_mounts(mountinfo);
  const Mount* v1_memory = nullptr;
  const Mount* v1_pids = nullptr;
  const Mount* v1_cpu = nullptr;
  const Mount* v1_cpuacct = nullptr;
  const Mount* v1_blkio = nullptr;
  const Mount* unified = nullptr;
  for (const auto& mount : mounts) {
    if (mount.fs_type == "cgroup2") {
      if (unified == nullptr) unified = &mount;
    } else {
      // Controllers may be co-mounted (memory,pids): one hierarchy can serve both.
      if (has_option(mount.super_options, "memory") && v1_memory == nullptr) v1_memory = &mount;
      if (has_option(mount.super_options, "pids") && v1_pids == nullptr) v1_pids = &mount;
      if (has_option(mount.super_options, "cpu") && v1_cpu == nullptr) v1_cpu = &mount;
      if (has_option(mount.super_options, "cpuacct") && v1_cpuacct == nullptr) v1_cpuacct = &mount;
      if (has_option(mount.super_options, "blkio") && v1_blkio == nullptr) v1_blkio = &mount;
    }
  }
  // A controller is bound to one hierarchy at a time: a mounted v1 memory hierarchy means
  // memory is not on the unified one, whatever else is mounted.
  if (v1_memory != nullptr) {
    auto self = self_path(proc_self_cgroup, "memory");
    if (!self)
      return Error{ENOENT,
                   "/proc/self/cgroup has no memory line although a cgroup v1 memory "
                   "hierarchy is mounted at " +
                       v1_memory->point};
    Layout layout;
    layout.version = Version::v1;
    auto memory = make_hierarchy(*v1_memory, *self);
    if (!memory) return memory.error();
    layout.memory = *memory;
    for (auto [mount, controller, target] :
         {std::tuple{v1_pids, "pids", &layout.pids}, std::tuple{v1_cpu, "cpu", &layout.cpu},
          std::tuple{v1_cpuacct, "cpuacct", &layout.cpuacct},
          std::tuple{v1_blkio, "blkio", &layout.blkio}}) {
      if (mount == nullptr) continue;
      if (auto own = self_path(proc_self_cgroup, controller)) {
        auto hierarchy = make_hierarchy(*mount, *own);
        if (!hierarchy) return hierarchy.error();
        *target = *hierarchy;
      }
    }
    return layout;
  }
  if (unified != nullptr) {
    if (!has_memory_controller(unified->point))
      return Error{ENOENT, "cgroup2 is mounted at " + unified->point +
                               " but offers no memory controller, and no cgroup v1 memory "
                               "hierarchy is mounted (enable the memory controller in the "
                               "kernel, e.g. cgroup_enable=memory)"};
    auto self = self_path(proc_self_cgroup, "");
    if (!self) return Error{ENOENT, "/proc/self/cgroup has no cgroup v2 (0::) line"};
    Layout layout;
    layout.version = Version::v2;
    auto memory = make_hierarchy(*unified, *self);
    if (!memory) return memory.error();
    layout.memory = *memory;
    return layout;
  }
  return Error{ENOENT,
               "no cgroup filesystem is mounted (mount cgroup2 on /sys/fs/cgroup, or a "
               "cgroup v1 memory hierarchy)"};
}

Result<Layout> detect_layout() {
  auto mountinfo = read_file("/proc/self/mountinfo");
  if (!mountinfo) return mountinfo.error();
  auto own = read_file("/proc/self/cgroup");
  if (!own) return own.error();
  return detect_layout_from(*mountinfo, *own, memory_controller_listed);
}

}  // namespace climits::cgroup
