// Behaviour both backends must share, checked through the Backend interface only.
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <map>
#include <thread>

#include "cgroup/cgroup_files.h"
#include "cgroup/usage_files.h"
#include "tests/cgroup/fixture.h"
#include "util/file_io.h"

using namespace climits;
using namespace climits::test;
using namespace std::chrono_literals;

TEST_SUITE("cgroup-common") {
  TEST_CASE("the detected version is the one this machine is known to have") {
    // The host has a hybrid layout with memory on v1; the test VM is pure v2.
    CHECK(private_layout().version == (in_vm() ? cgroup::Version::v2 : cgroup::Version::v1));
  }

  TEST_CASE_FIXTURE(CgroupFixture,
                    "a process that allocates past max is OOM-killed and the "
                    "event arrives through the loop") {
    std::string name = make_program("oom", memory_limit(32 * MiB));
    // How soon the report comes is a figure of bench/ (docs/performance.md), not a bound
    // here: a loaded machine may delay either side.
    std::uint64_t reported_total = 0, reported_added = 0;
    auto watcher = backend->watch_oom(&loop, name, [&](std::uint64_t total, std::uint64_t added) {
      reported_total = total;
      reported_added = added;
    });
    REQUIRE(watcher.ok());
    pid_t pid = spawn_in(backend->entry_files(name, {}), [] { return allocate_and_hold(0); });
    ExitWatch exit(&loop, pid);
    REQUIRE(run_loop_until(
        &loop, [&] { return exit.exited() && reported_total > 0; }, 10s));
    CHECK(WIFSIGNALED(exit.status()));
    CHECK(WTERMSIG(exit.status()) == SIGKILL);
    CHECK(reported_total == 1);
    CHECK(reported_added == 1);
    auto count = backend->oom_kill_count(name);
    REQUIRE(count.ok());
    CHECK(*count == 1);
  }

  TEST_CASE_FIXTURE(CgroupFixture,
                    "no OOM report without an OOM kill, even when the cgroup is "
                    "removed under the watcher") {
    std::string name = make_program("quiet", memory_limit(64 * MiB));
    int reports = 0;
    auto watcher =
        backend->watch_oom(&loop, name, [&](std::uint64_t, std::uint64_t) { ++reports; });
    REQUIRE(watcher.ok());
    pid_t pid = spawn_in(backend->entry_files(name, {}), [] { return allocate_and_hold(8); });
    ExitWatch exit(&loop, pid);
    std::this_thread::sleep_for(100ms);
    ::kill(pid, SIGTERM);
    REQUIRE(run_loop_until(
        &loop, [&] { return exit.exited(); }, 5s));
    REQUIRE(backend->remove(name).ok());  // v1 signals the eventfd when the cgroup goes away
    run_loop_until(
        &loop, [] { return false; }, 200ms);
    CHECK(reports == 0);
  }

  // The usage files are kept open between reads and the limit is read once per change
  // (usage_files.h): what is read must still be what the kernel holds now, and a program's
  // files must not outlive its cgroup.
  TEST_CASE_FIXTURE(CgroupFixture, "usage from kept files: live values, the kernel's limit") {
    auto open_fds = [] {
      std::size_t count = 0;
      for ([[maybe_unused]] const auto& entry :
           std::filesystem::directory_iterator("/proc/self/fd"))
        ++count;
      return count;
    };
    std::size_t before = open_fds();
    std::string name = make_program("kept", memory_limit(64 * MiB));
    auto first = backend->usage(name);
    REQUIRE(first.ok());
    CHECK(first->max == cgroup::ByteLimit{64 * MiB});
    CHECK(open_fds() == before + cgroup::UsageFiles::descriptors());
    // A limit written since: the next read has it, as the kernel holds it (rounded down to
    // whole pages), not as it was asked.
    REQUIRE(backend->apply(name, memory_limit(96 * MiB + 1000), Holds::anything).ok());
    auto second = backend->usage(name);
    REQUIRE(second.ok());
    CHECK(second->max == cgroup::ByteLimit{96 * MiB});
    // Removed: its files are closed; made again under the same name: read afresh.
    REQUIRE(backend->remove(name).ok());
    CHECK(open_fds() == before);
    REQUIRE(backend->create(name, memory_limit(32 * MiB)).ok());
    REQUIRE(backend->apply(name, memory_limit(32 * MiB), Holds::kernel_defaults).ok());
    auto third = backend->usage(name);
    REQUIRE(third.ok());
    CHECK(third->max == cgroup::ByteLimit{32 * MiB});
    // Removed behind the backend's back and made again: the files of the old cgroup read
    // ENODEV, and the new ones are opened instead.
    REQUIRE(::rmdir(backend->path_of(name).c_str()) == 0);
    REQUIRE(backend->create(name, memory_limit(48 * MiB)).ok());
    REQUIRE(backend->apply(name, memory_limit(48 * MiB), Holds::kernel_defaults).ok());
    auto fourth = backend->usage(name);
    REQUIRE(fourth.ok());
    CHECK(fourth->max == cgroup::ByteLimit{48 * MiB});
    CHECK(open_fds() == before + cgroup::UsageFiles::descriptors());
  }

  TEST_CASE_FIXTURE(CgroupFixture, "usage and peak follow what the processes touch") {
    std::string name = make_program("usage", memory_limit(128 * MiB));
    pid_t pid = spawn_in(backend->entry_files(name, {}), [] { return allocate_and_hold(24); });
    ExitWatch exit(&loop, pid);
    auto deadline = std::chrono::steady_clock::now() + 5s;
    cgroup::MemoryUsage usage;
    do {
      std::this_thread::sleep_for(20ms);
      auto read = backend->usage(name);
      REQUIRE(read.ok());
      usage = *read;
    } while (usage.current < 24 * MiB && std::chrono::steady_clock::now() < deadline);
    CHECK(usage.current >= 24 * MiB);
    REQUIRE(usage.peak.has_value());
    CHECK(*usage.peak >= usage.current);
    REQUIRE(usage.max.has_value());
    CHECK(*usage.max == 128 * MiB);
    auto procs = backend->processes(name);
    REQUIRE(procs.ok());
    CHECK(*procs == std::vector<pid_t>{pid});
  }

  TEST_CASE_FIXTURE(CgroupFixture,
                    "kill_all empties the cgroup, setsid and double-forked "
                    "children included") {
    std::string name = make_program("killall", memory_limit(64 * MiB));
    int pipe_fds[2];
    REQUIRE(::pipe(pipe_fds) == 0);
    pid_t pid = spawn_in(backend->entry_files(name, {}), [&]() -> int {
      // A daemon-like escape: a grandchild in a new session whose parent exits, and a
      // second-generation fork as well; each writes its pid for the test to check. The child
      // reaps the intermediate processes, then writes -1: after that exactly three remain.
      pid_t intermediates[2];
      for (int i = 0; i < 2; ++i) {
        intermediates[i] = ::fork();
        if (intermediates[i] == 0) {
          ::setsid();
          if (::fork() == 0) {
            pid_t me = ::getpid();
            (void)!::write(pipe_fds[1], &me, sizeof me);
            for (;;) ::pause();
          }
          ::_exit(0);
        }
      }
      for (pid_t intermediate : intermediates) ::waitpid(intermediate, nullptr, 0);
      pid_t done = -1;
      (void)!::write(pipe_fds[1], &done, sizeof done);
      for (;;) ::pause();
    });
    ::close(pipe_fds[1]);
    std::vector<pid_t> escaped;
    for (int i = 0; i < 3; ++i) {
      pid_t value = 0;
      REQUIRE(::read(pipe_fds[0], &value, sizeof value) == sizeof value);
      if (value > 0) escaped.push_back(value);
    }
    REQUIRE(escaped.size() == 2);
    ::close(pipe_fds[0]);
    auto before = backend->processes(name);
    REQUIRE(before.ok());
    CHECK(before->size() == 3);
    auto killed = backend->kill_all(name);
    REQUIRE_MESSAGE(killed.ok(), (killed.ok() ? "" : killed.error().message));
    auto after = backend->processes(name);
    REQUIRE(after.ok());
    CHECK(after->empty());
    CHECK(WTERMSIG(wait_exit(pid)) == SIGKILL);
    for (pid_t child : escaped) CHECK_FALSE(is_alive(child));  // reparented to init and reaped
  }

  TEST_CASE_FIXTURE(CgroupFixture,
                    "remove kills what is left and deletes the cgroup; "
                    "existing_programs finds leftovers") {
    std::string left = make_program("leftover", memory_limit(64 * MiB));
    pid_t pid = spawn_in(backend->entry_files(left, {}), [] { return allocate_and_hold(1); });
    auto listed = backend->existing_programs();
    REQUIRE(listed.ok());
    CHECK(std::find(listed->begin(), listed->end(), left) != listed->end());
    auto removed = backend->remove(left);
    REQUIRE_MESSAGE(removed.ok(), (removed.ok() ? "" : removed.error().message));
    CHECK(WTERMSIG(wait_exit(pid)) == SIGKILL);
    CHECK_FALSE(cgroup::files::exists(backend->path_of(left)));
    listed = backend->existing_programs();
    REQUIRE(listed.ok());
    CHECK(std::find(listed->begin(), listed->end(), left) == listed->end());
    CHECK(backend->remove(left).ok());  // removing twice is fine
  }

  // The limit files of a program's cgroup(s), by hierarchy and name, as the kernel shows them.
  std::map<std::string, std::string> limit_files(cgroup::Backend & backend,
                                                 const std::string& name) {
    static const char* const kFiles[] = {"memory.limit_in_bytes",
                                         "memory.memsw.limit_in_bytes",
                                         "memory.soft_limit_in_bytes",
                                         "memory.swappiness",
                                         "memory.max",
                                         "memory.high",
                                         "memory.swap.max",
                                         "memory.oom.group",
                                         "pids.max"};
    std::map<std::string, std::string> found;
    auto entries = backend.entry_files(name, {});
    for (std::size_t i = 0; i < entries.size(); ++i) {
      std::string dir = entries[i].substr(0, entries[i].rfind('/'));
      for (const char* file : kFiles)
        if (auto text = read_file(dir + "/" + file)) found[std::to_string(i) + "/" + file] = *text;
    }
    return found;
  }

  TEST_CASE_FIXTURE(CgroupFixture,
                    "a new cgroup given only what differs from the kernel's "
                    "defaults ends up as one given every limit") {
    cgroup::Limits none;
    cgroup::Limits one = memory_limit(48 * MiB);
    cgroup::Limits all = memory_limit(40 * MiB);
    all.memory.high = 32 * MiB;
    all.memory.swap_max = 16 * MiB;
    all.memory.swappiness = 7;
    all.pids_max = 33;
    for (const cgroup::Limits* limits : {&none, &one, &all}) {
      std::string quick = unique_name("quick"), full = unique_name("full");
      auto made = backend->create(quick, *limits);
      REQUIRE(made.ok());
      created.push_back(quick);
      CHECK(*made);  // new: the short way is taken
      REQUIRE(backend->apply(quick, *limits, Holds::kernel_defaults).ok());
      REQUIRE(backend->create(full, *limits).ok());
      created.push_back(full);
      REQUIRE(backend->apply(full, *limits, Holds::anything).ok());
      auto quick_files = limit_files(*backend, quick);
      CHECK(quick_files.size() >= 3);
      CHECK(quick_files == limit_files(*backend, full));
      // And made a second time, the cgroup is not new: everything gets written.
      auto again = backend->create(quick, *limits);
      REQUIRE(again.ok());
      CHECK_FALSE(*again);
    }
  }

  TEST_CASE_FIXTURE(CgroupFixture, "limits change on a live cgroup without touching its process") {
    std::string name = make_program("live", memory_limit(64 * MiB));
    pid_t pid = spawn_in(backend->entry_files(name, {}), [] { return allocate_and_hold(4); });
    cgroup::Limits raised = memory_limit(96 * MiB);
    raised.pids_max = 50;
    auto applied = backend->apply(name, raised, Holds::anything);
    REQUIRE(applied.ok());
    auto usage = backend->usage(name);
    REQUIRE(usage.ok());
    CHECK(usage->max == cgroup::ByteLimit{96 * MiB});
    CHECK(is_alive(pid));
    CHECK(*backend->processes(name) == std::vector<pid_t>{pid});
    REQUIRE(backend->apply(name, cgroup::Limits{}, Holds::anything).ok());  // no limit at all
    usage = backend->usage(name);
    REQUIRE(usage.ok());
    CHECK_FALSE(usage->max.has_value());
    ::kill(pid, SIGKILL);
    wait_exit(pid);
  }

  TEST_CASE_FIXTURE(CgroupFixture, "pids_max stops a fork bomb at the limit") {
    cgroup::Limits limits = memory_limit(64 * MiB);
    limits.pids_max = 5;
    std::string name = make_program("forks", limits);
    int pipe_fds[2];
    REQUIRE(::pipe(pipe_fds) == 0);
    pid_t pid = spawn_in(backend->entry_files(name, limits), [&]() -> int {
      int started = 0;
      for (int i = 0; i < 20; ++i) {
        pid_t child = ::fork();
        if (child == 0) {
          for (;;) ::pause();
        }
        if (child > 0) ++started;
      }
      (void)!::write(pipe_fds[1], &started, sizeof started);
      for (;;) ::pause();
    });
    ::close(pipe_fds[1]);
    int started = -1;
    REQUIRE(::read(pipe_fds[0], &started, sizeof started) == sizeof started);
    ::close(pipe_fds[0]);
    CHECK(started == 4);  // the parent plus four children make five
    REQUIRE(backend->kill_all(name).ok());
    wait_exit(pid);
  }

  TEST_CASE_FIXTURE(CgroupFixture,
                    "one manager per cgroup root: a second one is refused, "
                    "and the root is free again once the first is gone") {
    auto second = cgroup::open_backend(private_layout(), "auto");
    REQUIRE_FALSE(second.ok());
    CHECK(second.error().code == EBUSY);
    CHECK(second.error().message.find(
              "another climits-manager already uses the cgroup root " +
              backend->path_of("x").substr(
                  0, backend->path_of("x").size() - std::string("/program-x").size())) !=
          std::string::npos);
    backend.reset();
    auto third = cgroup::open_backend(private_layout(), "auto");
    REQUIRE(third.ok());
    backend = std::move(*third);
  }

  TEST_CASE("a 0 in cgroup.procs (a process outside our pid namespace) is never a pid to kill") {
    char path[] = "/tmp/climits-procs-XXXXXX";
    int fd = ::mkstemp(path);
    REQUIRE(fd >= 0);
    REQUIRE(::write(fd, "0\n123\n0\n", 8) == 8);
    ::close(fd);
    auto pids = cgroup::files::read_pids(path);
    ::unlink(path);
    REQUIRE(pids.ok());
    CHECK(*pids == std::vector<pid_t>{123});
  }

  TEST_CASE("an unprivileged manager gets an error that says why and what to do") {
    int pipe_fds[2];
    REQUIRE(::pipe(pipe_fds) == 0);
    std::string explicit_root = private_layout().memory.own_dir() + "/" + unique_name("unpriv");
    pid_t pid = ::fork();
    if (pid == 0) {
      if (::setgid(65534) != 0 || ::setuid(65534) != 0) ::_exit(3);
      auto opened = cgroup::open_backend(private_layout(), explicit_root);
      std::string message = opened.ok() ? "opened" : opened.error().message;
      (void)!::write(pipe_fds[1], message.data(), message.size());
      ::_exit(0);
    }
    ::close(pipe_fds[1]);
    std::string message;
    char buffer[512];
    ssize_t n;
    while ((n = ::read(pipe_fds[0], buffer, sizeof buffer)) > 0) message.append(buffer, n);
    ::close(pipe_fds[0]);
    CHECK(WEXITSTATUS(wait_exit(pid)) == 0);
    CHECK(message.find("cannot use cgroup root " + explicit_root) != std::string::npos);
    CHECK(message.find("Permission denied") != std::string::npos);
    CHECK(message.find("run it as root, or under systemd with Delegate=yes") != std::string::npos);
  }

}  // TEST_SUITE
