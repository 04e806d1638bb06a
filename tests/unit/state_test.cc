#include <doctest/doctest.h>

#include <string>

#include "supervisor/state.h"

using namespace climits::supervisor;

namespace {
constexpr State kAll[] = {State::stopped,  State::starting, State::running, State::backoff,
                          State::stopping, State::exited,   State::fatal};
State after(State s, Event e) {
  auto t = transition(s, e);
  REQUIRE_MESSAGE(t.has_value(), state_name(s), " + ", event_name(e));
  return t->next;
}
}  // namespace

TEST_CASE("the happy path: stopped, starting, running, stopping, stopped") {
  CHECK(transition(State::stopped, Event::start)->action == Action::reset_and_spawn);
  CHECK(after(State::stopped, Event::start) == State::starting);
  CHECK(after(State::starting, Event::settled) == State::running);
  CHECK(transition(State::running, Event::stop)->action == Action::send_stop_signal);
  CHECK(after(State::running, Event::stop) == State::stopping);
  CHECK(transition(State::stopping, Event::stop_timeout)->action == Action::kill_cgroup);
  CHECK(after(State::stopping, Event::stop_timeout) == State::stopping);
  CHECK(after(State::stopping, Event::exit_done) == State::stopped);
}

TEST_CASE("an exit goes where the restart decision says, from starting and running alike") {
  for (State s : {State::starting, State::running}) {
    CHECK(after(s, Event::exit_restart) == State::backoff);
    CHECK(after(s, Event::exit_done) == State::exited);
    CHECK(after(s, Event::exit_give_up) == State::fatal);
  }
  CHECK(after(State::backoff, Event::backoff_elapsed) == State::starting);
  CHECK(transition(State::backoff, Event::backoff_elapsed)->action == Action::spawn);
}

TEST_CASE("an exit caused by a stop is never a restart") {
  for (Event e : {Event::exit_restart, Event::exit_done, Event::exit_give_up})
    CHECK(after(State::stopping, e) == State::stopped);
}

TEST_CASE("stop ends backoff at once, and an explicit start skips the wait") {
  CHECK(after(State::backoff, Event::stop) == State::stopped);
  CHECK(transition(State::backoff, Event::stop)->action == Action::none);
  CHECK(transition(State::backoff, Event::start)->action == Action::spawn);
}

TEST_CASE("fatal and exited are left only by an operator's start (history reset) or stop") {
  for (State s : {State::fatal, State::exited}) {
    CHECK(transition(s, Event::start)->action == Action::reset_and_spawn);
    CHECK(after(s, Event::stop) == State::stopped);
    CHECK_FALSE(transition(s, Event::backoff_elapsed).has_value());
    CHECK_FALSE(transition(s, Event::exit_restart).has_value());
  }
}

TEST_CASE("events that mean nothing in a state are ignored") {
  CHECK_FALSE(transition(State::running, Event::start).has_value());
  CHECK_FALSE(transition(State::starting, Event::start).has_value());
  CHECK_FALSE(transition(State::stopping, Event::stop).has_value());
  CHECK_FALSE(transition(State::stopping, Event::settled).has_value());
  CHECK_FALSE(transition(State::running, Event::settled).has_value());
  CHECK_FALSE(transition(State::stopped, Event::stop).has_value());
  CHECK_FALSE(transition(State::stopped, Event::exit_done).has_value());
}

TEST_CASE("only the states with a process can see an exit, and every state can be stopped") {
  for (State s : kAll) {
    bool sees_exit = transition(s, Event::exit_done).has_value();
    CHECK_MESSAGE(sees_exit == has_process(s), state_name(s));
    if (s != State::stopped && s != State::stopping)
      CHECK_MESSAGE(transition(s, Event::stop).has_value(), state_name(s));
  }
}

TEST_CASE("state names are the SPEC's and parse back") {
  const char* names[] = {"stopped", "starting", "running", "backoff", "stopping", "exited", "fatal"};
  for (int i = 0; i < 7; ++i) {
    CHECK(std::string(state_name(kAll[i])) == names[i]);
    CHECK(parse_state(names[i]) == kAll[i]);
  }
  CHECK_FALSE(parse_state("sleeping").has_value());
}
