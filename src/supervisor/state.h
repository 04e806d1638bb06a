#pragma once
// The program lifecycle as a literal state machine (after s6): an enum of states, an enum of
// events, and one table saying, for each pair, the next state and the one action to take.
// Pairs not in the table are ignored (e.g. "settled" arriving after a stop). Pure: no libuv.
//
//   stopped ──start──▶ starting ──settled──▶ running
//      ▲                 │  ▲                  │
//      │            exit │  │ backoff elapsed  │ exit: restart ─▶ backoff
//      │                 ▼  │                  │ exit: done    ─▶ exited
//   stopping ◀──stop── (starting, running)     │ exit: give up ─▶ fatal
//      │ stop timeout: kill the cgroup
//      └─ any exit ─▶ stopped
#include <optional>

namespace climits::supervisor {

enum class State { stopped, starting, running, backoff, stopping, exited, fatal };

enum class Event {
  start,            // an operator's start, or autostart
  settled,          // the settle time passed with the program alive
  stop,             // an operator's stop, or shutdown
  stop_timeout,     // stop.timeout passed after the stop signal
  backoff_elapsed,  // the backoff delay passed
  exit_restart,     // the program exited and the policy restarts it
  exit_done,        // the program exited and the policy leaves it down
  exit_give_up,     // the program exited and restarted too often: the start limit is hit
};

enum class Action {
  none,
  spawn,             // start a new process (entering `starting`)
  reset_and_spawn,   // forget the restart history (an explicit start), then spawn
  send_stop_signal,  // stop.signal to the main process (entering `stopping`)
  kill_cgroup,       // SIGKILL everything in the program's cgroup
};

struct Transition {
  State next;
  Action action;
};

// The table lookup; nullopt when the event means nothing in that state.
std::optional<Transition> transition(State state, Event event);

const char* state_name(State state);  // "stopped", "starting", …: the names of SPEC §6
const char* event_name(Event event);
std::optional<State> parse_state(const char* name);

// Whether a process may be alive in this state.
bool has_process(State state);

}  // namespace climits::supervisor
