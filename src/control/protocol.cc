#include "control/protocol.h"

#include <algorithm>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <type_traits>
#include <unordered_set>

#include "config/units.h"
#include "util/text.h"

namespace climits::control {

namespace {

const CommandInfo* find_command(const std::string& name) {
  for (const auto& row : kCommands)
    if (name == row.name) return &row;
  return nullptr;
}

// "status, start, stop, restart, reload or version"
std::string command_list() {
  std::string list;
  for (std::size_t i = 0; i < std::size(kCommands); ++i)
    list += (i == 0                          ? ""
             : i + 1 == std::size(kCommands) ? " or "
                                             : ", ") +
            std::string(kCommands[i].name);
  return list;
}

// A client's text quoted in an error message, cut short so that a 64 KiB name does not come
// back as a 64 KiB error.
std::string quoted(const std::string& text) {
  constexpr std::size_t kShown = 80;
  if (text.size() <= kShown) return "\"" + text + "\"";
  return "\"" + text.substr(0, kShown) + "…\"";
}

Error request_error(std::string message) {
  return Error{0, std::move(message)};
}

// "signal" (a name or a number, as a string or a JSON integer) and "all_processes".
Result<void> read_signal_fields(const Json& value, Request& request) {
  constexpr const char* kExample =
      "e.g. {\"cmd\": \"signal\", \"signal\": \"HUP\", \"names\": [\"web\"]}";
  auto signal = value.find("signal");
  if (signal == value.end() || signal->is_null())
    return request_error(std::string("signal needs \"signal\": a name or a number (") + kExample +
                         ")");
  std::optional<int> number;
  if (signal->is_string()) {
    number = config::parse_any_signal(signal->get<std::string>());
    if (!number)
      return request_error("unknown signal " + quoted(signal->get<std::string>()) +
                           " (a name such as \"HUP\" or \"SIGUSR1\", or a number from 1 to " +
                           std::to_string(SIGRTMAX) + ")");
  } else if (signal->is_number_integer()) {
    auto given = signal->get<std::int64_t>();
    if (given >= 1 && given <= SIGRTMAX) number = static_cast<int>(given);
    if (!number)
      return request_error("no signal has the number " + std::to_string(given) + " (1 to " +
                           std::to_string(SIGRTMAX) + ")");
  } else {
    return request_error(std::string("\"signal\" must be a name or a whole number (") + kExample +
                         ")");
  }
  request.signal = *number;
  if (auto all = value.find("all_processes"); all != value.end() && !all->is_null()) {
    if (!all->is_boolean()) return request_error("\"all_processes\" must be true or false");
    request.all_processes = all->get<bool>();
  }
  return success();
}

bool is_logs_key(const std::string& key) {
  return key == "lines" || key == "follow" || key == "stream";
}

Result<void> read_logs_key(const std::string& key, const Json& value, LogsOptions& options) {
  if (key == "lines") {
    if (!value.is_number_unsigned() || value.get<std::uint64_t>() > kMaxLogLines)
      return request_error("\"lines\" must be a whole number from 0 to " +
                           std::to_string(kMaxLogLines));
    options.lines = value.get<std::size_t>();
  } else if (key == "follow") {
    if (!value.is_boolean()) return request_error("\"follow\" must be true or false");
    options.follow = value.get<bool>();
  } else {
    for (auto streams : {LogStreams::both, LogStreams::stdout_only, LogStreams::stderr_only})
      if (value.is_string() && value.get<std::string>() == log_streams_name(streams)) {
        options.streams = streams;
        return success();
      }
    return request_error("\"stream\" must be \"stdout\", \"stderr\" or \"both\"");
  }
  return success();
}

}  // namespace

const char* log_streams_name(LogStreams streams) {
  switch (streams) {
    case LogStreams::stdout_only:
      return "stdout";
    case LogStreams::stderr_only:
      return "stderr";
    case LogStreams::both:
      break;
  }
  return "both";
}

const CommandInfo& command_info(Command command) {
  for (const auto& row : kCommands)
    if (row.command == command) return row;
  return kCommands[0];
}

const char* command_name(Command command) {
  return command_info(command).name;
}

bool Request::all() const {
  return names.empty() || std::find(names.begin(), names.end(), kAllPrograms) != names.end();
}

Result<Request> parse_request(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (line.size() > kMaxRequestBytes)
    return request_error("request longer than " + std::to_string(kMaxRequestBytes) + " bytes");
  if (trim(line).empty())
    return request_error(
        "empty request (send one JSON object per line, e.g. {\"cmd\": \"status\"})");
  Json value;
  try {
    value = Json::parse(line.begin(), line.end());
  } catch (const Json::exception& e) {
    // Not only parse_error: a number too large for a double ("1e999") is an out_of_range.
    // "[json.exception.parse_error.101] parse error at line 1, column 2: …": keep the part
    // after the library's tag.
    std::string what = e.what();
    if (auto end = what.find("] "); what.starts_with("[json.") && end != std::string::npos)
      what.erase(0, end + 2);
    return request_error("malformed JSON: " + what);
  }
  if (!value.is_object())
    return request_error("a request is a JSON object, e.g. {\"cmd\": \"status\"}");
  auto cmd = value.find("cmd");
  const CommandInfo* named =
      cmd != value.end() && cmd->is_string() ? find_command(cmd->get<std::string>()) : nullptr;
  for (const auto& item : value.items()) {
    if (item.key() == "cmd" || item.key() == "names" || is_logs_key(item.key())) continue;
    if (named != nullptr && named->command == Command::signal &&
        (item.key() == "signal" || item.key() == "all_processes"))
      continue;
    const char* keys = "a request has \"cmd\" and \"names\"";
    if (named != nullptr && named->command == Command::signal)
      keys = "a signal request has \"cmd\", \"names\", \"signal\" and \"all_processes\"";
    if (named != nullptr && named->command == Command::logs)
      keys = "a logs request has \"cmd\", \"names\", \"lines\", \"follow\" and \"stream\"";
    return request_error("unknown key " + quoted(item.key()) + " in the request (" + keys + ")");
  }
  if (cmd == value.end())
    return request_error("the request has no \"cmd\" (e.g. {\"cmd\": \"status\"})");
  if (!cmd->is_string()) return request_error("\"cmd\" must be a string: " + command_list());
  const CommandInfo* row = find_command(cmd->get<std::string>());
  if (row == nullptr)
    return request_error("unknown command " + quoted(cmd->get<std::string>()) + " (use " +
                         command_list() + ")");

  Request request;
  request.command = row->command;
  if (auto names = value.find("names"); names != value.end() && !names->is_null()) {
    if (!names->is_array())
      return request_error(
          "\"names\" must be a list of program names, e.g. [\"web\"] or [\"all\"]");
    // Duplicates are found through a set: a linear search per name made a 64 KiB request of
    // ten thousand short names cost a quadratic number of comparisons on the loop.
    std::unordered_set<std::string_view> seen;
    for (const auto& name : *names) {
      if (!name.is_string())
        return request_error(
            "\"names\" must be a list of program names (strings), e.g. "
            "[\"web\"] or [\"all\"]");
      const auto& text = name.get_ref<const std::string&>();
      if (seen.insert(text).second) request.names.push_back(text);
    }
  }
  for (const auto& item : value.items()) {
    if (!is_logs_key(item.key())) continue;
    if (row->command != Command::logs)
      return request_error("unknown key " + quoted(item.key()) + " in a " + row->name +
                           " request (\"" + item.key() + "\" is for logs)");
    if (auto read = read_logs_key(item.key(), item.value(), request.logs); !read)
      return read.error();
  }
  if (row->names == Names::none && !request.names.empty())
    return request_error(std::string(row->name) + " takes no program names");
  if (row->names == Names::required && request.names.empty())
    return request_error(std::string(row->name) +
                         " needs program names, or \"all\" (e.g. {\"cmd\": \"" + row->name +
                         "\", \"names\": [\"web\"]})");
  if (row->command == Command::signal) {
    if (auto read = read_signal_fields(value, request); !read) return read.error();
  }
  return request;
}

Json make_request(Command command, const std::vector<std::string>& names) {
  Json request = {{"cmd", command_name(command)}};
  if (!names.empty()) request["names"] = names;
  return request;
}

Json make_logs_request(const std::vector<std::string>& names, const LogsOptions& options) {
  Json request = make_request(Command::logs, names);
  request["lines"] = options.lines;
  request["follow"] = options.follow;
  request["stream"] = log_streams_name(options.streams);
  return request;
}

Json ok_response() {
  return Json{{"ok", true}};
}

Json error_response(const std::string& message) {
  return Json{{"ok", false}, {"error", message}};
}

Json reload_response(const supervisor::ReloadResult& reply) {
  Json failed = Json::array();
  for (const auto& failure : reply.failed)
    failed.push_back(Json{{"name", failure.name}, {"error", failure.error}});
  std::string summary = reply.summary();
  Json response{{"ok", reply.ok()}};
  if (!reply.ok())
    response["error"] = std::to_string(reply.failed.size()) +
                        (reply.failed.size() == 1 ? " program" : " programs") +
                        " could not be changed as the file asks: " + summary;
  response["summary"] = summary;
  response["restarted"] = reply.restarted;
  response["updated"] = reply.updated;
  response["added"] = reply.added;
  response["removed"] = reply.removed;
  response["failed"] = std::move(failed);
  response["unchanged"] = reply.unchanged;
  return response;
}

Json reload_refused(const std::string& summary, const std::vector<std::string>& errors) {
  return Json{{"ok", false}, {"error", summary}, {"errors", errors}};
}

Json version_response(const std::string& version) {
  return Json{{"ok", true}, {"version", version}, {"protocol", kProtocolVersion}};
}

Json status_json(const supervisor::ProgramStatus& status) {
  Json program;
  program["name"] = status.name;
  program["state"] = supervisor::state_name(status.state);
  program["pid"] = status.pid ? Json(*status.pid) : Json(nullptr);
  // Milliseconds are as precise as the loop's clock.
  program["uptime_seconds"] = std::round(status.uptime_seconds * 1000.0) / 1000.0;
  program["memory_bytes"] = status.memory_bytes;
  // null only where the kernel keeps no peak (cgroup v2 before Linux 5.19).
  program["memory_peak_bytes"] =
      status.memory_peak_bytes ? Json(*status.memory_peak_bytes) : Json(nullptr);
  program["memory_max_bytes"] =
      status.memory_max_bytes ? Json(*status.memory_max_bytes) : Json(nullptr);
  program["restarts"] = status.restarts;
  program["oom_kills"] = status.oom_kills;
  program["last_exit"] = status.last_exit ? exit_json(*status.last_exit) : Json(nullptr);
  program["cgroup"] = status.cgroup;
  // The second part's fields (docs/control-protocol.md) follow the first release's.
  program["limits_pending"] = status.limits_pending ? Json(*status.limits_pending) : Json(nullptr);
  program["last_oom_at"] =
      status.last_oom_at ? Json(iso8601_utc(*status.last_oom_at)) : Json(nullptr);
  // Microseconds are as precise as the kernel's counters (cpu.stat).
  auto seconds = [](const std::optional<double>& value) {
    return value ? Json(std::round(*value * 1e6) / 1e6) : Json(nullptr);
  };
  program["cpu_seconds"] = seconds(status.cpu_seconds);
  program["cpu_throttled_seconds"] = seconds(status.cpu_throttled_seconds);
  program["pressure_events"] = status.pressure_events;
  program["waiting_for"] =
      status.state == supervisor::State::waiting ? Json(status.waiting_for) : Json(nullptr);
  return program;
}

Json exit_json(const supervisor::ExitInfo& exit) {
  using supervisor::ExitKind;
  // An OOM kill under oom_policy stop or kill may end with the main process's own exit code.
  bool by_signal =
      exit.kind == ExitKind::signal || (exit.kind == ExitKind::oom_killed && exit.signal != 0);
  return Json{
      {"kind", supervisor::exit_kind_name(exit.kind)},
      {"code", by_signal ? Json(nullptr) : Json(exit.code)},
      {"signal", by_signal ? Json(config::signal_name(exit.signal)) : Json(nullptr)},
      {"at", iso8601_utc(exit.at)},
      {"description", exit.describe()},
  };
}

Json status_response(const std::vector<supervisor::ProgramStatus>& programs) {
  Json list = Json::array();
  for (const auto& status : programs) list.push_back(status_json(status));
  return Json{{"ok", true}, {"programs", std::move(list)}};
}

Json action_response(const std::vector<ActionResult>& programs) {
  Json list = Json::array();
  for (const auto& program : programs) {
    list.push_back(Json{
        {"name", program.name},
        {"state", supervisor::state_name(program.state)},
        {"pid", program.pid ? Json(*program.pid) : Json(nullptr)},
        {"settle_seconds", program.settle_seconds},
        {"stop_timeout_seconds", program.stop_timeout_seconds},
    });
  }
  return Json{{"ok", true}, {"programs", std::move(list)}};
}

Json signal_response(int signal, const std::vector<SignalResult>& programs) {
  // The error line names the first few; every one is in "programs" (a signal to all of a
  // thousand stopped programs must not make a line of a thousand reasons).
  constexpr std::size_t kNamedInError = 10;
  Json list = Json::array();
  std::string failures;
  std::size_t failed = 0;
  for (const auto& program : programs) {
    Json entry{{"name", program.name}, {"pids", program.pids}};
    if (program.error) {
      entry["error"] = *program.error;
      if (++failed <= kNamedInError)
        failures += (failures.empty() ? "" : "; ") + program.name + ": " + *program.error;
    }
    list.push_back(std::move(entry));
  }
  if (failed > kNamedInError)
    failures += "; and " + std::to_string(failed - kNamedInError) + " more";
  Json response{{"ok", failed == 0}};
  if (failed > 0) response["error"] = "not signalled: " + failures;
  response["signal"] = config::signal_name(signal);
  response["programs"] = std::move(list);
  return response;
}

std::string to_line(const Json& value) {
  return value.dump(-1, ' ', false, Json::error_handler_t::replace);
}

Result<Json> parse_response(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  Json value = Json::parse(line.begin(), line.end(), nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded() || !value.is_object())
    return Error{0, "the manager sent something that is not a JSON object"};
  auto ok = value.find("ok");
  if (ok == value.end() || !ok->is_boolean())
    return Error{0, "the manager's response has no boolean \"ok\""};
  if (!ok->get<bool>()) {
    auto error = value.find("error");
    if (error == value.end() || !error->is_string())
      return Error{0, "the manager refused the request without saying why"};
  }
  return value;
}

std::string iso8601_utc(std::chrono::system_clock::time_point at) {
  using namespace std::chrono;
  auto ms = duration_cast<milliseconds>(at.time_since_epoch()).count();
  auto seconds = static_cast<std::time_t>(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
  int millis = static_cast<int>(ms - static_cast<long long>(seconds) * 1000);
  std::tm utc{};
  ::gmtime_r(&seconds, &utc);
  char buffer[96];  // room for any int, to keep -Wformat-truncation quiet
  std::snprintf(buffer, sizeof buffer, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", utc.tm_year + 1900,
                utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, millis);
  return buffer;
}

std::optional<std::chrono::system_clock::time_point> parse_iso8601_utc(std::string_view text) {
  // Exactly what iso8601_utc writes, the fraction optional: digits where it writes digits
  // (sscanf alone also takes signs and spaces, "-999-00-00T…").
  constexpr std::string_view kLayout = "dddd-dd-ddTdd:dd:dd";
  if (text.size() < kLayout.size()) return std::nullopt;
  for (std::size_t i = 0; i < kLayout.size(); ++i) {
    bool digit = text[i] >= '0' && text[i] <= '9';
    if (kLayout[i] == 'd' ? !digit : text[i] != kLayout[i]) return std::nullopt;
  }
  std::string copy(text);
  std::tm utc{};
  int millis = 0, consumed = 0;
  if (std::sscanf(copy.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &utc.tm_year, &utc.tm_mon,
                  &utc.tm_mday, &utc.tm_hour, &utc.tm_min, &utc.tm_sec, &consumed) != 6 ||
      consumed != 19)
    return std::nullopt;
  std::string_view rest = text.substr(19);
  if (rest.starts_with(".")) {
    if (rest.size() < 5 || !parse_u64(rest.substr(1, 3))) return std::nullopt;
    millis = static_cast<int>(*parse_u64(rest.substr(1, 3)));
    rest.remove_prefix(4);
  }
  if (rest != "Z") return std::nullopt;
  utc.tm_year -= 1900;
  utc.tm_mon -= 1;
  std::time_t seconds = ::timegm(&utc);
  // The system clock counts nanoseconds in 64 bits: before 1678 or after 2262 from_time_t
  // would overflow (undefined behaviour; "9999-12-31T23:59:59Z" did). No status has such times.
  using std::chrono::system_clock;
  constexpr auto kLimit =
      std::chrono::duration_cast<std::chrono::seconds>(system_clock::duration::max()).count() - 1;
  if (seconds > kLimit || seconds < -kLimit) return std::nullopt;
  return std::chrono::system_clock::from_time_t(seconds) + std::chrono::milliseconds(millis);
}

// ---------------------------------------------------------------------------------------------
// Streams

Json events_started() {
  return Json{{"ok", true}, {"stream", "events"}};
}

Json logs_started(bool follow, const std::vector<LogSource>& sources) {
  Json list = Json::array();
  for (const auto& source : sources)
    list.push_back(Json{{"name", source.name}, {"stream", source.stream}, {"path", source.path}});
  return Json{{"ok", true}, {"stream", "logs"}, {"follow", follow}, {"sources", std::move(list)}};
}

namespace {

Json event_fields(const supervisor::StateChanged& change) {
  return Json{{"event", "state"},
              {"name", change.name},
              {"from", supervisor::state_name(change.from)},
              {"to", supervisor::state_name(change.to)},
              {"cause", change.cause}};
}

Json event_fields(const supervisor::OomKilled& kill) {
  return Json{{"event", "oom"}, {"name", kill.name}, {"kills", kill.added}, {"total", kill.total}};
}

Json event_fields(const supervisor::MemoryPressure& pressure) {
  return Json{{"event", "pressure"}, {"name", pressure.name}, {"total", pressure.total}};
}

Json event_fields(const supervisor::Reloaded& reload) {
  Json fields{{"event", "reload"}};
  Json reply = reload_response(reload.result);
  for (auto& [key, value] : reply.items()) fields[key] = value;
  return fields;
}

Json event_fields(const supervisor::ReloadRefused& refusal) {
  Json fields{{"event", "reload"}};
  Json reply = reload_refused(refusal.error, refusal.errors);
  for (auto& [key, value] : reply.items()) fields[key] = value;
  return fields;
}

}  // namespace

std::string event_line(const supervisor::ManagerEvent& event) {
  Json fields = std::visit([](const auto& body) { return event_fields(body); }, event.body);
  // "event" first, then the time, then the event's own fields.
  Json line{{"event", fields["event"]}, {"time", iso8601_utc(event.at)}};
  for (auto& [key, value] : fields.items())
    if (key != "event") line[key] = value;
  return to_line(line);
}

namespace {

// The length of the valid UTF-8 sequence at `text[0]` (RFC 3629: no overlong forms, no
// surrogates, nothing past U+10FFFF), or 0.
std::size_t utf8_sequence(std::string_view text) {
  auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  auto in = [&](std::size_t i, unsigned lo, unsigned hi) {
    return i < text.size() && byte(i) >= lo && byte(i) <= hi;
  };
  unsigned first = byte(0);
  if (first >= 0xC2 && first <= 0xDF) return in(1, 0x80, 0xBF) ? 2 : 0;
  if (first >= 0xE0 && first <= 0xEF) {
    unsigned lo = first == 0xE0 ? 0xA0 : 0x80, hi = first == 0xED ? 0x9F : 0xBF;
    return in(1, lo, hi) && in(2, 0x80, 0xBF) ? 3 : 0;
  }
  if (first >= 0xF0 && first <= 0xF4) {
    unsigned lo = first == 0xF0 ? 0x90 : 0x80, hi = first == 0xF4 ? 0x8F : 0xBF;
    return in(1, lo, hi) && in(2, 0x80, 0xBF) && in(3, 0x80, 0xBF) ? 4 : 0;
  }
  return 0;
}

}  // namespace

void append_json_string(std::string& out, std::string_view text) {
  out += '"';
  std::size_t i = 0;
  while (i < text.size()) {
    // The run of bytes that need nothing, copied at once.
    std::size_t run = i;
    while (run < text.size()) {
      auto c = static_cast<unsigned char>(text[run]);
      if (c < 0x20 || c == '"' || c == '\\' || c >= 0x80) break;
      ++run;
    }
    out.append(text.data() + i, run - i);
    i = run;
    if (i == text.size()) break;
    auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x80) {
      std::size_t length = utf8_sequence(text.substr(i));
      if (length == 0) {
        out += "\xEF\xBF\xBD";  // U+FFFD for a byte that is not UTF-8
        ++i;
      } else {
        out.append(text.data() + i, length);
        i += length;
      }
      continue;
    }
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default: {
        char escaped[8];
        std::snprintf(escaped, sizeof escaped, "\\u%04x", c);
        out += escaped;
      }
    }
    ++i;
  }
  out += '"';
}

std::string log_line_prefix(std::string_view name, std::string_view stream) {
  std::string prefix = "{\"name\":";
  append_json_string(prefix, name);
  prefix += ",\"stream\":";
  append_json_string(prefix, stream);
  prefix += ",\"line\":";
  return prefix;
}

void append_log_line(std::string& out, std::string_view prefix, std::string_view line) {
  out += prefix;
  append_json_string(out, line);
  out += "}\n";
}

void append_log_line(std::string& out, std::string_view name, std::string_view stream,
                     std::string_view line) {
  append_log_line(out, log_line_prefix(name, stream), line);
}

Json logs_complete(std::uint64_t lines) {
  return Json{{"complete", true}, {"lines", lines}};
}

std::string skipped_line(std::uint64_t lines, std::uint64_t bytes) {
  return to_line(Json{{"skipped", Json{{"lines", lines}, {"bytes", bytes}}}});
}

}  // namespace climits::control
