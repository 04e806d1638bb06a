// Reload in-process: only what changed is touched (docs/reload.md).
#include <unistd.h>

#include <map>

#include "cgroup/cgroup_files.h"
#include "tests/supervisor/harness.h"
#include "util/file_io.h"
#include "util/text.h"

using namespace climits;
using namespace climits::test;
using supervisor::State;
using namespace std::chrono_literals;

namespace {

std::string sleeper(const std::string& name, const std::string& max = "64M",
                    const std::string& seconds = "1000", const std::string& extra = "") {
  return "  " + name + ":\n    command: [\"sleep\", \"" + seconds +
         "\"]\n"
         "    memory: {max: " +
         max +
         ", swap_max: 0}\n"
         "    start: {settle: 50ms}\n    stop: {timeout: 1s}\n"
         "    stdout: {file: \"null\"}\n    stderr: {file: \"null\"}\n" +
         extra;
}

std::string many(int count, int except = -1, const std::string& replacement = "") {
  std::string yaml;
  for (int i = 0; i < count; ++i)
    yaml += i == except ? replacement : sleeper("p" + std::to_string(i));
  return yaml;
}

std::map<std::string, pid_t> pids_of(SupervisorHarness& h) {
  std::map<std::string, pid_t> pids;
  for (const auto& status : h.manager().status())
    if (status.pid) pids[status.name] = *status.pid;
  return pids;
}

bool all_running(SupervisorHarness& h) {
  for (const auto& runner : h.manager().runners())
    if (runner->state() != State::running) return false;
  return true;
}

std::uint64_t number_in(const std::string& path) {
  auto value = cgroup::files::read_number(path);
  REQUIRE_MESSAGE(value.ok(), path);
  return *value;
}

std::string limit_file(SupervisorHarness& h, const std::string& name) {
  return h.backend().path_of(name) +
         (h.backend().version() == cgroup::Version::v1 ? "/memory.limit_in_bytes" : "/memory.max");
}

}  // namespace

