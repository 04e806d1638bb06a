// depends_on over the fake kernel: waiting and the three conditions, starts that bring their
// dependencies, stops that take their dependents first, shutdown in reverse order, restart:
// true, and reloads that change only depends_on.
#include <doctest/doctest.h>

#include <algorithm>
#include <csignal>

#include "fake_kernel.h"

using namespace climits;
using namespace climits::fake;
using supervisor::State;
using namespace std::chrono_literals;

namespace {

// Where in the recorded transitions `program` first entered `state` at or after `from`; -1
// if it did not.
int entered_at(const World& w, const std::string& program, State state, int from = 0) {
  for (int i = from; i < static_cast<int>(w.transitions.size()); ++i)
    if (w.transitions[i].program == program && w.transitions[i].to == state) return i;
  return -1;
}

// The journal line "signal PID 15" for the program's last process.
int stop_signal_line(World& w, const std::string& program) {
  return w.kernel.find("signal " + std::to_string(w.launcher.last_pid(program)) + " " +
                       std::to_string(SIGTERM));
}

std::vector<std::string> names(const std::vector<supervisor::ProgramRunner*>& runners) {
  std::vector<std::string> result;
  for (const auto* runner : runners) result.push_back(runner->program().name);
  return result;
}

}  // namespace

TEST_SUITE("dependencies") {
  TEST_CASE("a program waits until its dependency is ready; the others start at once") {
    World w;
    w.start(program_yaml("db", "    start: {settle: 200ms}\n") +
            program_yaml("web", "    depends_on: {db: ready}\n") + program_yaml("lone"));
    CHECK(w.runner("web").state() == State::waiting);
    CHECK(w.status("web").waiting_for == std::vector<std::string>{"db"});
    CHECK(w.runner("lone").state() == State::starting);
    CHECK(w.launcher.launches_of("web").empty());
    REQUIRE(w.wait_for("web", State::running));
    int db_ready = entered_at(w, "db", State::running);
    int web_starts = entered_at(w, "web", State::starting);
    REQUIRE(db_ready >= 0);
    CHECK(web_starts > db_ready);
    CHECK(w.status("web").waiting_for.empty());
  }

  TEST_CASE("started needs a live process; succeeded needs an exit 0 since the last start") {
    World w;
    w.start(program_yaml("db", "    start: {settle: 200ms}\n") +
            program_yaml("migrate", "    restart: {policy: never}\n    start: {settle: 0s}\n") +
            program_yaml("worker", "    depends_on: [db]\n") +
            program_yaml("web", "    depends_on: {migrate: succeeded}\n"));
    // db is starting: a worker that needs it started goes at once, before db is running.
    CHECK(w.runner("worker").state() == State::starting);
    CHECK(w.runner("web").state() == State::waiting);
    REQUIRE(w.wait_for("migrate", State::running));
    w.run_for(20ms);
    CHECK(w.runner("web").state() == State::waiting);  // running is not succeeded
    w.kernel.exit(w.launcher.last_pid("migrate"), 0);
    REQUIRE(w.wait_for("web", State::running));
    CHECK(entered_at(w, "web", State::starting) > entered_at(w, "migrate", State::exited));
  }

  TEST_CASE("a dependency that fails leaves its dependents waiting, and says for what") {
    World w;
    w.start(program_yaml("migrate", "    restart: {policy: never}\n    start: {settle: 0s}\n") +
            program_yaml("web", "    depends_on: {migrate: succeeded}\n"));
    REQUIRE(w.wait_for("migrate", State::running));
    w.kernel.exit(w.launcher.last_pid("migrate"), 3);
    REQUIRE(w.wait_for("migrate", State::exited));
    w.run_for(30ms);
    CHECK(w.runner("web").state() == State::waiting);
    CHECK(w.status("web").waiting_for == std::vector<std::string>{"migrate"});
    CHECK(w.launcher.launches_of("web").empty());
    // Its job run again, successfully this time: web goes.
    w.manager->start_program(w.runner("migrate"), "operator");
    REQUIRE(w.wait_for("migrate", State::running));
    w.kernel.exit(w.launcher.last_pid("migrate"), 0);
    REQUIRE(w.wait_for("web", State::running));
  }

  TEST_CASE("starting a program starts its dependencies first, even without autostart") {
    World w;
    w.start(
        program_yaml("db", "    autostart: false\n") +
        program_yaml("cache", "    autostart: false\n") +
        program_yaml("web", "    autostart: false\n    depends_on: {db: ready, cache: started}\n"));
    w.run_for(20ms);
    CHECK(w.runner("db").state() == State::stopped);
    auto started = w.manager->start_program(w.runner("web"), "operator");
    CHECK(names(started) == std::vector<std::string>{"db", "cache"});
    CHECK(w.runner("web").state() == State::waiting);
    REQUIRE(w.wait_for("web", State::running));
    CHECK(entered_at(w, "web", State::starting) > entered_at(w, "db", State::running));
  }

  TEST_CASE("stopping a program stops what needs it first, and names them") {
    World w;
    w.start(program_yaml("db") + program_yaml("web", "    depends_on: {db: ready}\n") +
            program_yaml("worker", "    depends_on: [web]\n") +
            program_yaml("report", "    depends_on: {db: succeeded}\n    autostart: false\n") +
            program_yaml("lone"));
    REQUIRE(w.wait_for("worker", State::running));
    REQUIRE(w.wait_for("lone", State::running));
    auto stopped = w.manager->stop_program(w.runner("db"), "operator");
    CHECK(names(stopped) == std::vector<std::string>{"worker", "web"});
    REQUIRE(w.wait_for("db", State::stopped));
    CHECK(w.runner("web").state() == State::stopped);
    CHECK(w.runner("worker").state() == State::stopped);
    CHECK(w.runner("lone").state() == State::running);
    // worker before web before db: each only once what needs it is down.
    int worker = stop_signal_line(w, "worker"), web = stop_signal_line(w, "web"),
        db = stop_signal_line(w, "db");
    REQUIRE(worker >= 0);
    CHECK(worker < web);
    CHECK(web < db);
    CHECK(w.kernel.find("exit " + std::to_string(w.launcher.last_pid("web"))) < db);
  }

  TEST_CASE("shutdown stops in reverse dependency order; independent programs at once") {
    World w;
    w.start(program_yaml("a") + program_yaml("b", "    depends_on: [a]\n") +
            program_yaml("c", "    depends_on: {b: ready}\n") + program_yaml("lone"));
    REQUIRE(w.wait_for("c", State::running));
    REQUIRE(w.wait_for("lone", State::running));
    REQUIRE(w.shut_down());
    int a = stop_signal_line(w, "a"), b = stop_signal_line(w, "b"), c = stop_signal_line(w, "c"),
        lone = stop_signal_line(w, "lone");
    REQUIRE(c >= 0);
    CHECK(c < b);
    CHECK(b < a);
    CHECK(lone < b);  // not held back by anything
  }

  TEST_CASE("restart: true restarts a dependent with its dependency, through its condition") {
    World w;
    w.start(program_yaml("db", "    start: {settle: 100ms}\n") +
            program_yaml("web", "    depends_on: {db: {condition: ready, restart: true}}\n") +
            program_yaml("plain", "    depends_on: {db: ready}\n"));
    REQUIRE(w.wait_for("web", State::running));
    REQUIRE(w.wait_for("plain", State::running));
    int plain = w.launcher.last_pid("plain");
    int mark = static_cast<int>(w.transitions.size());
    w.runner("db").restart("operator");
    REQUIRE(w.run_until([&] {
      return w.launcher.launches_of("web").size() == 2 && w.runner("web").state() == State::running;
    }));
    int db_ready = entered_at(w, "db", State::running, mark);
    REQUIRE(db_ready >= 0);
    CHECK(entered_at(w, "web", State::waiting, mark) >= 0);
    CHECK(entered_at(w, "web", State::starting, mark) > db_ready);
    // Without restart: true, a dependent is left alone.
    CHECK(w.launcher.last_pid("plain") == plain);
    CHECK(w.runner("plain").state() == State::running);
  }

  TEST_CASE("a reload that changes only depends_on restarts nothing, and may free a waiter") {
    World w;
    // db takes its time to be ready.
    w.start(program_yaml("db", "    start: {settle: 10m}\n") +
            program_yaml("web", "    depends_on: {db: ready}\n") + program_yaml("other"));
    REQUIRE(w.wait_for("other", State::running));
    CHECK(w.runner("web").state() == State::waiting);
    int other = w.launcher.last_pid("other"), db = w.launcher.last_pid("db");
    auto result = w.reload(program_yaml("db", "    start: {settle: 10m}\n") + program_yaml("web") +
                           program_yaml("other", "    depends_on: [web]\n"));
    CHECK(result.restarted.empty());
    CHECK(w.launcher.last_pid("other") == other);
    CHECK(w.launcher.last_pid("db") == db);
    REQUIRE(w.wait_for("web", State::running));
    CHECK(w.runner("db").state() == State::starting);
  }
}

