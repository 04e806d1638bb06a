#pragma once
// climits-ctl signal SIGNAL NAME...|all [--all-processes] (docs/control-protocol.md, signal).
#include <string>
#include <vector>

namespace climits::ctl {

// Sends the request and prints, per program, "web: SIGHUP sent to pid 20725" on stdout, or
// "climits-ctl: worker: not signalled: …" on stderr. 0 when every program was signalled,
// 1 otherwise. `signal` has been checked (config::parse_any_signal).
int run_signal(const std::string& socket, int signal, const std::vector<std::string>& names,
               bool all_processes);

}  // namespace climits::ctl
