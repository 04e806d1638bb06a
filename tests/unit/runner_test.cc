// One program's lifecycle, driven through a real Manager (or a ProgramRunner alone) on a real
// uv loop, against the fake kernel: restarts and their count, restart and stop sequences,
// stuck processes, spawn errors, the replacement staged at an OOM kill.
#include <doctest/doctest.h>

#include <csignal>

#include "config/loader.h"
#include "fake_kernel.h"

using namespace climits;
using namespace climits::fake;
using supervisor::ExitKind;
using supervisor::State;
using namespace std::chrono_literals;

namespace {

std::string restart_yaml(const std::string& policy, const std::string& initial, int burst) {
  return "    restart: {policy: " + policy + ", backoff: {initial: " + initial +
         ", max: 1s, jitter: 0}, limit: {burst: " + std::to_string(burst) + ", interval: 60s}}\n";
}

// Index in the journal of the exact line, or -1.
int line(const FakeKernel& kernel, const std::string& text) {
  for (int i = 0; i < static_cast<int>(kernel.journal.size()); ++i)
    if (kernel.journal[i] == text) return i;
  return -1;
}

std::string exit_line(int pid, int status, int signal) {
  return "exit " + std::to_string(pid) + " " + std::to_string(status) + "/" +
         std::to_string(signal);
}

std::string signal_line(int pid, int signal) {
  return "signal " + std::to_string(pid) + " " + std::to_string(signal);
}

bool contains(const std::vector<State>& states, State state) {
  return std::find(states.begin(), states.end(), state) != states.end();
}

}  // namespace

