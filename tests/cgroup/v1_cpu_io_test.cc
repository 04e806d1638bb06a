// cgroup v1: cpu: and io: in the cpu, cpuacct and blkio hierarchies, read back from the
// kernel. Those hierarchies are used only by the programs that set them (docs/cgroups.md).
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <filesystem>

#include "cgroup/cgroup_files.h"
#include "tests/cgroup/fixture.h"
#include "util/file_io.h"
#include "util/text.h"

using namespace climits;
using namespace climits::test;

namespace {

constexpr std::chrono::seconds kPatience{30};  // a hang guard, never a measurement

std::string text_of(const std::string& path) {
  auto text = read_file(path);
  REQUIRE_MESSAGE(text.ok(), path);
  return std::string(trim(*text));
}

// The program's directory in a v1 hierarchy: its root mirrors the memory root's place.
std::string dir_in(const std::optional<cgroup::Hierarchy>& hierarchy, const std::string& name) {
  REQUIRE(hierarchy.has_value());
  return hierarchy->mount + private_layout().memory.self + "/program-" + name;
}

// A whole disk of this machine, as "major:minor" (the throttle files' key).
std::string some_disk() {
  for (const char* path : {"/dev/vda", "/dev/sda", "/dev/nvme0n1", "/dev/loop0", "/dev/zram0"}) {
    struct stat info {};
    if (::stat(path, &info) != 0 || !S_ISBLK(info.st_mode)) continue;
    std::string key =
        std::to_string(major(info.st_rdev)) + ":" + std::to_string(minor(info.st_rdev));
    if (!std::filesystem::exists("/sys/dev/block/" + key + "/partition")) return key;
  }
  FAIL("no whole block device on this machine");
  return {};
}

cgroup::IoDeviceLimits device(const std::string& key) {
  cgroup::IoDeviceLimits d;
  d.major = static_cast<unsigned>(std::stoul(key.substr(0, key.find(':'))));
  d.minor = static_cast<unsigned>(std::stoul(key.substr(key.find(':') + 1)));
  return d;
}

bool listed(const std::string& procs, pid_t pid) {
  auto pids = cgroup::files::read_pids(procs);
  return pids.ok() && std::find(pids->begin(), pids->end(), pid) != pids->end();
}

cgroup::Limits cpu_and_io(const std::string& disk) {
  cgroup::Limits limits;
  limits.cpu.quota_micros = 50000;  // 50%
  limits.cpu.weight = 200;
  limits.io.weight = 300;
  auto d = device(disk);
  d.read_bps = 1 * MiB;
  d.write_iops = 100;
  limits.io.devices.push_back(d);
  return limits;
}

}  // namespace

