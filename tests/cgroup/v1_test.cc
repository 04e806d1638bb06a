// cgroup v1 specifics: the knobs the backend writes, read back from the kernel.
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstring>
#include <thread>

#include "cgroup/cgroup_files.h"
#include "tests/cgroup/fixture.h"
#include "util/file_io.h"
#include "util/text.h"

using namespace climits;
using namespace climits::test;
using namespace std::chrono_literals;

namespace {
std::uint64_t number_in(const std::string& path) {
  auto value = cgroup::files::read_number(path);
  REQUIRE_MESSAGE(value.ok(), path);
  return *value;
}
// The pids root mirrors the memory root's place in its own hierarchy.
std::string pids_knob(const std::string& name, const std::string& file) {
  const auto& layout = private_layout();
  return layout.pids->mount + layout.memory.self + "/program-" + name + "/" + file;
}
constexpr std::uint64_t kV1Unlimited = 9223372036854771712ull;
}  // namespace

TEST_SUITE("cgroup-v1") {
  TEST_CASE_FIXTURE(CgroupFixture, "every limit lands in its v1 knob, exactly") {
    REQUIRE(backend->version() == cgroup::Version::v1);
    REQUIRE(private_layout().pids.has_value());
    cgroup::Limits limits;
    limits.memory.max = 60 * MiB;
    limits.memory.high = 50 * MiB;
    limits.memory.swap_max = 16 * MiB;
    limits.memory.swappiness = 0;
    limits.pids_max = 256;
    std::string name = make_program("knobs", limits);
    CHECK(number_in(knob(name, "memory.limit_in_bytes")) == 60 * MiB);
    CHECK(number_in(knob(name, "memory.soft_limit_in_bytes")) == 50 * MiB);
    CHECK(number_in(knob(name, "memory.memsw.limit_in_bytes")) == 76 * MiB);  // max + swap_max
    CHECK(number_in(knob(name, "memory.swappiness")) == 0);
    CHECK(number_in(pids_knob(name, "pids.max")) == 256);
    CHECK(backend->path_of(name) == private_layout().memory.own_dir() + "/program-" + name);
  }

  TEST_CASE_FIXTURE(CgroupFixture,
                    "each manager has its own pids root, mirroring its memory root, "
                    "so stale cleanup never reaches another manager's programs") {
    std::string name = make_program("mirror", memory_limit(64 * MiB));
    CHECK(cgroup::files::exists(pids_knob(name, "cgroup.procs")));
    // A program cgroup of "someone else" directly in the shared pids root is not ours to list.
    std::string foreign = private_layout().pids->own_dir() + "/program-" + unique_name("foreign");
    REQUIRE(cgroup::files::make_dir(foreign).ok());
    auto listed = backend->existing_programs();
    REQUIRE(listed.ok());
    CHECK(*listed == std::vector<std::string>{name});
    REQUIRE(cgroup::files::remove_dir(foreign, 1s).ok());
  }

  TEST_CASE_FIXTURE(CgroupFixture, "a lowered limit that would need memsw first is ordered right") {
    // From 128M (memsw 128M) to 16M with 1G of swap on top: the new limit fits under the old
    // memsw, so it is written first, and a refusal leaves memsw untouched.
    cgroup::Limits before = memory_limit(128 * MiB);
    before.memory.swappiness = 0;
    std::string name = make_program("reorder", before);
    pid_t pid = spawn_holding(backend->entry_files(name, {}), 48 * MiB);
    REQUIRE(pid > 0);
    cgroup::Limits after = before;
    after.memory.max = 16 * MiB;
    after.memory.swap_max = 1024 * MiB;
    auto applied = backend->apply(name, after, Holds::anything);
    REQUIRE_FALSE(applied.ok());
    CHECK(applied.error().code == EBUSY);
    CHECK(number_in(knob(name, "memory.limit_in_bytes")) == 128 * MiB);
    CHECK(number_in(knob(name, "memory.memsw.limit_in_bytes")) == 128 * MiB);
    ::kill(pid, SIGKILL);
    wait_exit(pid);
  }

  TEST_CASE_FIXTURE(CgroupFixture, "sub-cgroups a program made do not keep its cgroup alive") {
    std::string name = make_program("nested", memory_limit(64 * MiB));
    std::string inner = backend->path_of(name) + "/worker";
    REQUIRE(cgroup::files::make_dir(inner).ok());
    pid_t pid = spawn_in({inner + "/cgroup.procs"}, [] { return allocate_and_hold(1); });
    auto removed = backend->remove(name);
    REQUIRE_MESSAGE(removed.ok(), (removed.ok() ? "" : removed.error().message));
    CHECK(WTERMSIG(wait_exit(pid)) == SIGKILL);
    CHECK_FALSE(cgroup::files::exists(backend->path_of(name)));
  }

  TEST_CASE_FIXTURE(CgroupFixture, "raising and lowering keep memsw >= limit at every step") {
    cgroup::Limits small;
    small.memory.max = 32 * MiB;
    small.memory.swap_max = 0;
    std::string name = make_program("order", small);
    CHECK(number_in(knob(name, "memory.memsw.limit_in_bytes")) == 32 * MiB);
    cgroup::Limits big;
    big.memory.max = 512 * MiB;
    big.memory.swap_max = 512 * MiB;
    auto raised = backend->apply(name, big, Holds::anything);  // memsw must go first here
    REQUIRE_MESSAGE(raised.ok(), (raised.ok() ? "" : raised.error().message));
    CHECK(number_in(knob(name, "memory.limit_in_bytes")) == 512 * MiB);
    CHECK(number_in(knob(name, "memory.memsw.limit_in_bytes")) == 1024 * MiB);
    auto lowered = backend->apply(name, small, Holds::anything);  // and the limit first here
    REQUIRE_MESSAGE(lowered.ok(), (lowered.ok() ? "" : lowered.error().message));
    CHECK(number_in(knob(name, "memory.limit_in_bytes")) == 32 * MiB);
    CHECK(number_in(knob(name, "memory.memsw.limit_in_bytes")) == 32 * MiB);
    REQUIRE(backend->apply(name, cgroup::Limits{}, Holds::anything).ok());
    CHECK(number_in(knob(name, "memory.limit_in_bytes")) == kV1Unlimited);
    CHECK(number_in(knob(name, "memory.memsw.limit_in_bytes")) == kV1Unlimited);
    CHECK(number_in(knob(name, "memory.soft_limit_in_bytes")) == kV1Unlimited);
    CHECK(cgroup::files::read_number(pids_knob(name, "pids.max")).value() == UINT64_MAX);
  }

  TEST_CASE_FIXTURE(CgroupFixture, "removing swappiness on reload restores the parent's value") {
    cgroup::Limits limits = memory_limit(64 * MiB);
    limits.memory.swappiness = 7;
    std::string name = make_program("swappiness", limits);
    CHECK(number_in(knob(name, "memory.swappiness")) == 7);
    limits.memory.swappiness.reset();
    REQUIRE(backend->apply(name, limits, Holds::anything).ok());
    CHECK(number_in(knob(name, "memory.swappiness")) ==
          number_in(private_layout().memory.own_dir() + "/memory.swappiness"));
  }

  // v1 has no memory.oom.group: under oom_policy kill the manager kills the cgroup at the
  // OOM event itself (the runner's table), so the backend has nothing to write or to warn of.
  TEST_CASE_FIXTURE(CgroupFixture, "oom_group on v1: nothing to write, no warning") {
    cgroup::Limits limits = memory_limit(64 * MiB);
    limits.memory.oom_group = true;
    std::string name = unique_name("group");
    REQUIRE(backend->create(name, limits).ok());
    created.push_back(name);
    auto applied = backend->apply(name, limits, Holds::kernel_defaults);
    REQUIRE(applied.ok());
    CHECK(applied->empty());
    CHECK(cgroup::settings_ignored_on(cgroup::Version::v1, limits.memory).empty());
  }

  TEST_CASE_FIXTURE(CgroupFixture,
                    "lowering max below usage is refused by v1 with a clear error, "
                    "and the old limit stays") {
    // swappiness 0: v1 reclaim never swaps anonymous memory out, whether or not the host has
    // swap, so the kernel cannot make room and must refuse.
    cgroup::Limits limits = memory_limit(128 * MiB);
    limits.memory.swappiness = 0;
    std::string name = make_program("lower", limits);
    pid_t pid = spawn_holding(backend->entry_files(name, {}), 48 * MiB);
    REQUIRE(pid > 0);
    limits.memory.max = 16 * MiB;
    auto lowered = backend->apply(name, limits, Holds::anything);
    REQUIRE_FALSE(lowered.ok());
    CHECK(lowered.error().code == EBUSY);
    CHECK(lowered.error().message.find(
              "could not reclaim enough memory to lower the limit to 16M") != std::string::npos);
    CHECK(number_in(knob(name, "memory.limit_in_bytes")) == 128 * MiB);
    CHECK(is_alive(pid));
    ::kill(pid, SIGKILL);
    wait_exit(pid);
  }

}  // TEST_SUITE
