// cgroup v2 specifics, run inside the VM (tests/vm): knobs, the supervisor leaf, swap with
// zram, memory.oom.group, cgroup.kill, and the kernel's answer to a limit below usage.
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstring>
#include <fstream>
#include <thread>

#include "cgroup/cgroup_files.h"
#include "tests/cgroup/fixture.h"
#include "util/file_io.h"
#include "util/text.h"

using namespace climits;
using namespace climits::test;
using namespace std::chrono_literals;

namespace {
std::string text_of(const std::string& path) {
  auto text = read_file(path);
  REQUIRE_MESSAGE(text.ok(), path);
  return std::string(trim(*text));
}
bool swap_available() {
  auto swaps = read_file("/proc/swaps");
  return swaps.ok() && split_words(*swaps).size() > 5;  // a header line plus one device
}
}  // namespace

TEST_SUITE("cgroup-v2") {
  TEST_CASE_FIXTURE(CgroupFixture,
                    "auto placement: the manager sits in the supervisor leaf and "
                    "children get memory and pids") {
    REQUIRE(backend->version() == cgroup::Version::v2);
    std::string root = private_layout().memory.own_dir();
    std::string own = text_of("/proc/self/cgroup");
    CHECK(own.ends_with("/supervisor"));
    std::string controllers = text_of(root + "/cgroup.subtree_control");
    CHECK(controllers.find("memory") != std::string::npos);
    CHECK(controllers.find("pids") != std::string::npos);
    CHECK(text_of(root + "/cgroup.procs").empty());  // no internal processes left
  }

  TEST_CASE_FIXTURE(CgroupFixture,
                    "a manager restarted inside the supervisor leaf takes the "
                    "parent as its root, so it finds the earlier programs") {
    std::string root = private_layout().memory.own_dir();
    std::string leftover = make_program("earlier", memory_limit(64 * MiB));
    cgroup::Layout inside = private_layout();
    inside.memory.self += "/supervisor";  // where the first run left the manager
    backend.reset();  // the first manager is gone (its lock on the root with it)
    created.clear();
    auto reopened = cgroup::open_backend(inside, "auto");
    REQUIRE_MESSAGE(reopened.ok(), (reopened.ok() ? "" : reopened.error().message));
    CHECK((*reopened)->path_of("x") == root + "/program-x");
    auto stale = (*reopened)->existing_programs();
    REQUIRE(stale.ok());
    CHECK(std::find(stale->begin(), stale->end(), leftover) != stale->end());
    REQUIRE((*reopened)->remove(leftover).ok());
    backend = std::move(*reopened);
  }

  TEST_CASE_FIXTURE(CgroupFixture, "an explicit nested root gets the controllers on the way down") {
    std::string nested = private_layout().memory.own_dir() + "/" + unique_name("deep") + "/a/b";
    auto opened = cgroup::open_backend(private_layout(), nested);
    REQUIRE_MESSAGE(opened.ok(), (opened.ok() ? "" : opened.error().message));
    auto& deep = **opened;
    REQUIRE(deep.create("p", memory_limit(32 * MiB)).ok());
    REQUIRE(deep.apply("p", memory_limit(32 * MiB), Holds::kernel_defaults).ok());
    CHECK(text_of(nested + "/program-p/memory.max") == std::to_string(32 * MiB));
    CHECK(text_of(nested + "/program-p/pids.max") == "max");
    REQUIRE(deep.remove("p").ok());
  }

  TEST_CASE_FIXTURE(CgroupFixture, "every limit lands in its v2 knob, exactly") {
    cgroup::Limits limits;
    limits.memory.max = 60 * MiB;
    limits.memory.high = 50 * MiB;
    limits.memory.swap_max = 0;
    limits.memory.oom_group = true;
    limits.pids_max = 256;
    std::string name = make_program("knobs", limits);
    CHECK(text_of(knob(name, "memory.max")) == std::to_string(60 * MiB));
    CHECK(text_of(knob(name, "memory.high")) == std::to_string(50 * MiB));
    CHECK(text_of(knob(name, "memory.swap.max")) == "0");
    CHECK(text_of(knob(name, "memory.oom.group")) == "1");
    CHECK(text_of(knob(name, "pids.max")) == "256");
    REQUIRE(backend->apply(name, cgroup::Limits{}, Holds::anything).ok());
    for (const char* file : {"memory.max", "memory.high", "memory.swap.max", "pids.max"})
      CHECK(text_of(knob(name, file)) == "max");
    CHECK(text_of(knob(name, "memory.oom.group")) == "0");
  }

  TEST_CASE_FIXTURE(CgroupFixture, "swappiness is v1 only: a warning on v2") {
    cgroup::Limits limits = memory_limit(64 * MiB);
    limits.memory.swappiness = 0;
    std::string name = unique_name("warn");
    REQUIRE(backend->create(name, limits).ok());
    created.push_back(name);
    auto applied = backend->apply(name, limits, Holds::kernel_defaults);
    REQUIRE(applied.ok());
    REQUIRE(applied->size() == 1);
    CHECK(applied->front().find("swappiness is cgroup v1 only") != std::string::npos);
  }

  TEST_CASE_FIXTURE(CgroupFixture,
                    "swap_max: with swap allowed a program outgrows max without "
                    "dying; with swap_max 0 it is OOM-killed") {
    REQUIRE_MESSAGE(swap_available(), "the VM must be booted with a zram swap device (--swap)");
    cgroup::Limits limits = memory_limit(32 * MiB);
    limits.memory.swap_max = 256 * MiB;
    std::string roomy = make_program("swap", limits);
    pid_t survivor = spawn_holding(backend->entry_files(roomy, {}), 64 * MiB);
    REQUIRE(survivor > 0);  // it touched all 64M inside a 32M limit
    CHECK(is_alive(survivor));
    CHECK(cgroup::files::read_number(knob(roomy, "memory.swap.current")).value() > 0);
    CHECK(*backend->oom_kill_count(roomy) == 0);
    ::kill(survivor, SIGKILL);
    wait_exit(survivor);

    limits.memory.swap_max = 0;
    std::string tight = make_program("noswap", limits);
    pid_t victim = spawn_in(backend->entry_files(tight, {}), [] { return allocate_and_hold(64); });
    int status = wait_exit(victim);
    CHECK(WIFSIGNALED(status));
    CHECK(WTERMSIG(status) == SIGKILL);
    CHECK(*backend->oom_kill_count(tight) == 1);
  }

  TEST_CASE_FIXTURE(CgroupFixture, "oom_group: one OOM kill takes every process of the cgroup") {
    cgroup::Limits limits = memory_limit(32 * MiB);
    limits.memory.swap_max = 0;
    limits.memory.oom_group = true;
    std::string name = make_program("group", limits);
    pid_t bystander = spawn_in(backend->entry_files(name, {}), [] { return allocate_and_hold(1); });
    std::this_thread::sleep_for(50ms);
    pid_t hog = spawn_in(backend->entry_files(name, {}), [] { return allocate_and_hold(0); });
    CHECK(WTERMSIG(wait_exit(hog)) == SIGKILL);
    CHECK(WTERMSIG(wait_exit(bystander)) == SIGKILL);
    CHECK(*backend->oom_kill_count(name) >= 1);
    CHECK(backend->processes(name)->empty());
  }

  TEST_CASE_FIXTURE(CgroupFixture, "kill_all uses cgroup.kill") {
    std::string name = make_program("kill", memory_limit(64 * MiB));
    REQUIRE(cgroup::files::exists(knob(name, "cgroup.kill")));
    pid_t pid = spawn_in(backend->entry_files(name, {}), []() -> int {
      for (int i = 0; i < 3; ++i)
        if (::fork() == 0) break;
      for (;;) ::pause();
    });
    std::this_thread::sleep_for(100ms);
    CHECK(backend->processes(name)->size() == 4);
    REQUIRE(backend->kill_all(name).ok());
    CHECK(backend->processes(name)->empty());
    CHECK(WTERMSIG(wait_exit(pid)) == SIGKILL);
  }

  TEST_CASE_FIXTURE(CgroupFixture, "lowering max below usage: v2 reclaims, then OOM-kills") {
    cgroup::Limits limits = memory_limit(128 * MiB);
    limits.memory.swap_max = 0;
    std::string name = make_program("lower", limits);
    pid_t pid = spawn_holding(backend->entry_files(name, {}), 48 * MiB);
    REQUIRE(pid > 0);
    int reports = 0;
    auto watcher =
        backend->watch_oom(&loop, name, [&](std::uint64_t, std::uint64_t) { ++reports; });
    REQUIRE(watcher.ok());
    limits.memory.max = 16 * MiB;
    CHECK(backend->apply(name, limits, Holds::anything).ok());  // the write succeeds…
    ExitWatch exit(&loop, pid);
    REQUIRE(run_loop_until(
        &loop, [&] { return exit.exited() && reports > 0; }, 10s));
    CHECK(WTERMSIG(exit.status()) == SIGKILL);  // …and the kernel kills to honour it
    CHECK(text_of(knob(name, "memory.max")) == std::to_string(16 * MiB));
  }

}  // TEST_SUITE