TEST_SUITE("cgroup-v1") {
  TEST_CASE_FIXTURE(CgroupFixture, "cpu and io land in the cpu and blkio knobs, exactly") {
    const auto& layout = private_layout();
    REQUIRE(layout.cpu.has_value());
    REQUIRE(layout.cpuacct.has_value());
    REQUIRE(layout.blkio.has_value());
    std::string disk = some_disk();
    cgroup::Limits limits = cpu_and_io(disk);
    std::string name = unique_name("cpuio");
    auto made = backend->create(name, limits);
    REQUIRE(made.ok());
    CHECK(*made);
    created.push_back(name);
    auto applied = backend->apply(name, limits, Holds::kernel_defaults);
    REQUIRE_MESSAGE(applied.ok(), (applied.ok() ? "" : applied.error().message));
    const std::string cpu = dir_in(layout.cpu, name);
    CHECK(text_of(cpu + "/cpu.cfs_quota_us") == "50000");
    CHECK(text_of(cpu + "/cpu.cfs_period_us") == "100000");
    CHECK(text_of(cpu + "/cpu.shares") == "2048");  // 200 x 1024 / 100
    CHECK(cgroup::files::exists(dir_in(layout.cpuacct, name) + "/cpuacct.usage"));
    const std::string blkio = dir_in(layout.blkio, name);
    CHECK(text_of(blkio + "/blkio.throttle.read_bps_device") == disk + " 1048576");
    CHECK(text_of(blkio + "/blkio.throttle.write_iops_device") == disk + " 100");
    CHECK(text_of(blkio + "/blkio.throttle.write_bps_device").empty());
    CHECK(text_of(blkio + "/blkio.throttle.read_iops_device").empty());
    // blkio.weight comes with BFQ: written where the kernel has it (clamped into 10…1000),
    // a warning where not.
    if (cgroup::files::exists(blkio + "/blkio.weight")) {
      CHECK(text_of(blkio + "/blkio.weight") == "300");
      CHECK(applied->empty());
    } else {
      REQUIRE(applied->size() == 1);
      CHECK((*applied)[0].find("io.weight is ignored: this kernel has no blkio.weight") == 0);
    }
    // The helper joins every hierarchy the program uses.
    auto entries = backend->entry_files(name, limits);
    for (const auto& dir : {backend->path_of(name), cpu, dir_in(layout.cpuacct, name), blkio})
      CHECK(std::count(entries.begin(), entries.end(), dir + "/cgroup.procs") == 1);
  }

  TEST_CASE_FIXTURE(CgroupFixture,
                    "a program without cpu: or io: has no cpu, cpuacct or blkio cgroup") {
    const auto& layout = private_layout();
    std::string name = make_program("plain", memory_limit(64 * MiB));
    CHECK_FALSE(cgroup::files::exists(dir_in(layout.cpu, name)));
    CHECK_FALSE(cgroup::files::exists(dir_in(layout.cpuacct, name)));
    CHECK_FALSE(cgroup::files::exists(dir_in(layout.blkio, name)));
    CHECK(backend->entry_files(name, memory_limit(64 * MiB)).size() == (layout.pids ? 2u : 1u));
    // No cpu cgroup, no CPU figures: and no read is tried for them.
    auto usage = backend->cpu_usage(name, memory_limit(64 * MiB));
    CHECK_FALSE(usage.seconds.has_value());
    CHECK_FALSE(usage.throttled_seconds.has_value());
  }

  TEST_CASE_FIXTURE(CgroupFixture,
                    "on reload: cpu: added to a live program moves its processes in, and taken "
                    "away resets the knobs and the throttles") {
    const auto& layout = private_layout();
    std::string disk = some_disk();
    std::string name = make_program("live", cgroup::Limits{});
    pid_t pid = spawn_in(backend->entry_files(name, cgroup::Limits{}), [] {
      ::pause();
      return 0;
    });
    REQUIRE(pid > 0);
    REQUIRE(run_loop_until(
        &loop, [&] { return listed(backend->path_of(name) + "/cgroup.procs", pid); }, kPatience));
    cgroup::Limits limits = cpu_and_io(disk);
    auto added = backend->apply(name, limits, Holds::anything);
    REQUIRE_MESSAGE(added.ok(), (added.ok() ? "" : added.error().message));
    CHECK(listed(dir_in(layout.cpu, name) + "/cgroup.procs", pid));
    CHECK(listed(dir_in(layout.cpuacct, name) + "/cgroup.procs", pid));
    CHECK(listed(dir_in(layout.blkio, name) + "/cgroup.procs", pid));
    CHECK(text_of(dir_in(layout.cpu, name) + "/cpu.cfs_quota_us") == "50000");
    // A second device's throttle goes, the first one's changes.
    limits.io.devices[0].read_bps = 2 * MiB;
    limits.io.devices[0].write_iops.reset();
    REQUIRE(backend->apply(name, limits, Holds::anything).ok());
    const std::string blkio = dir_in(layout.blkio, name);
    CHECK(text_of(blkio + "/blkio.throttle.read_bps_device") == disk + " 2097152");
    CHECK(text_of(blkio + "/blkio.throttle.write_iops_device").empty());
    auto removed = backend->apply(name, cgroup::Limits{}, Holds::anything);
    REQUIRE_MESSAGE(removed.ok(), (removed.ok() ? "" : removed.error().message));
    CHECK(text_of(dir_in(layout.cpu, name) + "/cpu.cfs_quota_us") == "-1");
    CHECK(text_of(dir_in(layout.cpu, name) + "/cpu.shares") == "1024");
    CHECK(text_of(blkio + "/blkio.throttle.read_bps_device").empty());
    ::kill(pid, SIGKILL);
    wait_exit(pid);
  }

  TEST_CASE_FIXTURE(CgroupFixture, "the CPU time and throttling of a busy program are read") {
    std::string name = unique_name("busy");
    cgroup::Limits limits;
    limits.cpu.quota_micros = 10000;  // 10%: throttled at once
    REQUIRE(backend->create(name, limits).ok());
    created.push_back(name);
    REQUIRE(backend->apply(name, limits, Holds::kernel_defaults).ok());
    pid_t pid = spawn_in(backend->entry_files(name, limits), [] {
      volatile unsigned long spins = 0;
      for (;;) spins = spins + 1;
      return 0;
    });
    REQUIRE(pid > 0);
    CHECK(run_loop_until(
        &loop,
        [&] {
          auto usage = backend->cpu_usage(name, limits);
          return usage.seconds.value_or(0) > 0.05 && usage.throttled_seconds.value_or(0) > 0.05;
        },
        kPatience));
    ::kill(pid, SIGKILL);
    wait_exit(pid);
  }

  TEST_CASE_FIXTURE(CgroupFixture,
                    "remove takes the cpu, cpuacct and blkio cgroups, and one left alone in "
                    "cpu by a dead manager is found") {
    const auto& layout = private_layout();
    std::string name = make_program("gone", cpu_and_io(some_disk()));
    pid_t pid = spawn_in(backend->entry_files(name, cpu_and_io(some_disk())), [] {
      ::pause();
      return 0;
    });
    REQUIRE(pid > 0);
    auto removed = backend->remove(name);
    REQUIRE_MESSAGE(removed.ok(), (removed.ok() ? "" : removed.error().message));
    wait_exit(pid);
    for (const auto& dir : {dir_in(layout.cpu, name), dir_in(layout.cpuacct, name),
                            dir_in(layout.blkio, name), backend->path_of(name)})
      CHECK_FALSE(cgroup::files::exists(dir));
    // Only a cpu cgroup: stale cleanup lists it, and removes it.
    std::string stale = unique_name("stale");
    REQUIRE(cgroup::files::make_dir(dir_in(layout.cpu, stale)).ok());
    auto names = backend->existing_programs();
    REQUIRE(names.ok());
    CHECK(std::count(names->begin(), names->end(), stale) == 1);
    REQUIRE(backend->remove(stale).ok());
    CHECK_FALSE(cgroup::files::exists(dir_in(layout.cpu, stale)));
  }

  TEST_CASE_FIXTURE(CgroupFixture, "memory.pressure on v1: a warning, nothing written") {
    cgroup::Limits limits = memory_limit(64 * MiB);
    limits.memory.pressure = cgroup::PressureTrigger{50000, 500000};
    std::string name = unique_name("pressure");
    REQUIRE(backend->create(name, limits).ok());
    created.push_back(name);
    auto applied = backend->apply(name, limits, Holds::kernel_defaults);
    REQUIRE(applied.ok());
    REQUIRE(applied->size() == 1);
    CHECK((*applied)[0].find("memory.pressure is cgroup v2 only") == 0);
    auto ignored = cgroup::settings_ignored_on(cgroup::Version::v1, limits.memory);
    REQUIRE(ignored.size() == 1);
    CHECK(std::string(ignored[0].key) == "memory.pressure");
    auto watch = backend->watch_pressure(&loop, name, *limits.memory.pressure, [] {});
    REQUIRE_FALSE(watch.ok());
    CHECK(watch.error().code == ENOTSUP);
  }
}  // TEST_SUITE
