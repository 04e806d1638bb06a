#pragma once
// The manager's side of `status` with exactly one name (docs/control-protocol.md, status of
// one program): the status object of every program, plus what it leaves out to stay small
// for thousands of programs: the desired and applied limits, the output files, and the last
// runs. Pure.
#include "control/protocol.h"
#include "supervisor/status.h"

namespace climits::control {

// status_json(detail.status) with "limits": {"desired": {...}, "applied": {...} or null},
// "output": {"stdout": {...}, "stderr": {...}} and "history": [last_exit objects with
// "run_seconds" and "pid", newest first].
Json detail_json(const supervisor::ProgramDetail& detail);

}  // namespace climits::control
