#pragma once
// A program whose main process exits 0 while it settles and leaves processes in its cgroup has
// most likely forked itself into the background (redis-server --daemonize yes, nginx, pg_ctl).
// The manager supervises the main process: the run ends there, and what it left behind is
// killed with it. This is the warning that says so, instead of a quiet "exited 0". Pure.
#include <cstddef>
#include <string>

#include "config/model.h"

namespace climits::supervisor {

// "web: its main process exited 0 during its settle time and left 1 process in its cgroup: it
// probably daemonized; run it in the foreground (…)", with the option for a few well-known
// daemons and a generic hint otherwise.
std::string daemonized_warning(const config::Program& program, std::size_t processes_left);

}  // namespace climits::supervisor