TEST_SUITE("dependencies") {
  TEST_CASE(
      "a reload that replaces a dependent's terms, restarts its dependency and removes a "
      "program: transitions meanwhile see valid terms, and restart: true follows") {
    // web comes first in the file: it takes its new configuration before db restarts (and
    // before the index is rebuilt); the sanitizer build would catch terms read from the old one.
    World w;
    w.start(program_yaml("web", "    depends_on: {db: {condition: ready, restart: true}}\n") +
            program_yaml("db") + program_yaml("gone", "    depends_on: [db]\n"));
    REQUIRE(w.wait_for("web", State::running));
    REQUIRE(w.wait_for("gone", State::running));
    int web = w.launcher.last_pid("web");
    // Two dependencies where there was one: the vector the old terms lived in is freed.
    auto result = w.reload(
        program_yaml(
            "web", "    depends_on: {db: {condition: started, restart: true}, cache: started}\n") +
        program_yaml("db", "    environment: {CHANGED: \"1\"}\n") + program_yaml("cache"));
    CHECK(result.restarted == std::vector<std::string>{"db"});
    CHECK(result.added == std::vector<std::string>{"cache"});
    CHECK(result.removed == std::vector<std::string>{"gone"});
    REQUIRE(w.run_until([&] {
      return w.launcher.launches_of("db").size() == 2 && w.launcher.last_pid("web") != web &&
             w.runner("web").state() == State::running;
    }));
  }
}