TEST_SUITE("runner") {
  TEST_CASE(
      "a failing program: starting, running, backoff, starting again: fatal at its start limit") {
    World w;
    w.start(program_yaml("app", restart_yaml("on-failure", "10ms", 2)));
    REQUIRE(w.wait_for("app", State::running));
    CHECK(w.entered("app") == std::vector<State>{State::starting, State::running});
    int first = w.launcher.last_pid("app");
    REQUIRE(first > 0);
    CHECK(w.status("app").pid == first);
    CHECK(w.status("app").restarts == 0);
    CHECK(w.kernel.listed("app", first));

    w.kernel.exit(first, 1);
    // The exit reaches the runner through the loop, never inside the call.
    CHECK(w.runner("app").state() == State::running);
    REQUIRE(w.run_until([&] { return w.launcher.launches_of("app").size() == 2; }));
    CHECK(w.status("app").restarts == 1);
    REQUIRE(w.status("app").last_exit.has_value());
    CHECK(w.status("app").last_exit->kind == ExitKind::exited);
    CHECK(w.status("app").last_exit->code == 1);
    CHECK(w.entered("app") == std::vector<State>{State::starting, State::running, State::ending,
                                                 State::backoff, State::starting});

    REQUIRE(w.wait_for("app", State::running));
    int second = w.launcher.last_pid("app");
    CHECK(second != first);
    w.kernel.exit(second, 1);
    REQUIRE(w.run_until([&] { return w.launcher.launches_of("app").size() == 3; }));
    CHECK(w.status("app").restarts == 2);

    REQUIRE(w.wait_for("app", State::running));
    w.kernel.exit(w.launcher.last_pid("app"), 1);
    // A third restart inside the interval would pass the burst of 2.
    REQUIRE(w.wait_for("app", State::fatal));
    CHECK(w.shown("app") == State::fatal);
    CHECK(w.launcher.launches_of("app").size() == 3);
    CHECK(w.status("app").restarts == 2);
    CHECK_FALSE(w.status("app").pid.has_value());
    CHECK(w.kernel.cgroup("app").pids.empty());
    w.run_for(30ms);  // longer than the backoff: nothing starts by itself
    CHECK(w.launcher.launches_of("app").size() == 3);
    CHECK(w.runner("app").state() == State::fatal);
  }

  TEST_CASE("restarts counts since the last operator start (start of a fatal program, restart)") {
    World w;
    w.start(program_yaml("app", restart_yaml("on-failure", "10ms", 2)));
    for (int run = 0; run < 3; ++run) {
      REQUIRE(w.wait_for("app", State::running));
      w.kernel.exit(w.launcher.last_pid("app"), 1);
      REQUIRE(w.run_until([&] { return w.runner("app").state() != State::running; }));
    }
    REQUIRE(w.wait_for("app", State::fatal));
    CHECK(w.status("app").restarts == 2);

    // An operator's start of the fatal program: the count and the history start again.
    w.runner("app").start("operator");
    CHECK(w.runner("app").state() == State::starting);
    CHECK(w.status("app").restarts == 0);
    CHECK(w.launcher.launches_of("app").size() == 4);
    REQUIRE(w.wait_for("app", State::running));
    w.kernel.exit(w.launcher.last_pid("app"), 1);
    // With the history kept, this exit would be over the burst (fatal); cleared, it restarts.
    REQUIRE(w.run_until([&] { return w.launcher.launches_of("app").size() == 5; }));
    CHECK(w.status("app").restarts == 1);
    REQUIRE(w.wait_for("app", State::running));

    // An operator's restart resets it too.
    int before = w.launcher.last_pid("app");
    w.runner("app").restart("operator");
    REQUIRE(w.run_until([&] {
      return w.launcher.launches_of("app").size() == 6 && w.runner("app").state() == State::running;
    }));
    CHECK(w.launcher.last_pid("app") != before);
    CHECK(w.status("app").restarts == 0);
    // The stop part of a restart is not an exit the rules judge.
    CHECK(w.status("app").last_exit->kind == ExitKind::signal);
    CHECK(w.status("app").last_exit->signal == SIGTERM);
  }

  TEST_CASE(
      "restart of a running program: stop signal, exit, cgroup emptied, new launch: never "
      "stopped") {
    World w;
    w.start(program_yaml("app"));
    REQUIRE(w.wait_for("app", State::running));
    int first = w.launcher.last_pid("app");
    // A daemonized child of the first run: it must be gone before the next run starts.
    int child = w.kernel.add_leftover("app", Behaviour{});
    std::size_t mark = w.transitions.size();

    w.runner("app").restart("operator");
    CHECK(w.runner("app").state() == State::restarting);
    CHECK(w.shown("app") == State::stopping);
    REQUIRE(w.run_until([&] {
      return w.launcher.launches_of("app").size() == 2 && w.runner("app").state() == State::running;
    }));
    int second = w.launcher.last_pid("app");
    CHECK(w.launcher.was_signalled(first, SIGTERM));
    int signalled = line(w.kernel, signal_line(first, SIGTERM));
    int exited = line(w.kernel, exit_line(first, 0, SIGTERM));
    int child_gone = line(w.kernel, exit_line(child, 0, SIGKILL));
    int launched = line(w.kernel, "launch app " + std::to_string(second));
    CHECK(signalled >= 0);
    CHECK(exited > signalled);
    CHECK(w.kernel.find("kill_pass app", exited) > exited);
    CHECK(child_gone > exited);
    CHECK(launched > child_gone);
    CHECK_FALSE(w.kernel.listed("app", child));
    CHECK(w.kernel.cgroup("app").pids == std::vector<int>{second});

    std::vector<State> during;
    for (std::size_t i = mark; i < w.transitions.size(); ++i) during.push_back(w.transitions[i].to);
    CHECK(contains(during, State::restarting));
    CHECK_FALSE(contains(during, State::stopped));
    CHECK(during.back() == State::running);
    CHECK(w.status("app").pid == second);

    SUBCASE("a start while stopping ends running, not stopped") {
      w.launcher.set_behaviour("app", Behaviour::ignoring_term());
      w.runner("app").restart("operator");  // a run that ignores SIGTERM
      REQUIRE(w.run_until([&] {
        return w.launcher.launches_of("app").size() == 3 &&
               w.runner("app").state() == State::running;
      }));
      int stubborn = w.launcher.last_pid("app");
      mark = w.transitions.size();
      w.runner("app").stop("operator");
      CHECK(w.runner("app").state() == State::stopping);
      w.runner("app").start("operator");
      CHECK(w.runner("app").state() == State::restarting);
      CHECK(w.shown("app") == State::stopping);
      // SIGTERM is ignored: the stop timeout kills the cgroup, then the start follows.
      REQUIRE(w.run_until([&] {
        return w.launcher.launches_of("app").size() == 4 &&
               w.runner("app").state() == State::running;
      }));
      CHECK(w.launcher.was_signalled(stubborn, SIGTERM));
      CHECK(line(w.kernel, exit_line(stubborn, 0, SIGKILL)) >= 0);
      during.clear();
      for (std::size_t i = mark; i < w.transitions.size(); ++i)
        during.push_back(w.transitions[i].to);
      CHECK(during.front() == State::stopping);
      CHECK(contains(during, State::restarting));
      CHECK_FALSE(contains(during, State::stopped));
      CHECK(w.shown("app") == State::running);
    }
  }

  TEST_CASE("a stop that SIGTERM does not end: stop timeout, the cgroup killed, stopped") {
    World w;
    w.launcher.set_behaviour("app", Behaviour::ignoring_term());
    w.start(program_yaml("app"));
    REQUIRE(w.wait_for("app", State::running));
    int pid = w.launcher.last_pid("app");
    w.runner("app").stop("operator");
    CHECK(w.shown("app") == State::stopping);
    REQUIRE(w.wait_for("app", State::stopped));
    int term = line(w.kernel, signal_line(pid, SIGTERM));
    int kill = line(w.kernel, signal_line(pid, SIGKILL));
    CHECK(term >= 0);
    CHECK(kill > term);
    CHECK(w.kernel.find("kill_pass app 1", term) > term);
    CHECK(line(w.kernel, exit_line(pid, 0, SIGKILL)) > kill);
    CHECK(w.kernel.cgroup("app").pids.empty());
    CHECK_FALSE(w.status("app").pid.has_value());
    CHECK(w.entered("app").back() == State::stopped);
  }

  TEST_CASE("a frozen leftover keeps its program stopping: the loop serves the others meanwhile") {
    World w;
    w.launcher.set_behaviour("crashy", Behaviour::exiting_at_once(1));
    w.start(program_yaml("stuck") +
            program_yaml("crashy", restart_yaml("on-failure", "10ms", 1000)));
    REQUIRE(w.wait_for("stuck", State::running));
    int main_pid = w.launcher.last_pid("stuck");
    int frozen = w.kernel.add_leftover("stuck", Behaviour::frozen_one());
    std::size_t stopped_with = 99;
    w.on_transition = [&](const World::Seen& seen) {
      if (seen.program == "stuck" && seen.to == State::stopped)
        stopped_with = w.kernel.cgroup("stuck").pids.size();
    };

    w.runner("stuck").stop("operator");
    REQUIRE(w.run_until([&] { return !w.kernel.listed("stuck", main_pid); }));
    int restarts_before = w.status("crashy").restarts;
    int passes_before = w.kernel.count("kill_pass stuck");
    bool always_stopping = true;
    int status_calls = 0;
    REQUIRE(w.run_until([&] {
      auto all = w.manager->status();  // answers while the program cannot be emptied
      ++status_calls;
      for (const auto& status : all)
        if (status.name == "stuck" && status.state != State::stopping) always_stopping = false;
      int restarts = 0;
      for (const auto& status : all)
        if (status.name == "crashy") restarts = status.restarts;
      return restarts >= restarts_before + 5 &&
             w.kernel.count("kill_pass stuck") >= passes_before + 3;
    }));
    CHECK(always_stopping);
    CHECK(status_calls > 0);
    CHECK(w.shown("stuck") == State::stopping);
    CHECK(w.kernel.listed("stuck", frozen));
    CHECK(w.kernel.process(frozen)->pending_signal == SIGKILL);
    CHECK(stopped_with == 99);  // not reached

    w.kernel.thaw(frozen);
    REQUIRE(w.wait_for("stuck", State::stopped));
    CHECK(stopped_with == 0);
    CHECK(w.kernel.cgroup("stuck").pids.empty());
    CHECK(w.shown("stuck") == State::stopped);
  }

  TEST_CASE(
      "a launch that fails: spawn errors through backoff to fatal, one transition at a time") {
    // A ProgramRunner alone, with its own RunnerContext.
    World w;
    auto loaded = config::load_config_text(
        "programs:\n" + program_yaml("app", restart_yaml("on-failure", "0", 3)), "test.yaml",
        "/tmp");
    REQUIRE(loaded.config.has_value());
    struct Step {
      State from, to;
    };
    std::vector<Step> steps;
    int depth = 0, deepest = 0;
    supervisor::RunnerContext context{w.loop(), w.backend, w.launcher,
                                      [&](const supervisor::ProgramRunner&, State from, State to) {
                                        steps.push_back({from, to});
                                        deepest = std::max(deepest, depth);
                                      }};
    w.launcher.fail_next(100, "/bin/fake: No such file or directory");
    {
      supervisor::ProgramRunner runner(context, loaded.config->programs.front());
      REQUIRE(runner.prepare().ok());
      ++depth;
      runner.start("test");
      --depth;
      REQUIRE(run_loop_until(
          w.loop(), [&] { return runner.state() == State::fatal; }, 10s));
      // 1 start + 3 restarts; the 4th restart would pass the burst of 3.
      CHECK(w.launcher.attempts == 4);
      CHECK(w.launcher.launches.empty());
      const std::vector<State> expected = {State::starting, State::ending, State::backoff,
                                           State::starting, State::ending, State::backoff,
                                           State::starting, State::ending, State::backoff,
                                           State::starting, State::ending, State::fatal};
      std::vector<State> to;
      for (const auto& step : steps) to.push_back(step.to);
      CHECK(to == expected);
      // Each transition starts where the last ended: none ran inside another.
      for (std::size_t i = 1; i < steps.size(); ++i) CHECK(steps[i].from == steps[i - 1].to);
      auto status = runner.status();
      CHECK(status.state == State::fatal);
      CHECK(status.restarts == 3);
      REQUIRE(status.last_exit.has_value());
      CHECK(status.last_exit->kind == ExitKind::spawn_error);
      CHECK(std::string(supervisor::exit_kind_name(status.last_exit->kind)) == "spawn-error");
      CHECK(status.last_exit->detail.find("No such file") != std::string::npos);
      CHECK_FALSE(status.pid.has_value());
    }
  }

  TEST_CASE("the replacement staged at an OOM kill") {
    World w;
    // oom_policy continue: the kernel's victim alone decides what happens to the main process.
    w.start(program_yaml("app", restart_yaml("on-oom", "0", 100) +
                                    "    memory: {max: 64M, oom_policy: continue}\n"));
    REQUIRE(w.wait_for("app", State::running));
    int main_pid = w.launcher.last_pid("app");
    std::size_t stopped_with = 99;
    w.on_transition = [&](const World::Seen& seen) {
      if (seen.program == "app" && seen.to == State::stopped)
        stopped_with = w.kernel.cgroup("app").pids.size();
    };

    SUBCASE("adopted when the victim was the main process") {
      w.kernel.oom_event("app");
      REQUIRE(w.run_until([&] { return w.launcher.launches.size() == 2; }));
      auto staged = w.launcher.launches.back();
      CHECK(staged.gate == supervisor::Gate::held);
      CHECK(w.kernel.listed("app", staged.pid));
      CHECK(w.status("app").pid == main_pid);
      CHECK(w.launcher.gates_opened.empty());

      w.kernel.signal(main_pid, SIGKILL);  // the kernel's victim
      REQUIRE(w.run_until([&] { return !w.launcher.gates_opened.empty(); }));
      CHECK(w.launcher.gates_opened == std::vector<int>{staged.pid});
      CHECK(w.status("app").pid == staged.pid);
      CHECK(w.runner("app").staged_runs() == 1);
      CHECK(w.launcher.launches.size() == 2);  // no other launch
      CHECK(w.kernel.alive(staged.pid));
      CHECK(w.status("app").restarts == 1);
      CHECK(w.status("app").oom_kills == 1);
      REQUIRE(w.status("app").last_exit.has_value());
      CHECK(w.status("app").last_exit->kind == ExitKind::oom_killed);
      REQUIRE(w.wait_for("app", State::running));
      CHECK(w.status("app").pid == staged.pid);
    }

    SUBCASE("a stop while staged: it dies with the run, stopped once the cgroup is empty") {
      w.kernel.oom_event("app");
      REQUIRE(w.run_until([&] { return w.launcher.launches.size() == 2; }));
      int staged = w.launcher.launches.back().pid;
      w.runner("app").stop("operator");
      REQUIRE(w.wait_for("app", State::stopped));
      CHECK(stopped_with == 0);
      CHECK(line(w.kernel, signal_line(staged, SIGKILL)) >= 0);
      CHECK_FALSE(w.kernel.listed("app", staged));
      CHECK(w.launcher.gates_opened.empty());
      CHECK(w.runner("app").staged_runs() == 0);
      CHECK(w.launcher.launches.size() == 2);
    }

    SUBCASE(
        "a stop while the staged one waits for a frozen leftover: killed, forgotten, waited for") {
      int frozen = w.kernel.add_leftover("app", Behaviour::frozen_one());
      w.kernel.oom_event("app");
      REQUIRE(w.run_until([&] { return w.launcher.launches.size() == 2; }));
      int staged = w.launcher.launches.back().pid;
      w.kernel.signal(main_pid, SIGKILL);
      // The exit is judged (restart at once), the leftover is being killed, the staged one spared.
      REQUIRE(w.run_until([&] {
        return w.runner("app").state() == State::ending && w.kernel.count("kill_pass app") >= 2;
      }));
      CHECK(w.shown("app") == State::stopping);
      CHECK(w.kernel.alive(staged));
      CHECK_FALSE(w.launcher.was_signalled(staged, SIGKILL));

      w.runner("app").stop("operator");
      CHECK(w.runner("app").state() == State::stopping);
      CHECK(w.launcher.was_signalled(staged, SIGKILL));
      CHECK(w.launcher.was_forgotten(staged));
      REQUIRE(w.run_until([&] { return !w.kernel.listed("app", staged); }));
      CHECK(w.runner("app").state() == State::stopping);  // the leftover is still there
      CHECK(stopped_with == 99);

      w.kernel.thaw(frozen);
      REQUIRE(w.wait_for("app", State::stopped));
      CHECK(stopped_with == 0);
      CHECK(w.launcher.gates_opened.empty());
      CHECK(w.runner("app").staged_runs() == 0);
      CHECK(w.launcher.launches.size() == 2);
      CHECK(w.launcher.unreaped() == 0);
    }
  }

  // The real kernel takes a dead process off cgroup.procs at once; libuv reports its exit when
  // it reads its SIGCHLD, which can be after the emptier has seen the cgroup empty (timers run
  // before I/O in a loop iteration). A replacement staged at an OOM kill and then killed by the
  // emptying of a restart must not be taken for the next run.
  TEST_CASE("a restart while staged starts a fresh run when the helper's exit is reported late") {
    World w;
    w.start(program_yaml(
        "app", restart_yaml("on-oom", "0", 100) + "    memory: {oom_policy: continue}\n"));
    REQUIRE(w.wait_for("app", State::running));
    int main_pid = w.launcher.last_pid("app");
    w.kernel.oom_event("app");
    REQUIRE(w.run_until([&] { return w.launcher.launches.size() == 2; }));
    int staged = w.launcher.launches.back().pid;
    w.kernel.hold_report(staged);

    w.runner("app").restart("operator");
    REQUIRE(w.run_until([&] { return !w.kernel.listed("app", staged); }));
    w.run_for(30ms);  // the program goes on with an empty cgroup; the report is still due
    w.kernel.release_report(staged);
    REQUIRE(w.run_until([&] {
      auto state = w.runner("app").state();
      return supervisor::at_rest(state) ||
             (state == State::running && w.launcher.launches.size() == 3);
    }));
    CHECK(w.runner("app").state() == State::running);
    CHECK(std::find(w.launcher.gates_opened.begin(), w.launcher.gates_opened.end(), staged) ==
          w.launcher.gates_opened.end());
    CHECK(w.runner("app").staged_runs() == 0);
    CHECK(w.launcher.launches.size() == 3);
    CHECK(w.status("app").pid == w.launcher.last_pid("app"));
    CHECK(w.status("app").pid != main_pid);
    CHECK(w.status("app").restarts == 0);
  }

  // oom_policy (docs/supervision.md): what an OOM kill of another process of the cgroup (a worker)
  // does while the main process lives. The fake kernel's oom_event() counts a kill and kills
  // nothing: the victim here is never the main process.
  TEST_CASE(
      "oom_policy: continue counts, stop stops politely, kill kills; the exit is an OOM kill") {
    World w;
    auto start = [&](const std::string& policy, const std::string& restart = "on-oom") {
      w.start(program_yaml("app", restart_yaml(restart, "100ms", 100) +
                                      "    memory: {max: 64M, oom_policy: " + policy + "}\n"));
      REQUIRE(w.wait_for("app", State::running));
    };

    SUBCASE("continue: counted, dated, nothing else") {
      start("continue");
      int main_pid = w.launcher.last_pid("app");
      auto before = std::chrono::system_clock::now();
      w.kernel.oom_event("app");
      REQUIRE(w.run_until([&] { return w.status("app").oom_kills == 1; }));
      w.run_for(20ms);
      CHECK(w.shown("app") == State::running);
      CHECK(w.status("app").pid == main_pid);
      CHECK_FALSE(w.launcher.was_signalled(main_pid, SIGTERM));
      REQUIRE(w.status("app").last_oom_at.has_value());
      CHECK(*w.status("app").last_oom_at >= before);
      // Its own exit later is judged as usual: exited 0 is not an OOM kill.
      w.kernel.exit(main_pid, 0);
      REQUIRE(w.wait_for("app", State::exited));
      CHECK(w.status("app").last_exit->kind == ExitKind::exited);
    }

    SUBCASE("stop: the stop signal, then the exit is an OOM kill and on-oom restarts it") {
      start("stop");
      int main_pid = w.launcher.last_pid("app");
      w.kernel.oom_event("app");
      REQUIRE(w.run_until([&] { return w.launcher.was_signalled(main_pid, SIGTERM); }));
      REQUIRE(w.run_until([&] { return w.launcher.launches.size() == 2; }));
      REQUIRE(w.wait_for("app", State::running));
      auto status = w.status("app");
      REQUIRE(status.last_exit.has_value());
      CHECK(status.last_exit->kind == ExitKind::oom_killed);
      CHECK(status.last_exit->signal == SIGTERM);
      CHECK(status.last_exit->describe() ==
            "oom-killed (another process of its cgroup; the main process then got signal "
            "SIGTERM)");
      CHECK(status.restarts == 1);
      CHECK(contains(w.entered("app"), State::backoff));
      CHECK_FALSE(w.launcher.was_signalled(main_pid, SIGKILL));
    }

    SUBCASE("stop: a main process that ignores the stop signal is killed at the stop timeout") {
      w.launcher.set_behaviour("app", Behaviour::ignoring_term());
      w.start(program_yaml("app", restart_yaml("on-oom", "100ms", 100) +
                                      "    stop: {timeout: 50ms}\n"
                                      "    memory: {oom_policy: stop}\n"));
      REQUIRE(w.wait_for("app", State::running));
      int main_pid = w.launcher.last_pid("app");
      w.kernel.oom_event("app");
      REQUIRE(w.run_until([&] { return w.launcher.launches.size() == 2; }));
      CHECK(w.launcher.was_signalled(main_pid, SIGTERM));
      CHECK(w.kernel.count("kill_pass app") >= 1);
      CHECK(w.status("app").last_exit->kind == ExitKind::oom_killed);
    }

    SUBCASE("stop: on-failure restarts it too, never leaves it exited, an operator's stop wins") {
      SUBCASE("on-failure") {
        start("stop", "on-failure");
        w.kernel.oom_event("app");
        REQUIRE(w.run_until([&] { return w.launcher.launches.size() == 2; }));
        CHECK(w.status("app").last_exit->kind == ExitKind::oom_killed);
      }
      SUBCASE("never") {
        start("stop", "never");
        w.kernel.oom_event("app");
        REQUIRE(w.wait_for("app", State::exited));
        CHECK(w.status("app").last_exit->kind == ExitKind::oom_killed);
        CHECK(w.launcher.launches.size() == 1);
      }
      SUBCASE("an operator's stop during the policy's stop") {
        w.launcher.set_behaviour("app", Behaviour::ignoring_term());
        w.start(program_yaml("app", restart_yaml("on-oom", "100ms", 100) +
                                        "    stop: {timeout: 50ms}\n"
                                        "    memory: {oom_policy: stop}\n"));
        REQUIRE(w.wait_for("app", State::running));
        w.kernel.oom_event("app");
        REQUIRE(w.run_until([&] { return w.runner("app").state() == State::oom_stopping; }));
        CHECK(w.shown("app") == State::stopping);
        w.runner("app").stop("operator");
        CHECK(w.runner("app").state() == State::stopping);
        // The stop timeout kills it; it is then stopped, not restarted: the operator's stop.
        REQUIRE(w.wait_for("app", State::stopped));
        CHECK(w.launcher.launches.size() == 1);
      }
    }

    SUBCASE("kill: the whole cgroup at once, the exit is an OOM kill") {
      start("kill");
      int main_pid = w.launcher.last_pid("app");
      int worker = w.kernel.add_leftover("app", Behaviour::ignoring_term());
      w.kernel.oom_event("app");
      REQUIRE(w.run_until([&] { return w.launcher.launches.size() == 2; }));
      CHECK_FALSE(w.launcher.was_signalled(main_pid, SIGTERM));
      CHECK(w.kernel.count("kill_pass app") >= 1);
      CHECK_FALSE(w.kernel.alive(worker));
      auto status = w.status("app");
      CHECK(status.last_exit->kind == ExitKind::oom_killed);
      CHECK(status.last_exit->signal == SIGKILL);
    }
  }

  // stress-ng --oomable: a worker is OOM-killed and the main process exits 0 by itself.
  TEST_CASE("oom_policy: under stop and kill, a main process ending by itself after an OOM kill") {
    for (const char* policy : {"stop", "kill", "continue"}) {
      World w;
      w.launcher.set_behaviour("app", Behaviour::ignoring_term());
      w.start(program_yaml("app", restart_yaml("on-oom", "100ms", 100) +
                                      "    memory: {oom_policy: " + std::string(policy) + "}\n"));
      REQUIRE(w.wait_for("app", State::running));
      int main_pid = w.launcher.last_pid("app");
      w.kernel.oom_event("app");
      w.kernel.exit(main_pid, 0);  // before the loop has seen the OOM event
      REQUIRE(w.run_until([&] {
        return w.launcher.launches.size() == 2 || w.runner("app").state() == State::exited;
      }));
      INFO(policy);
      auto status = w.status("app");
      REQUIRE(status.last_exit.has_value());
      if (std::string(policy) == "continue") {
        CHECK(status.last_exit->kind == ExitKind::exited);
        CHECK(w.shown("app") == State::exited);
      } else {
        CHECK(status.last_exit->kind == ExitKind::oom_killed);
        CHECK(status.last_exit->code == 0);
        CHECK(status.last_exit->describe() ==
              "oom-killed (another process of its cgroup; the main process then exited 0)");
      }
    }
  }

  TEST_CASE("an operator's signal: the main process, or every process; none without one") {
    World w;
    w.start(program_yaml("app", restart_yaml("on-failure", "10ms", 5)));
    REQUIRE(w.wait_for("app", State::running));
    int main_pid = w.launcher.last_pid("app");
    int child = w.kernel.add_leftover("app", Behaviour::ignoring_term());
    auto sent = w.runner("app").send_signal(SIGTERM, false);
    REQUIRE(sent.ok());
    CHECK(*sent == std::vector<pid_t>{main_pid});
    CHECK(w.kernel.find(signal_line(child, SIGTERM)) == -1);
    // The main process dies of it: an exit like any other, which the policy restarts.
    REQUIRE(w.run_until([&] { return w.launcher.launches_of("app").size() == 2; }));
    REQUIRE(w.wait_for("app", State::running));
    int second = w.launcher.last_pid("app");
    int other = w.kernel.add_leftover("app", Behaviour::ignoring_term());
    sent = w.runner("app").send_signal(SIGUSR1, true);
    REQUIRE(sent.ok());
    CHECK(*sent == std::vector<pid_t>{second, other});
    CHECK(w.kernel.find(signal_line(other, SIGUSR1)) >= 0);

    w.runner("app").stop("operator");
    REQUIRE(w.wait_for("app", State::stopped));
    for (bool all : {false, true}) {
      auto refused = w.runner("app").send_signal(SIGHUP, all);
      REQUIRE_FALSE(refused.ok());
      CHECK(refused.error().message == "no process to signal (it is stopped)");
    }
  }

  TEST_CASE("the last runs are kept for status NAME: newest first, with run lengths and pids") {
    World w;
    w.start(program_yaml("app", restart_yaml("on-failure", "10ms", 20)));
    std::vector<int> pids;
    for (int run = 0; run < 12; ++run) {
      REQUIRE(w.wait_for("app", State::running));
      pids.push_back(w.launcher.last_pid("app"));
      w.kernel.exit(pids.back(), run + 1);
      REQUIRE(w.run_until([&] { return w.launcher.launches_of("app").size() == pids.size() + 1; }));
    }
    auto detail = w.runner("app").detail();
    REQUIRE(detail.history.size() == supervisor::ExitHistory::kKept);
    for (std::size_t i = 0; i < detail.history.size(); ++i) {
      CHECK(detail.history[i].exit.kind == ExitKind::exited);
      CHECK(detail.history[i].exit.code == 12 - static_cast<int>(i));
      CHECK(detail.history[i].pid == pids[11 - i]);
      CHECK(detail.history[i].run_length.count() >= 0);
    }
    CHECK(detail.history[0].exit.at == detail.status.last_exit->at);
    CHECK(detail.desired_limits == detail.applied_limits);
  }

}  // TEST_SUITE("runner")
