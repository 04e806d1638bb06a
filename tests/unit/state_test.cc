// The transition table, every state × event pair: the rules below are written out a second
// time, as an operator would state them, and compared with the table cell by cell. A pair not
// listed must be ignored.
#include <doctest/doctest.h>

#include <map>
#include <string>
#include <utility>

#include "supervisor/state.h"

using namespace climits::supervisor;

namespace {

using S = State;
using E = Event;
using A = Action;

constexpr S kStates[] = {S::stopped,    S::starting, S::running,     S::backoff,
                         S::stopping,   S::exited,   S::fatal,       S::waiting,
                         S::restarting, S::ending,   S::oom_stopping};
constexpr E kEvents[] = {E::start,
                         E::restart,
                         E::settled,
                         E::stop,
                         E::kill,
                         E::stop_timeout,
                         E::backoff_elapsed,
                         E::exited,
                         E::emptied_restart,
                         E::emptied_done,
                         E::emptied_give_up,
                         E::oom_notice,
                         E::stage_expired,
                         E::staged_exited,
                         E::oom_stop,
                         E::oom_kill,
                         E::wait,
                         E::dependencies_met};
static_assert(std::size(kStates) == kStateCount);
static_assert(std::size(kEvents) == kEventCount);

using Rules = std::map<std::pair<S, E>, Transition>;

Rules expected_rules() {
  Rules rules;
  auto rule = [&rules](S from, E event, S to, A action = A::none) {
    rules[{from, event}] = Transition{to, action};
  };
  // The staged replacement's own end is noted in every state and changes none.
  for (S s : kStates) rule(s, E::staged_exited, s, A::forget_staged);
  // An operator's start or restart from rest (or during a backoff) starts afresh.
  for (S s : {S::stopped, S::exited, S::fatal, S::backoff}) {
    rule(s, E::start, S::starting, A::reset_and_spawn);
    rule(s, E::restart, S::starting, A::reset_and_spawn);
  }
  // A live process: settles, is stopped (politely, or killed), is restarted, ends by itself.
  rule(S::starting, E::settled, S::running);
  for (S s : {S::starting, S::running}) {
    rule(s, E::stop, S::stopping, A::send_stop_signal);
    rule(s, E::restart, S::restarting, A::send_stop_signal);
    rule(s, E::kill, S::stopping, A::kill_cgroup);
    rule(s, E::exited, S::ending, A::end_run);
    rule(s, E::oom_notice, s, A::stage_replacement);
    rule(s, E::stage_expired, s, A::cancel_staged);
  }
  // The restart rules' verdict arrives with the empty cgroup.
  rule(S::ending, E::emptied_restart, S::backoff);
  rule(S::ending, E::emptied_done, S::exited);
  rule(S::ending, E::emptied_give_up, S::fatal);
  // ... unless an operator steps in meanwhile.
  rule(S::ending, E::stop, S::stopping, A::cancel_staged);
  rule(S::ending, E::kill, S::stopping, A::cancel_staged);
  rule(S::ending, E::start, S::restarting, A::cancel_staged);
  rule(S::ending, E::restart, S::restarting, A::cancel_staged);
  // Backoff: its time passes, or a stop ends it (after emptying: a staged helper may be there).
  rule(S::backoff, E::backoff_elapsed, S::starting, A::spawn);
  rule(S::backoff, E::stop, S::stopping, A::empty_cgroup);
  rule(S::backoff, E::kill, S::stopping, A::empty_cgroup);
  // Stopping, and stopping on the way to a start.
  for (S s : {S::stopping, S::restarting}) {
    rule(s, E::stop_timeout, s, A::kill_cgroup);
    rule(s, E::kill, S::stopping, A::kill_cgroup);
    rule(s, E::exited, s, A::empty_cgroup);
  }
  rule(S::stopping, E::start, S::restarting);
  rule(S::stopping, E::restart, S::restarting);
  rule(S::restarting, E::stop, S::stopping);
  for (E e : {E::emptied_restart, E::emptied_done, E::emptied_give_up}) {
    rule(S::stopping, e, S::stopped);
    rule(S::restarting, e, S::starting, A::reset_and_spawn);
  }
  // The OOM policy: stop politely or kill at once; the exit is judged by the restart rules.
  for (S s : {S::starting, S::running}) {
    rule(s, E::oom_stop, S::oom_stopping, A::send_stop_signal);
    rule(s, E::oom_kill, S::oom_stopping, A::kill_cgroup);
  }
  rule(S::oom_stopping, E::exited, S::ending, A::end_run);
  rule(S::oom_stopping, E::stop_timeout, S::oom_stopping, A::kill_cgroup);
  rule(S::oom_stopping, E::oom_kill, S::oom_stopping, A::kill_cgroup);
  rule(S::oom_stopping, E::oom_notice, S::oom_stopping, A::stage_replacement);
  rule(S::oom_stopping, E::stage_expired, S::oom_stopping, A::cancel_staged);
  // ... and kill means at once, even while an operator's stop is under way.
  rule(S::stopping, E::oom_kill, S::stopping, A::kill_cgroup);
  rule(S::restarting, E::oom_kill, S::restarting, A::kill_cgroup);
  // An operator overrides the policy's stop: theirs is the stop that counts.
  rule(S::oom_stopping, E::stop, S::stopping);
  rule(S::oom_stopping, E::kill, S::stopping, A::kill_cgroup);
  rule(S::oom_stopping, E::start, S::restarting);
  rule(S::oom_stopping, E::restart, S::restarting);
  // Dependencies: a start from rest (or during a backoff) whose dependencies do not hold
  // waits for them; it starts when they hold, and a stop or kill ends the wait.
  for (S s : {S::stopped, S::exited, S::fatal, S::backoff}) rule(s, E::wait, S::waiting);
  rule(S::waiting, E::dependencies_met, S::starting, A::reset_and_spawn);
  rule(S::waiting, E::stop, S::stopped);
  rule(S::waiting, E::kill, S::stopped);
  // At rest, a stop only says so.
  rule(S::exited, E::stop, S::stopped);
  rule(S::fatal, E::stop, S::stopped);
  return rules;
}

std::string name(S s, E e) {
  return std::to_string(static_cast<int>(s)) + "/" + state_name(s) + " + " + event_name(e);
}

}  // namespace

