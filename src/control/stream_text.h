#pragma once
// climits-ctl's human words for the lines of a stream (`events`, `logs`). Pure; a field of
// the wrong type shows as "?" rather than failing.
#include <string>

#include "control/protocol.h"

namespace climits::control {

// One event line as one human line:
//   2026-12-07T20:31:02.123Z web running -> stopping (control: stop by uid 0 (pid 42))
//   2026-12-07T20:31:05.020Z leaky oom-killed 1 process (3 in all)
//   2026-12-07T20:32:00.000Z reload: 1 added, 0 removed, … ; failed: db: …
//   2026-12-07T20:32:00.000Z reload refused: configuration not valid (2 errors); …
// An event this version does not know is shown as its kind, name and remaining fields.
std::string event_text(const Json& event);

// One line of a `logs` stream: the program's line, after "NAME | " when `prefixed`.
std::string log_line_text(const Json& line, bool prefixed);

// The skip marker: "skipped 120 lines (3M of output): this reader fell behind".
std::string skipped_text(const Json& marker);

}  // namespace climits::control
