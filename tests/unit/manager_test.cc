// The Manager over the fake kernel: desired vs applied limits across reloads, the reload
// groups, the second shutdown request.
#include <doctest/doctest.h>

#include <algorithm>
#include <csignal>
#include <map>

#include "fake_kernel.h"

using namespace climits;
using namespace climits::fake;
using supervisor::State;
using namespace std::chrono_literals;

namespace {

constexpr std::uint64_t MiB = 1ull << 20;

int line(const FakeKernel& kernel, const std::string& text) {
  for (int i = 0; i < static_cast<int>(kernel.journal.size()); ++i)
    if (kernel.journal[i] == text) return i;
  return -1;
}

std::vector<std::string> sorted(std::vector<std::string> names) {
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace

TEST_SUITE("manager") {
  TEST_CASE("a limit the kernel refuses stays pending until a start lands it") {
    World w;
    w.start(program_yaml("app", "    memory: {max: 128M}\n"));
    REQUIRE(w.wait_for("app", State::running));
    auto& cg = w.kernel.cgroup("app");
    CHECK(cg.limits.memory.max == 128 * MiB);
    int first = w.launcher.last_pid("app");
    cg.usage = 50 * MiB;
    cg.refuse_max_below_usage = true;  // cgroup v1: a max below the usage is EBUSY

    auto refused = w.reload(program_yaml("app", "    memory: {max: 16M}\n"));
    CHECK_FALSE(refused.ok());
    REQUIRE(refused.failed.size() == 1);
    CHECK(refused.failed[0].name == "app");
    CHECK(refused.failed[0].error.find("memory.max") != std::string::npos);
    CHECK(refused.updated.empty());
    CHECK(refused.unchanged == 0);
    auto status = w.status("app");
    REQUIRE(status.limits_pending.has_value());
    CHECK_FALSE(status.limits_pending->empty());
    CHECK(status.limits_pending->find("memory.max") != std::string::npos);
    CHECK(status.pid == first);
    CHECK(status.state == State::running);
    CHECK(cg.limits.memory.max == 128 * MiB);  // the kernel kept what it had
    CHECK(status.memory_max_bytes == 128 * MiB);

    // The same configuration again: nothing differs, but the pending limit is tried again.
    int refusals = cg.refusals;
    auto again = w.reload(program_yaml("app", "    memory: {max: 16M}\n"));
    CHECK_FALSE(again.ok());
    REQUIRE(again.failed.size() == 1);
    CHECK(again.failed[0].name == "app");
    CHECK(again.unchanged == 0);
    CHECK(cg.refusals == refusals + 1);
    CHECK(w.status("app").limits_pending.has_value());
    CHECK(w.status("app").pid == first);

    // An operator's restart: once the old run is gone (its memory with it) the limit lands,
    // at the new start.
    cg.usage = 0;
    w.runner("app").restart("operator");
    CHECK(w.status("app").limits_pending.has_value());  // not yet: the old run is still there
    REQUIRE(w.run_until([&] {
      return w.launcher.launches_of("app").size() == 2 && w.runner("app").state() == State::running;
    }));
    int second = w.launcher.last_pid("app");
    int gone = line(w.kernel, "exit " + std::to_string(first) + " 0/" + std::to_string(SIGTERM));
    int applied = line(w.kernel, "apply app max=" + std::to_string(16 * MiB));
    int launched = line(w.kernel, "launch app " + std::to_string(second));
    CHECK(gone >= 0);
    CHECK(applied > gone);
    CHECK(launched > applied);
    CHECK(cg.limits.memory.max == 16 * MiB);
    CHECK_FALSE(w.status("app").limits_pending.has_value());
    CHECK(w.status("app").memory_max_bytes == 16 * MiB);

    auto after = w.reload(program_yaml("app", "    memory: {max: 16M}\n"));
    CHECK(after.ok());
    CHECK(after.unchanged == 1);
    CHECK(after.updated.empty());
    CHECK(after.restarted.empty());
    CHECK(w.status("app").pid == second);
  }

  TEST_CASE("reload groups: every program in exactly one") {
    World w;
    const std::string a_old =
        program_yaml("a", "    environment: {X: \"1\"}\n    memory: {max: 64M}\n");
    const std::string a_new =
        program_yaml("a", "    environment: {X: \"2\"}\n    memory: {max: 32M}\n");
    const std::string b_old = program_yaml("b", "    memory: {max: 64M}\n");
    const std::string b_new = program_yaml("b", "    memory: {max: 32M}\n");
    const std::string c_old = program_yaml("c");
    const std::string c_new = program_yaml(
        "c",
        "    restart: {policy: always, backoff: {initial: 10ms, max: 10ms, jitter: 0}, "
        "limit: {burst: 100, interval: 60s}}\n");
    w.start(a_old + b_old + c_old + program_yaml("d") + program_yaml("e"));
    for (const char* name : {"a", "b", "c", "d", "e"}) REQUIRE(w.wait_for(name, State::running));
    std::map<std::string, int> pid;
    for (const char* name : {"a", "b", "c", "d", "e"}) pid[name] = w.launcher.last_pid(name);

    auto result = w.reload(a_new + b_new + c_new + program_yaml("e") + program_yaml("f"));
    CHECK(result.ok());
    CHECK(result.restarted == std::vector<std::string>{"a"});  // env and limit: restarted only
    CHECK(sorted(result.updated) == std::vector<std::string>{"b", "c"});
    CHECK(result.added == std::vector<std::string>{"f"});
    CHECK(result.removed == std::vector<std::string>{"d"});
    CHECK(result.unchanged == 1);
    std::map<std::string, int> seen;
    for (const auto* group : {&result.added, &result.removed, &result.restarted, &result.updated})
      for (const auto& name : *group) ++seen[name];
    for (const auto& failure : result.failed) ++seen[failure.name];
    CHECK(seen.size() + result.unchanged == 6);
    // Not structured bindings: clang 14 cannot capture one in doctest's lambdas.
    for (const auto& entry : seen) CHECK_MESSAGE(entry.second == 1, entry.first);
    CHECK(seen.count("e") == 0);
    CHECK(result.summary() == "1 added, 1 removed, 1 restarted, 2 updated live, 1 unchanged");

    // b: written to the live cgroup, same process. a: not written live.
    CHECK(w.kernel.cgroup("b").limits.memory.max == 32 * MiB);
    CHECK(w.kernel.cgroup("a").limits.memory.max == 64 * MiB);

    REQUIRE(w.run_until([&] {
      return w.launcher.launches_of("a").size() == 2 && w.runner("a").state() == State::running &&
             w.manager->find("f") != nullptr && w.runner("f").state() == State::running &&
             !w.kernel.exists("d");
    }));
    // a: the new run has the new environment, and its limit was written before it started.
    auto a_runs = w.launcher.launches_of("a");
    CHECK(a_runs[0].config.environment.at("X") == "1");
    CHECK(a_runs[1].config.environment.at("X") == "2");
    CHECK(w.kernel.cgroup("a").limits.memory.max == 32 * MiB);
    int a_gone =
        line(w.kernel, "exit " + std::to_string(pid["a"]) + " 0/" + std::to_string(SIGTERM));
    int a_applied = line(w.kernel, "apply a max=" + std::to_string(32 * MiB));
    CHECK(a_gone >= 0);
    CHECK(a_applied > a_gone);
    CHECK(line(w.kernel, "launch a " + std::to_string(a_runs[1].pid)) > a_applied);
    // d: stopped, its cgroup removed, forgotten by the manager.
    CHECK(w.manager->find("d") == nullptr);
    CHECK(w.launcher.was_signalled(pid["d"], SIGTERM));
    CHECK(w.kernel.cgroup("d").removals == 1);
    // b, c, e: the same processes.
    for (const char* name : {"b", "c", "e"}) {
      CHECK_MESSAGE(w.launcher.launches_of(name).size() == 1, name);
      CHECK_MESSAGE(w.status(name).pid == pid[name], name);
    }
    CHECK(w.manager->status().size() == 5);

    // c's new policy is in force: a clean exit is restarted (on-failure would leave it down).
    w.kernel.exit(pid["c"], 0);
    REQUIRE(w.run_until([&] { return w.launcher.launches_of("c").size() == 2; }));
    CHECK(w.status("c").restarts == 1);
  }

  TEST_CASE("a second shutdown request kills what is still stopping: done once, nothing left") {
    World w;
    w.launcher.set_behaviour("stubborn", Behaviour::ignoring_term());
    w.start(program_yaml("stubborn", "    stop: {timeout: 10m}\n") + program_yaml("plain"));
    REQUIRE(w.wait_for("stubborn", State::running));
    REQUIRE(w.wait_for("plain", State::running));
    int stubborn = w.launcher.last_pid("stubborn");

    int done = 0;
    w.manager->shutdown([&] { ++done; });
    CHECK(w.manager->shutting_down());
    REQUIRE(w.wait_for("plain", State::stopped));
    w.run_for(30ms);
    CHECK(done == 0);
    CHECK(w.runner("stubborn").state() == State::stopping);
    CHECK(w.kernel.alive(stubborn));
    CHECK(w.kernel.exists("plain"));  // removed only once all are down
    CHECK_FALSE(w.launcher.was_signalled(stubborn, SIGKILL));

    w.manager->shutdown([&] { done += 100; });  // a second request: its callback is not used
    REQUIRE(w.run_until([&] { return done != 0; }));
    CHECK(done == 1);
    CHECK(line(w.kernel, "signal " + std::to_string(stubborn) + " " + std::to_string(SIGKILL)) >=
          0);
    CHECK_FALSE(w.kernel.alive(stubborn));
    for (const auto& entry : w.kernel.cgroups()) {
      CHECK_MESSAGE(!entry.second.exists, entry.first);
      CHECK_MESSAGE(entry.second.pids.empty(), entry.first);
    }
    CHECK(w.manager->left_nothing_behind());
    CHECK(w.runner("stubborn").state() == State::stopped);

    w.manager->shutdown([&] { done += 1000; });
    w.run_for(30ms);
    CHECK(done == 1);
  }

  // docs/reload.md: "A reload never starts a program that is not running". A program an operator
  // is stopping, or whose exit the restart rules left down (still emptying its cgroup), is on its
  // way to stopped/exited.
  TEST_CASE("a reload that changes how a program runs does not start one being stopped") {
    World w;
    w.launcher.set_behaviour("app", Behaviour::ignoring_term());
    w.start(program_yaml("app", "    stop: {timeout: 10m}\n    environment: {X: \"1\"}\n"));
    REQUIRE(w.wait_for("app", State::running));
    int pid = w.launcher.last_pid("app");
    w.runner("app").stop("operator");
    auto result =
        w.reload(program_yaml("app", "    stop: {timeout: 10m}\n    environment: {X: \"2\"}\n"));
    CHECK(result.restarted.empty());
    w.kernel.signal(pid, SIGKILL);  // the stop ends
    REQUIRE(w.run_until([&] {
      auto state = w.runner("app").state();
      return state == State::stopped || state == State::running;
    }));
    CHECK(w.runner("app").state() == State::stopped);
    CHECK(w.launcher.launches.size() == 1);
  }

  TEST_CASE("a reload that changes how a program runs does not start one its policy left down") {
    World w;
    w.start(program_yaml("app", "    restart: {policy: never}\n    environment: {X: \"1\"}\n"));
    REQUIRE(w.wait_for("app", State::running));
    int frozen = w.kernel.add_leftover("app", Behaviour::frozen_one());
    w.kernel.exit(w.launcher.last_pid("app"), 0);
    REQUIRE(w.run_until([&] { return w.runner("app").state() == State::ending; }));
    auto result = w.reload(
        program_yaml("app", "    restart: {policy: never}\n    environment: {X: \"2\"}\n"));
    CHECK(result.restarted.empty());
    w.kernel.thaw(frozen);
    REQUIRE(w.run_until([&] {
      auto state = w.runner("app").state();
      return state == State::exited || state == State::running;
    }));
    CHECK(w.runner("app").state() == State::exited);
    CHECK(w.launcher.launches.size() == 1);
  }

}  // TEST_SUITE("manager")