TEST_CASE("every state x event pair is as the rules say, and the rest is ignored") {
  Rules rules = expected_rules();
  int listed = 0;
  for (S s : kStates) {
    for (E e : kEvents) {
      auto actual = transition(s, e);
      auto wanted = rules.find({s, e});
      INFO(name(s, e));
      if (wanted == rules.end()) {
        CHECK_FALSE(actual.has_value());
        continue;
      }
      ++listed;
      REQUIRE(actual.has_value());
      CHECK(actual->next == wanted->second.next);
      CHECK(actual->action == wanted->second.action);
    }
  }
  CHECK(listed == static_cast<int>(rules.size()));
}

TEST_CASE("a stop always leads to stopped, from every state, through the events that follow") {
  // Follow the table from each state: stop, then the process's exit and the empty cgroup.
  for (S s : kStates) {
    S state = s;
    for (E e : {E::stop, E::stop_timeout, E::exited, E::emptied_done})
      if (auto t = transition(state, e)) state = t->next;
    INFO(state_name(s));
    CHECK(state == S::stopped);
  }
}

TEST_CASE("no state is left without a way out") {
  // Every state but stopped reaches stopped through stop and what follows it.
  for (S s : kStates) {
    bool moves = false;
    for (E e : kEvents)
      if (auto t = transition(s, e); t && t->next != s) moves = true;
    INFO(state_name(s));
    CHECK(moves);
  }
}

TEST_CASE("public names: the steps between show as stopping") {
  CHECK(std::string(state_name(S::restarting)) == "stopping");
  CHECK(std::string(state_name(S::ending)) == "stopping");
  CHECK(public_state(S::restarting) == S::stopping);
  CHECK(public_state(S::ending) == S::stopping);
  for (S s : {S::stopped, S::starting, S::running, S::backoff, S::stopping, S::exited, S::fatal,
              S::waiting})
    CHECK(public_state(s) == s);
  CHECK(parse_state("waiting") == S::waiting);
  CHECK(parse_state("stopping") == S::stopping);
  CHECK_FALSE(parse_state("restarting").has_value());
  CHECK_FALSE(parse_state("ending").has_value());
}

TEST_CASE("has_process and at_rest") {
  for (S s : {S::starting, S::running, S::stopping, S::restarting, S::ending})
    CHECK(has_process(s));
  for (S s : {S::stopped, S::exited, S::fatal, S::backoff, S::waiting}) CHECK_FALSE(has_process(s));
  for (S s : {S::stopped, S::exited, S::fatal}) CHECK(at_rest(s));
  for (S s :
       {S::starting, S::running, S::backoff, S::stopping, S::restarting, S::ending, S::waiting})
    CHECK_FALSE(at_rest(s));
}