// cpu: and io: (docs/cgroups.md §3). The VM's root passes cpu and io down (guest-init.sh), as
// systemd does for a delegated service.
TEST_SUITE("cgroup-v2") {
  TEST_CASE_FIXTURE(CgroupFixture, "cpu and io land in the v2 knobs, exactly, and go back") {
    std::string root = private_layout().memory.own_dir();
    std::string enabled = text_of(root + "/cgroup.subtree_control");
    REQUIRE_MESSAGE(enabled.find("cpu") != std::string::npos, enabled);
    REQUIRE_MESSAGE(enabled.find("io") != std::string::npos, enabled);
    // A whole disk of the guest (its zram swap device at least).
    std::string disk;
    for (const char* path : {"/dev/vda", "/dev/zram0", "/dev/loop0"}) {
      struct stat info {};
      if (::stat(path, &info) == 0 && S_ISBLK(info.st_mode)) {
        disk = std::to_string(major(info.st_rdev)) + ":" + std::to_string(minor(info.st_rdev));
        break;
      }
    }
    REQUIRE_MESSAGE(!disk.empty(), "no block device in the VM");
    cgroup::Limits limits;
    limits.cpu.quota_micros = 150000;
    limits.cpu.weight = 200;
    limits.io.weight = 300;
    cgroup::IoDeviceLimits device;
    device.major = static_cast<unsigned>(std::stoul(disk.substr(0, disk.find(':'))));
    device.minor = static_cast<unsigned>(std::stoul(disk.substr(disk.find(':') + 1)));
    device.read_bps = 1 * MiB;
    device.write_iops = 100;
    limits.io.devices.push_back(device);
    std::string name = unique_name("cpuio");
    REQUIRE(backend->create(name, limits).ok());
    created.push_back(name);
    auto applied = backend->apply(name, limits, Holds::kernel_defaults);
    REQUIRE_MESSAGE(applied.ok(), (applied.ok() ? "" : applied.error().message));
    CHECK(text_of(knob(name, "cpu.max")) == "150000 100000");
    CHECK(text_of(knob(name, "cpu.weight")) == "200");
    CHECK(text_of(knob(name, "io.max")) == disk + " rbps=1048576 wbps=max riops=max wiops=100");
    // io.weight comes with io cost control: written where the kernel has it, a warning where not.
    if (cgroup::files::exists(knob(name, "io.weight"))) {
      CHECK(text_of(knob(name, "io.weight")) == "default 300");
      CHECK(applied->empty());
    } else {
      REQUIRE(applied->size() == 1);
      CHECK((*applied)[0].find("io.weight is ignored") == 0);
    }
    // cpu.stat is there for every cgroup: the CPU time reads (0 before anything ran).
    CHECK(backend->cpu_usage(name, limits).seconds.has_value());
    // Taken away on reload: back to the kernel's defaults, the device unthrottled.
    auto reset = backend->apply(name, cgroup::Limits{}, Holds::anything);
    REQUIRE_MESSAGE(reset.ok(), (reset.ok() ? "" : reset.error().message));
    CHECK(text_of(knob(name, "cpu.max")) == "max 100000");
    CHECK(text_of(knob(name, "cpu.weight")) == "100");
    CHECK(text_of(knob(name, "io.max")).empty());
  }
}  // TEST_SUITE