TEST_SUITE("reload") {
  TEST_CASE("unchanged programs keep their PID; a limit change is applied live") {
    SupervisorHarness h;
    h.start(many(20));
    REQUIRE(h.run_until([&] { return all_running(h); }, 20s));
    auto before = pids_of(h);
    REQUIRE(before.size() == 20);
    auto result = h.reload(many(20, 7, sleeper("p7", "128M")));
    CHECK(result.unchanged == 19);
    CHECK(result.updated == std::vector<std::string>{"p7"});
    CHECK(result.restarted.empty());
    CHECK(result.failed.empty());
    CHECK(result.summary() == "0 added, 0 removed, 0 restarted, 1 updated live, 19 unchanged");
    h.run_until([] { return false; }, 200ms);
    CHECK(pids_of(h) == before);  // p7 included: limits need no restart
    CHECK(number_in(limit_file(h, "p7")) == 128u << 20);
    CHECK(h.runner("p7").status().memory_max_bytes == config::ByteLimit{128u << 20});
  }

  TEST_CASE("a command change restarts that program only, with the new command") {
    SupervisorHarness h;
    h.start(many(20));
    REQUIRE(h.run_until([&] { return all_running(h); }, 20s));
    auto before = pids_of(h);
    auto result = h.reload(many(20, 3, sleeper("p3", "64M", "2000")));
    CHECK(result.restarted == std::vector<std::string>{"p3"});
    CHECK(result.unchanged == 19);
    REQUIRE(h.run_until(
        [&] {
          return h.state("p3") == State::running && h.runner("p3").status().pid != before["p3"];
        },
        10s));
    CHECK(h.program_argv("p3") == std::vector<std::string>{"sleep", "2000"});
    auto after = pids_of(h);
    // Not a structured binding: clang 14 cannot capture one in doctest's lambdas.
    for (const auto& entry : before)
      if (entry.first != "p3") CHECK_MESSAGE(after[entry.first] == entry.second, entry.first);
    CHECK(after["p3"] != before["p3"]);
    CHECK(h.backend().processes("p3")->size() == 1);  // exactly one copy
  }

  TEST_CASE("programs added and removed; the removed one's cgroup goes away") {
    SupervisorHarness h;
    h.start(many(3));
    REQUIRE(h.run_until([&] { return all_running(h); }, 10s));
    auto before = pids_of(h);
    std::string removed_cgroup = h.backend().path_of("p2");
    auto result = h.reload(sleeper("p0") + sleeper("p1") + sleeper("fresh"));
    CHECK(result.added == std::vector<std::string>{"fresh"});
    CHECK(result.removed == std::vector<std::string>{"p2"});
    CHECK(h.manager().find("p2") == nullptr);
    REQUIRE(h.wait_for_state("fresh", State::running));
    REQUIRE(h.run_until([&] { return !cgroup::files::exists(removed_cgroup); }, 10s));
    CHECK(::kill(before["p2"], 0) != 0);
    auto after = pids_of(h);
    CHECK(after["p0"] == before["p0"]);
    CHECK(after["p1"] == before["p1"]);
  }

  TEST_CASE("restart and stop settings take effect at the next event, without a restart") {
    SupervisorHarness h;
    h.start(sleeper("p", "64M", "1000", "    restart: {policy: never}\n"));
    REQUIRE(h.wait_for_state("p", State::running));
    pid_t pid = *h.runner("p").status().pid;
    auto result = h.reload(sleeper("p", "64M", "1000",
                                   "    restart: {policy: always, backoff: "
                                   "{initial: 10ms, max: 10ms}}\n"));
    CHECK(result.updated == std::vector<std::string>{"p"});
    CHECK(result.restarted.empty());
    CHECK(*h.runner("p").status().pid == pid);
    ::kill(pid, SIGKILL);  // the next event: now restarted under the new policy
    REQUIRE(h.run_until(
        [&] { return h.state("p") == State::running && h.runner("p").status().pid != pid; }, 10s));
  }

  TEST_CASE("programs in backoff, fatal and stopped states take a reload correctly") {
    SupervisorHarness h;
    std::string crash =
        "    restart: {policy: always, backoff: {initial: 5s, max: 5s, jitter: 0}}\n";
    std::string flap =
        "    restart: {policy: always, backoff: {initial: 1ms, max: 1ms}, "
        "limit: {burst: 1, interval: 60s}}\n";
    h.start(sleeper("waiting", "64M", "0", crash) + sleeper("given-up", "64M", "0", flap) +
            sleeper("idle", "64M", "1000", "    autostart: false\n"));
    REQUIRE(h.wait_for_state("waiting", State::backoff));
    REQUIRE(h.wait_for_state("given-up", State::fatal));
    // Everything about how they run changes: none of them has a process to restart.
    auto result = h.reload(sleeper("waiting", "64M", "1000", crash) +
                           sleeper("given-up", "64M", "1000", flap) +
                           sleeper("idle", "64M", "2000", "    autostart: false\n"));
    CHECK(result.restarted.empty());
    CHECK(h.state("waiting") == State::backoff);  // restarts at the end of the wait, anew
    CHECK(h.state("given-up") == State::fatal);   // stays down until an operator starts it
    CHECK(h.state("idle") == State::stopped);     // not started by a reload
    h.runner("waiting").start("operator");
    REQUIRE(h.wait_for_state("waiting", State::running));
    CHECK(h.program_argv("waiting") == std::vector<std::string>{"sleep", "1000"});
  }

  TEST_CASE("a burst of reloads while stops are in progress converges on the last, one copy each") {
    SupervisorHarness h;
    // Programs that take 300 ms to stop, so that reloads arrive mid-stop.
    auto slow = [](const std::string& name, int version) {
      return "  " + name +
             ":\n    command: [\"sh\", \"-c\", \"trap 'sleep 0.3; exit 0' TERM; "
             "echo v" +
             std::to_string(version) +
             " >/dev/null; while :; do sleep 0.05; done\"]\n"
             "    start: {settle: 50ms}\n    stop: {timeout: 5s}\n"
             "    stdout: {file: \"null\"}\n    stderr: {file: \"null\"}\n";
    };
    auto config = [&](int version, bool with_b) {
      return slow("a", version) + (with_b ? slow("b", version) : "") + slow("c", 0);
    };
    h.start(config(0, true));
    REQUIRE(h.run_until([&] { return all_running(h); }, 10s));
    pid_t c_pid = *h.runner("c").status().pid;
    for (int version = 1; version <= 10; ++version) {
      h.reload(config(version, version % 2 == 0));  // b removed and added back, a changed
      h.run_until([] { return false; }, 30ms);
    }
    REQUIRE(h.run_until([&] { return all_running(h) && h.manager().runners().size() == 3; }, 20s));
    h.run_until([] { return false; }, 500ms);  // nothing left to happen
    CHECK(all_running(h));
    for (const char* name : {"a", "b", "c"}) {
      auto argv = h.program_argv(name);
      REQUIRE(argv.size() == 3);
      if (std::string(name) != "c")
        CHECK_MESSAGE(argv[2].find("echo v10 ") != std::string::npos, name);
      // One copy: one process whose parent is outside the cgroup (the program itself; its
      // sleep, or a fork about to become one, has it as parent).
      auto procs = h.backend().processes(name);
      REQUIRE(procs.ok());
      int roots = 0;
      for (pid_t pid : *procs) {
        auto stat = read_file("/proc/" + std::to_string(pid) + "/stat");
        if (!stat.ok()) continue;  // gone meanwhile
        auto fields = split_words(stat->substr(stat->rfind(')') + 2));
        pid_t parent = fields.size() > 1 ? static_cast<pid_t>(std::stol(fields[1])) : 0;
        if (std::find(procs->begin(), procs->end(), parent) == procs->end()) ++roots;
      }
      CHECK_MESSAGE(roots == 1, name);
      CHECK_MESSAGE(procs->size() <= 2, name);
    }
    CHECK(*h.runner("c").status().pid == c_pid);
  }

}  // TEST_SUITE
