#pragma once
// The program lifecycle as a literal state machine (after s6): an enum of states, an enum of
// events, and one table saying, for each pair, the next state and the one action to take.
// Pairs not in the table are ignored (e.g. "settled" arriving after a stop). Pure: no libuv.
// The runner (program_runner.h) queues events and dispatches them one at a time; everything
// it holds about a program's life is a state here, never a flag beside the table.
//
//   stopped ──start──▶ starting ──settled──▶ running
//      ▲                 │  ▲                  │ exited ─▶ ending ─(cgroup empty)─┬─ restart ─▶
//      backoff │                 │  └─backoff elapsed──┼──────────────────────────────────┤ done
//      ────▶ exited │            stop │                     │ stop                             └─
//      give up ─▶ fatal │                 ▼                     ▼ └─(cgroup empty)─ stopping
//      ◀──stop── restarting ──(cgroup empty)─▶ starting
//                        stop timeout: kill the cgroup
//
// Three states are steps between the ones an operator sees, and are shown by the name of the
// one they stand for (public_state): `restarting` (a stop on the way to a start), `ending`
// (the main process has exited; what is left in the cgroup is being killed before the restart
// rules decide) and `oom_stopping` (the OOM policy stops the program; its exit is then judged
// as an OOM kill, not as an operator's stop) show as "stopping". A program never reaches stopped,
// exited, fatal or backoff, nor starts again, while anything of its last run is still in its
// cgroup.
#include <optional>

namespace climits::supervisor {

enum class State {
  stopped,
  starting,
  running,
  backoff,
  stopping,
  exited,
  fatal,
  waiting,       // started, but waiting for its dependencies (depends_on) to hold
  restarting,    // stopping, then starting again (an operator's restart, a start while stopping)
  ending,        // the main process exited on its own; its leftovers are being killed
  oom_stopping,  // stopped (or killed) by its OOM policy; the restart rules judge the exit
};
inline constexpr int kStateCount = 11;

enum class Event {
  start,             // an operator's start, or autostart
  restart,           // an operator's restart, or a reload that changed how the program runs
  settled,           // the settle time passed with the program alive
  stop,              // an operator's stop, a removal, or shutdown
  kill,              // a second shutdown request: no more patience
  stop_timeout,      // stop.timeout passed after the stop signal
  backoff_elapsed,   // the backoff delay passed
  exited,            // the main process exited (or could not be started)
  emptied_restart,   // the run's cgroup is empty, and the restart rules restart it
  emptied_done,      // the run's cgroup is empty, and the rules leave it down (or it was stopped)
  emptied_give_up,   // the run's cgroup is empty, and it restarted too often: start limit hit
  oom_notice,        // the kernel reported an OOM (kill) in the cgroup
  stage_expired,     // the main process outlived an OOM kill in its cgroup by the stage window
  staged_exited,     // the replacement staged at an OOM kill died before its turn
  oom_stop,          // an OOM kill in the cgroup, under oom_policy stop
  oom_kill,          // an OOM kill in the cgroup, under oom_policy kill
  wait,              // a start while its dependencies do not hold yet (the manager judges)
  dependencies_met,  // every dependency holds now
};
inline constexpr int kEventCount = 18;

enum class Action {
  none,
  spawn,              // start a new process (entering `starting`)
  reset_and_spawn,    // an operator's start: forget the restart history and count, then spawn
  send_stop_signal,   // stop.signal to the main process
  kill_cgroup,        // SIGKILL everything in the program's cgroup (one pass; the exit follows)
  end_run,            // the restart rules judge the exit; empty the cgroup, then tell them
  empty_cgroup,       // empty the cgroup (nothing spared), then emptied_done
  stage_replacement,  // start the next run's helper, held at its gate (OOM, zero backoff)
  cancel_staged,      // kill a staged replacement; the emptying under way waits for it too
  forget_staged,      // the staged replacement is gone by itself
};

struct Transition {
  State next;
  Action action;
};

// The table lookup; nullopt when the event means nothing in that state.
std::optional<Transition> transition(State state, Event event);

// The state an operator sees (the eight of docs/supervision.md): `restarting`, `ending` and
// `oom_stopping` show as `stopping`.
State public_state(State state);
// The name of its public state: "stopped", "starting", …
const char* state_name(State state);
const char* event_name(Event event);
std::optional<State> parse_state(const char* name);

// Whether a process of the program may be alive in this state.
bool has_process(State state);
// Whether the program is at rest: no process, and nothing will start one by itself.
bool at_rest(State state);

}  // namespace climits::supervisor
