#pragma once
// The control protocol's codec (docs/control-protocol.md): one JSON object per line each way.
// Requests are parsed and validated here, and status, actions and errors are turned into
// response objects here: the manager's side knows the field names only here. The client's
// side reads the fields it shows in table.cc (the status table) and ctl_main.cc (the replies
// of the other commands). Pure: no sockets, no libuv.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "supervisor/events.h"
#include "supervisor/reload_result.h"
#include "supervisor/status.h"
#include "util/result.h"

namespace climits::control {

// Keys keep the order they were written in, so that `name` comes first for a human reader.
using Json = nlohmann::ordered_json;

inline constexpr int kProtocolVersion = 1;
// The longest request line, without its '\n'. A longer one is refused and the connection
// closed: nothing legitimate comes near it.
inline constexpr std::size_t kMaxRequestBytes = 64 * 1024;

enum class Command { status, start, stop, restart, reload, version, signal, logs, events };

// What a command takes besides its name.
enum class Names { none, optional, required };

// The commands, in enum order: the one table of their names and grammar, used by the codec,
// the handler and climits-ctl.
struct CommandInfo {
  Command command;
  const char* name;
  Names names;
};
inline constexpr CommandInfo kCommands[] = {
    {Command::status, "status", Names::optional}, {Command::start, "start", Names::required},
    {Command::stop, "stop", Names::required},     {Command::restart, "restart", Names::required},
    {Command::reload, "reload", Names::none},     {Command::version, "version", Names::none},
    {Command::signal, "signal", Names::required}, {Command::logs, "logs", Names::required},
    {Command::events, "events", Names::none},
};
const CommandInfo& command_info(Command command);

// "all" in `names` stands for every program.
inline constexpr const char* kAllPrograms = "all";

// Which output files `logs` shows: "both" (the default), "stdout" or "stderr".
enum class LogStreams { both, stdout_only, stderr_only };
const char* log_streams_name(LogStreams streams);

// `logs`: the last `lines` lines of each file, then (follow) new lines as they come.
inline constexpr std::size_t kDefaultLogLines = 10;
inline constexpr std::size_t kMaxLogLines = 100000;
struct LogsOptions {
  std::size_t lines = kDefaultLogLines;
  bool follow = false;
  LogStreams streams = LogStreams::both;
};

struct Request {
  Command command = Command::status;
  std::vector<std::string> names;  // as sent, duplicates dropped; empty for "every program"
                                   // (status) and for commands that take none
  // signal: {"signal": "HUP" or 1, "all_processes": false}
  int signal = 0;
  bool all_processes = false;
  LogsOptions logs;  // `logs` only: "lines", "follow", "stream"
  bool all() const;  // no names, or "all" among them
};

const char* command_name(Command command);  // command_info(command).name

// One request line (a trailing '\r' is allowed) → the request, or the message for an error
// response: malformed JSON, not an object, unknown keys or commands, wrong types, names where
// none are taken or none where some are needed.
Result<Request> parse_request(std::string_view line);

// The request a client sends.
Json make_request(Command command, const std::vector<std::string>& names = {});
Json make_logs_request(const std::vector<std::string>& names, const LogsOptions& options);

// Responses.
Json ok_response();                               // {"ok": true}
Json error_response(const std::string& message);  // {"ok": false, "error": message}
// {"ok": …, "summary": …, "restarted": [...], "updated": [...], "added": [...],
//  "removed": [...], "failed": [{"name": …, "error": …}], "unchanged": N}; with anything in
// `failed`, "ok" is false and "error" says how many failed.
Json reload_response(const supervisor::ReloadResult& result);
// A reload that changed nothing (an invalid file, too few descriptors, a shutdown under way):
// {"ok": false, "error": summary, "errors": [...]}.
Json reload_refused(const std::string& summary, const std::vector<std::string>& errors);
Json version_response(const std::string& version);  // {"ok": true, "version": …, "protocol": 1}

// One program in a `status` response, with the field names and types of
// docs/control-protocol.md (status).
Json status_json(const supervisor::ProgramStatus& status);
// A last_exit object: {"kind", "code", "signal", "at", "description"}.
Json exit_json(const supervisor::ExitInfo& exit);
Json status_response(const std::vector<supervisor::ProgramStatus>& programs);

// One program in a start/stop/restart response: its state right after the request, and the
// times a client needs to know how long to wait for the state it asked for.
struct ActionResult {
  std::string name;
  supervisor::State state = supervisor::State::stopped;
  std::optional<int> pid;
  double settle_seconds = 0;
  double stop_timeout_seconds = 0;
};
Json action_response(const std::vector<ActionResult>& programs);

// One program in a signal response: the pids signalled, or why none was.
struct SignalResult {
  std::string name;
  std::vector<pid_t> pids;
  std::optional<std::string> error;
};
// {"ok": …, "signal": "SIGHUP", "programs": [{"name": …, "pids": [...]}, …]}; a program not
// signalled has "error", and then "ok" is false and "error" names each one.
Json signal_response(int signal, const std::vector<SignalResult>& programs);

// Streams (docs/control-protocol.md, streams). A streaming request's first line:
// {"ok": true, "stream": "events"}, or for logs {"ok": true, "stream": "logs", "follow": …,
// "sources": [{"name": …, "stream": "stdout", "path": …}]}.
struct LogSource {
  std::string name;
  const char* stream;  // "stdout" or "stderr": which file (a merged stderr is in stdout's)
  std::string path;
};
Json events_started();
Json logs_started(bool follow, const std::vector<LogSource>& sources);
// One event as a line (without '\n'): {"event": "state"|"oom"|"reload", "time": …, …}.
std::string event_line(const supervisor::ManagerEvent& event);
// Appends {"name": …, "stream": …, "line": …} and '\n' for one line of output (without its
// '\n'). Written by hand: a follower of a flooding program encodes every line it writes.
void append_log_line(std::string& out, std::string_view name, std::string_view stream,
                     std::string_view line);
// The same in two steps, for a follower that encodes thousands of lines of one file:
// {"name": …, "stream": …, "line": once, then each line after it.
std::string log_line_prefix(std::string_view name, std::string_view stream);
void append_log_line(std::string& out, std::string_view prefix, std::string_view line);
// Appends `text` as a JSON string (quoted, escaped, invalid UTF-8 replaced by U+FFFD), as
// to_line() would write it.
void append_json_string(std::string& out, std::string_view text);
// The last line of a logs request without follow: {"complete": true, "lines": N}.
Json logs_complete(std::uint64_t lines);
// Said once a skipping reader has caught up: {"skipped": {"lines": N, "bytes": B}} (bytes of
// the program's output).
std::string skipped_line(std::uint64_t lines, std::uint64_t bytes);

// A response object as one line: compact, invalid UTF-8 replaced (an error may quote bytes a
// client sent), no '\n'.
std::string to_line(const Json& value);

// Client side: a response line → its object, which has at least a boolean "ok" (and "error"
// when it is false). Anything else is an error naming what was wrong.
Result<Json> parse_response(std::string_view line);

// "2024-05-01T12:34:56.789Z" and back.
std::string iso8601_utc(std::chrono::system_clock::time_point at);
std::optional<std::chrono::system_clock::time_point> parse_iso8601_utc(std::string_view text);

}  // namespace climits::control
