#include <doctest/doctest.h>

#include <csignal>

#include "supervisor/exit_info.h"
#include "supervisor/restart_tracker.h"

using namespace climits;
using namespace climits::supervisor;
using config::RestartPolicy;

namespace {
const auto kAt = std::chrono::system_clock::time_point{};
ExitInfo exited(int code) {
  return classify_exit(code, 0, std::nullopt, 0, kAt);
}
ExitInfo signaled(int sig) {
  return classify_exit(0, sig, std::nullopt, 0, kAt);
}
ExitInfo oom() {
  return classify_exit(0, SIGKILL, std::nullopt, 1, kAt);
}
ExitInfo spawn_error() {
  return classify_exit(127, 0, std::string("./x: No such file"), 0, kAt);
}
}  // namespace

TEST_CASE("exit classification") {
  CHECK(exited(0).kind == ExitKind::exited);
  CHECK(exited(3).code == 3);
  CHECK(signaled(SIGSEGV).kind == ExitKind::signal);
  CHECK(signaled(SIGSEGV).describe() == "signal SIGSEGV");
  CHECK(oom().kind == ExitKind::oom_killed);
  CHECK(std::string(exit_kind_name(oom().kind)) == "oom-killed");
  // kill -9 by someone, no OOM counted: a signal, not an OOM kill.
  CHECK(signaled(SIGKILL).kind == ExitKind::signal);
  // The OOM killer took another process; the main one ended by SIGTERM: a signal.
  CHECK(classify_exit(0, SIGTERM, std::nullopt, 1, kAt).kind == ExitKind::signal);
  CHECK(spawn_error().kind == ExitKind::spawn_error);
  CHECK(spawn_error().describe() == "spawn error: ./x: No such file");
}

TEST_CASE("every policy against every exit kind") {
  struct Row {
    RestartPolicy policy;
    bool clean, failure, signal, oom, spawn;
  };
  const Row rows[] = {
      {RestartPolicy::always, true, true, true, true, true},
      {RestartPolicy::on_failure, false, true, true, true, true},
      {RestartPolicy::on_oom, false, false, false, true, false},
      {RestartPolicy::never, false, false, false, false, false},
  };
  for (const auto& row : rows) {
    CHECK(policy_restarts(row.policy, exited(0)) == row.clean);
    CHECK(policy_restarts(row.policy, exited(2)) == row.failure);
    CHECK(policy_restarts(row.policy, signaled(SIGSEGV)) == row.signal);
    CHECK(policy_restarts(row.policy, oom()) == row.oom);
    CHECK(policy_restarts(row.policy, spawn_error()) == row.spawn);
  }
}

TEST_CASE("backoff doubles up to the cap, spread by jitter") {
  config::BackoffSettings b{Millis{1000}, Millis{5000}, 2.0, 0.0};
  CHECK(backoff_delay(b, 1, 0.5) == Millis{1000});
  CHECK(backoff_delay(b, 2, 0.5) == Millis{2000});
  CHECK(backoff_delay(b, 3, 0.5) == Millis{4000});
  CHECK(backoff_delay(b, 4, 0.5) == Millis{5000});
  CHECK(backoff_delay(b, 60, 0.5) == Millis{5000});  // no overflow far out
  b.jitter = 0.1;
  CHECK(backoff_delay(b, 1, 0.0) == Millis{900});
  CHECK(backoff_delay(b, 1, 0.5) == Millis{1000});
  CHECK(backoff_delay(b, 1, 0.999999) == Millis{1100});
  b.initial = Millis{0};
  CHECK(backoff_delay(b, 3, 0.7) == Millis{0});
}

TEST_CASE("consecutive restarts back off, and a long run resets the count") {
  config::RestartSettings s;
  s.policy = RestartPolicy::always;
  s.backoff = {Millis{100}, Millis{10000}, 2.0, 0.0};
  s.reset_after = Millis{5000};
  s.limit = {100, Millis{60000}};
  RestartTracker t(s);
  Millis now{0};
  auto d = t.after_exit(exited(1), Millis{10}, now += Millis{10}, 0.5);
  CHECK(d.what == RestartTracker::Decision::restart);
  CHECK(d.delay == Millis{100});
  CHECK(t.after_exit(exited(1), Millis{10}, now += Millis{200}, 0.5).delay == Millis{200});
  CHECK(t.after_exit(exited(1), Millis{10}, now += Millis{300}, 0.5).delay == Millis{400});
  auto after_stable = t.after_exit(exited(1), Millis{5000}, now += Millis{6000}, 0.5);
  CHECK(after_stable.delay == Millis{100});
  CHECK(after_stable.attempt == 1);
}

TEST_CASE("more than burst restarts inside interval gives up, and the window slides") {
  config::RestartSettings s;
  s.policy = RestartPolicy::on_failure;
  s.backoff = {Millis{0}, Millis{0}, 2.0, 0.0};
  s.limit = {3, Millis{1000}};
  RestartTracker t(s);
  CHECK(t.after_exit(exited(1), Millis{1}, Millis{0}, 0).what == RestartTracker::Decision::restart);
  CHECK(t.after_exit(exited(1), Millis{1}, Millis{100}, 0).what ==
        RestartTracker::Decision::restart);
  CHECK(t.after_exit(exited(1), Millis{1}, Millis{200}, 0).what ==
        RestartTracker::Decision::restart);
  CHECK(t.after_exit(exited(1), Millis{1}, Millis{300}, 0).what ==
        RestartTracker::Decision::give_up);
  // A second later the first restarts have left the window.
  CHECK(t.after_exit(exited(1), Millis{1}, Millis{1150}, 0).what ==
        RestartTracker::Decision::restart);
  t.reset();
  CHECK(t.consecutive() == 0);
  for (int i = 0; i < 3; ++i)
    CHECK(t.after_exit(exited(1), Millis{1}, Millis{1200 + i}, 0).what ==
          RestartTracker::Decision::restart);
}

TEST_CASE("a clean exit under on-failure stays down and does not count") {
  config::RestartSettings s;
  s.limit = {1, Millis{1000}};
  RestartTracker t(s);
  CHECK(t.after_exit(exited(0), Millis{1}, Millis{0}, 0).what ==
        RestartTracker::Decision::stay_down);
  CHECK(t.after_exit(exited(1), Millis{1}, Millis{1}, 0).what == RestartTracker::Decision::restart);
  CHECK(t.after_exit(exited(1), Millis{1}, Millis{2}, 0).what == RestartTracker::Decision::give_up);
}