TEST_SUITE("cgroup-v2") {
  TEST_CASE_FIXTURE(CgroupFixture,
                    "memory.pressure: the PSI trigger wakes the loop when the program stalls on "
                    "memory") {
    // Far above memory.high without swap: the kernel throttles the allocator, a memory stall.
    cgroup::Limits limits;
    limits.memory.high = 8 * MiB;
    limits.memory.swap_max = 0;
    limits.memory.pressure = cgroup::PressureTrigger{50000, 500000};  // 10% of 500 ms
    std::string name = make_program("pressure", limits);
    int fired = 0;
    auto watch = backend->watch_pressure(&loop, name, *limits.memory.pressure, [&] { ++fired; });
    REQUIRE_MESSAGE(watch.ok(), (watch.ok() ? "" : watch.error().message));
    CHECK(fired == 0);
    pid_t pid = spawn_in(backend->entry_files(name, limits), [] { return allocate_and_hold(64); });
    REQUIRE(pid > 0);
    CHECK(run_loop_until(
        &loop, [&] { return fired > 0; }, 120s));
    ::kill(pid, SIGKILL);
    wait_exit(pid);
    // The cgroup removed under the watch: the kernel's wake-up then is no crossing.
    int before = fired;
    REQUIRE(backend->remove(name).ok());
    created.clear();
    run_loop_until(
        &loop, [] { return false; }, 200ms);
    CHECK(fired == before);
  }
}  // TEST_SUITE
