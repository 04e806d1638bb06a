#include <doctest/doctest.h>

#include "cgroup/layout.h"
#include "cgroup/placement.h"

using namespace climits::cgroup;

namespace {

bool with_memory(const std::string&) {
  return true;
}
bool without_memory(const std::string&) {
  return false;
}

// This machine's layout: v1 controllers, cgroup2 at /sys/fs/cgroup/unified without memory.
const char* const kHybridMounts =
    "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
    "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
    "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
    "39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n"
    "40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd\n"
    "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";
const char* const kHybridSelf =
    "9:name=systemd:/\n8:pids:/\n4:memory:/process_api/abc\n1:cpu:/\n0::/\n";

const char* const kUnifiedMounts =
    "22 1 0:21 / /sys rw - sysfs sysfs rw\n"
    "25 22 0:23 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 "
    "rw,nsdelegate,memory_recursiveprot\n";

}  // namespace

TEST_CASE("hybrid: memory on v1 wins over a cgroup2 mount without memory") {
  auto layout = detect_layout_from(kHybridMounts, kHybridSelf, with_memory);
  REQUIRE(layout.ok());
  CHECK(layout->version == Version::v1);
  CHECK(layout->memory.mount == "/sys/fs/cgroup/memory");
  CHECK(layout->memory.self == "/process_api/abc");
  CHECK(layout->memory.own_dir() == "/sys/fs/cgroup/memory/process_api/abc");
  REQUIRE(layout->pids.has_value());
  CHECK(layout->pids->own_dir() == "/sys/fs/cgroup/pids");
}

TEST_CASE("unified: v2 with optional fields before the separator") {
  auto layout =
      detect_layout_from(kUnifiedMounts, "0::/system.slice/climits-manager.service\n", with_memory);
  REQUIRE(layout.ok());
  CHECK(layout->version == Version::v2);
  CHECK(layout->memory.own_dir() == "/sys/fs/cgroup/system.slice/climits-manager.service");
  CHECK_FALSE(layout->pids.has_value());
}

TEST_CASE("v2 without the memory controller is an error that says what to do") {
  auto layout = detect_layout_from(kUnifiedMounts, "0::/\n", without_memory);
  REQUIRE_FALSE(layout.ok());
  CHECK(layout.error().message.find("no memory controller") != std::string::npos);
}

TEST_CASE("no cgroup filesystem at all") {
  auto layout = detect_layout_from("22 1 0:21 / /sys rw - sysfs sysfs rw\n", "0::/\n", with_memory);
  REQUIRE_FALSE(layout.ok());
  CHECK(layout.error().message.find("no cgroup filesystem is mounted") != std::string::npos);
}

TEST_CASE("a namespaced mount whose root is the manager's own cgroup") {
  auto layout =
      detect_layout_from("30 20 0:30 /lxc/box /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n",
                         "5:memory:/lxc/box/inner\n", with_memory);
  REQUIRE(layout.ok());
  CHECK(layout->memory.own_dir() == "/sys/fs/cgroup/memory/inner");
}

TEST_CASE("mount points with escaped spaces") {
  auto layout = detect_layout_from("30 20 0:30 / /mnt/my\\040cgroups rw - cgroup2 cgroup2 rw\n",
                                   "0::/a\n", with_memory);
  REQUIRE(layout.ok());
  CHECK(layout->memory.own_dir() == "/mnt/my cgroups/a");
}

TEST_CASE("cgroup_root: auto, a path under the mount, or a cgroup path") {
  Hierarchy h{"/sys/fs/cgroup/memory", "/system.slice/x.service"};
  CHECK(resolve_root(h, "auto") == "/sys/fs/cgroup/memory/system.slice/x.service");
  CHECK(resolve_root(h, "/sys/fs/cgroup/memory/climits") == "/sys/fs/cgroup/memory/climits");
  CHECK(resolve_root(h, "/climits") == "/sys/fs/cgroup/memory/climits");
  CHECK(resolve_root(h, "/sys/fs/cgroup/memory") == "/sys/fs/cgroup/memory");
  Hierarchy root{"/sys/fs/cgroup", "/"};
  CHECK(resolve_root(root, "auto") == "/sys/fs/cgroup");
}
