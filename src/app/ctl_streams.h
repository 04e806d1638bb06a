#pragma once
// climits-ctl's streaming subcommands, `logs` and `events` (docs/control-protocol.md,
// streams): one request, then lines as the manager sends them, until the stream ends, the
// connection is lost (exit 1, one line) or the user interrupts (SIGINT, SIGTERM or SIGHUP:
// exit 0).
#include <functional>
#include <string>
#include <vector>

#include "control/client.h"
#include "control/protocol.h"

namespace climits::app {

int run_logs(const std::string& socket, const std::vector<std::string>& names,
             const control::LogsOptions& options);
int run_events(const std::string& socket, bool json);

// Shared by both (ctl_stream.cc). Sends `request`; a refusal is printed and gives 1.
// Then calls `on_line` with each line (its JSON object, and the line as it came) until it
// returns false (the stream is complete: 0), the connection ends (`lost` is printed: 1) or an
// interrupting signal arrives (0). stdout is flushed whenever no further line is waiting.
enum class LineVerdict { more, complete };
int follow_stream(
    const std::string& socket, const control::Json& request,
    const std::function<void(const control::Json& first)>& on_start,
    const std::function<LineVerdict(const control::Json& line, const std::string& raw)>& on_line,
    const std::string& lost);

}  // namespace climits::app
