// The control protocol's pure parts: request parsing and validation, responses and the status
// JSON (the field names and types of docs/control-protocol.md), the access decision, and
// climits-ctl's table.
#include <doctest/doctest.h>

#include <csignal>
#include <string>

#include "control/access.h"
#include "control/protocol.h"
#include "control/status_line.h"
#include "control/status_reader.h"
#include "control/table.h"

using namespace climits::control;
using climits::supervisor::ExitInfo;
using climits::supervisor::ExitKind;
using climits::supervisor::ProgramStatus;
using climits::supervisor::State;

namespace {

Request parsed(std::string_view line) {
  auto request = parse_request(line);
  REQUIRE_MESSAGE(request.ok(), line, ": ", request.ok() ? "" : request.error().message);
  return *request;
}

std::string refused(std::string_view line) {
  auto request = parse_request(line);
  REQUIRE_MESSAGE(!request.ok(), line, " was accepted");
  return request.error().message;
}

std::chrono::system_clock::time_point at_epoch_ms(long long ms) {
  return std::chrono::system_clock::time_point(std::chrono::milliseconds(ms));
}

ProgramStatus running_status() {
  ProgramStatus status;
  status.name = "web";
  status.state = State::running;
  status.pid = 4242;
  status.uptime_seconds = 12.3456;
  status.memory_bytes = 31 << 20;
  status.memory_peak_bytes = 40 << 20;
  status.memory_max_bytes = 64 << 20;
  status.restarts = 2;
  status.oom_kills = 1;
  status.cgroup = "/sys/fs/cgroup/memory/climits/program-web";
  return status;
}

}  // namespace

TEST_SUITE_BEGIN("control");

TEST_CASE("requests: every command, names kept in order without duplicates") {
  CHECK(parsed(R"({"cmd": "status"})").command == Command::status);
  CHECK(parsed(R"({"cmd": "status"})").all());
  CHECK(parsed(R"({"cmd": "version"})").command == Command::version);
  CHECK(parsed(R"({"cmd": "reload", "names": []})").command == Command::reload);
  CHECK(parsed(R"({"cmd": "reload", "names": null})").command == Command::reload);
  auto start = parsed(R"({"cmd": "start", "names": ["b", "a", "b"]})");
  CHECK(start.command == Command::start);
  CHECK(start.names == std::vector<std::string>{"b", "a"});
  CHECK_FALSE(start.all());
  CHECK(parsed(R"({"cmd": "stop", "names": ["all"]})").all());
  CHECK(parsed(R"({"cmd": "restart", "names": ["web", "all"]})").all());
  CHECK(parsed(R"({"names": ["web"], "cmd": "status"})").names == std::vector<std::string>{"web"});
  // A "\r\n" line end, and surrounding blanks.
  CHECK(parsed("{\"cmd\":\"status\"}\r").command == Command::status);
  CHECK(parsed("  {\"cmd\":\"status\"}  ").command == Command::status);
}

TEST_CASE("requests: each mistake is an error that says what is wrong") {
  CHECK(refused("").find("empty request") == 0);
  CHECK(refused("   ").find("empty request") == 0);
  CHECK(refused("status").find("malformed JSON: ") == 0);
  CHECK(refused("{\"cmd\": \"status\"").find("malformed JSON") == 0);
  CHECK(refused("{\"cmd\": \"status\"} {}").find("malformed JSON") == 0);
  CHECK(refused("\xff\xfe").find("malformed JSON") == 0);
  CHECK(refused("[\"status\"]").find("a request is a JSON object") == 0);
  CHECK(refused("\"status\"").find("a request is a JSON object") == 0);
  CHECK(refused("{}").find("the request has no \"cmd\"") == 0);
  CHECK(refused(R"({"cmd": 1})").find("\"cmd\" must be a string") == 0);
  CHECK(refused(R"({"cmd": null})").find("\"cmd\" must be a string") == 0);
  CHECK(refused(R"({"cmd": "halt"})") ==
        "unknown command \"halt\" (use status, start, stop, restart, reload, version, signal, "
        "logs or events)");
  CHECK(refused(R"({"cmd": "STATUS"})").find("unknown command") == 0);
  CHECK(refused(R"({"cmd": "status", "name": ["web"]})") ==
        "unknown key \"name\" in the request (a request has \"cmd\" and \"names\")");
  CHECK(refused(R"({"cmd": "logs", "names": ["web"], "tail": 5})") ==
        "unknown key \"tail\" in the request (a logs request has \"cmd\", \"names\", "
        "\"lines\", \"follow\" and \"stream\")");
  CHECK(refused(R"({"cmd": "status", "names": "web"})").find("\"names\" must be a list") == 0);
  CHECK(refused(R"({"cmd": "status", "names": {"web": 1}})").find("\"names\" must be a list") == 0);
  CHECK(refused(R"({"cmd": "status", "names": ["web", 3]})").find("\"names\" must be a list") == 0);
  CHECK(refused(R"({"cmd": "start"})").find("start needs program names, or \"all\"") == 0);
  CHECK(refused(R"({"cmd": "stop", "names": []})").find("stop needs program names") == 0);
  CHECK(refused(R"({"cmd": "restart"})").find("restart needs program names") == 0);
  CHECK(refused(R"({"cmd": "reload", "names": ["web"]})") == "reload takes no program names");
  CHECK(refused(R"({"cmd": "version", "names": ["all"]})") == "version takes no program names");
}

TEST_CASE("requests: size and depth limits") {
  std::string name(kMaxRequestBytes + 1, 'a');
  CHECK(refused(name).find("request longer than 65536 bytes") == 0);
  CHECK(refused(name.substr(1)).find("malformed JSON") == 0);  // exactly the limit: parsed
  // A request just under the limit is parsed; an unknown key in it is quoted short.
  std::string key(kMaxRequestBytes - 40, 'k');
  std::string message = refused("{\"cmd\": \"status\", \"" + key + "\": 1}");
  CHECK(message.find("unknown key \"kkkk") == 0);
  CHECK(message.size() < 200);
  // Deep nesting inside the limit neither crashes the parser nor the destructor.
  std::string deep(kMaxRequestBytes / 2, '[');
  deep += std::string(kMaxRequestBytes / 2, ']');
  CHECK(refused(deep).find("a request is a JSON object") == 0);
  CHECK(refused(std::string(kMaxRequestBytes, '[')).find("malformed JSON") == 0);
}

TEST_CASE("requests as clients send them") {
  CHECK(to_line(make_request(Command::status)) == R"({"cmd":"status"})");
  CHECK(to_line(make_request(Command::stop, {"web", "db"})) ==
        R"({"cmd":"stop","names":["web","db"]})");
  for (Command c : {Command::status, Command::start, Command::stop, Command::restart,
                    Command::reload, Command::version}) {
    std::vector<std::string> names;
    if (c == Command::start || c == Command::stop || c == Command::restart) names = {"all"};
    CHECK(parsed(to_line(make_request(c, names))).command == c);
  }
}

TEST_CASE("status JSON: the documented field names and types, in order") {
  ProgramStatus status = running_status();
  status.last_exit = ExitInfo{ExitKind::oom_killed, 0, SIGKILL, "", at_epoch_ms(1714566896789)};
  Json program = status_json(status);
  std::vector<std::string> keys;
  for (const auto& item : program.items()) keys.push_back(item.key());
  CHECK(keys == std::vector<std::string>{"name", "state", "pid", "uptime_seconds", "memory_bytes",
                                         "memory_peak_bytes", "memory_max_bytes", "restarts",
                                         "oom_kills", "last_exit", "cgroup", "limits_pending",
                                         "last_oom_at", "cpu_seconds", "cpu_throttled_seconds",
                                         "pressure_events", "waiting_for"});
  CHECK(program["pressure_events"] == 0);
  // Absent where the kernel does not report them (v1: programs without cpu:).
  CHECK(program["cpu_seconds"].is_null());
  CHECK(program["cpu_throttled_seconds"].is_null());
  status.cpu_seconds = 1.5;
  status.cpu_throttled_seconds = 0.25;
  CHECK(status_json(status)["cpu_seconds"] == 1.5);
  CHECK(status_json(status)["cpu_throttled_seconds"] == 0.25);
  CHECK(program["limits_pending"].is_null());
  status.limits_pending = "memory.max 128 MiB -> 16 MiB: refused";
  CHECK(status_json(status)["limits_pending"] == "memory.max 128 MiB -> 16 MiB: refused");
  CHECK(program["last_oom_at"].is_null());
  status.last_oom_at = at_epoch_ms(1714566896789);
  CHECK(status_json(status)["last_oom_at"] == "2024-05-01T12:34:56.789Z");
  CHECK(program["waiting_for"].is_null());  // only a waiting program waits for anything
  ProgramStatus waiting = status;
  waiting.state = climits::supervisor::State::waiting;
  waiting.waiting_for = {"db", "migrate"};
  CHECK(status_json(waiting)["state"] == "waiting");
  CHECK(status_json(waiting)["waiting_for"] == Json::array({"db", "migrate"}));
  CHECK(program["name"] == "web");
  CHECK(program["state"] == "running");
  CHECK(program["pid"].is_number_integer());
  CHECK(program["pid"] == 4242);
  CHECK(program["uptime_seconds"].is_number());
  CHECK(program["uptime_seconds"].get<double>() == doctest::Approx(12.346));
  CHECK(program["memory_bytes"] == 31u << 20);
  CHECK(program["memory_peak_bytes"] == 40u << 20);
  CHECK(program["memory_max_bytes"] == 64u << 20);
  CHECK(program["restarts"] == 2);
  CHECK(program["oom_kills"] == 1);
  CHECK(program["cgroup"] == "/sys/fs/cgroup/memory/climits/program-web");
  const Json& exit = program["last_exit"];
  CHECK(exit["kind"] == "oom-killed");
  CHECK(exit["code"].is_null());
  CHECK(exit["signal"] == "SIGKILL");
  CHECK(exit["at"] == "2024-05-01T12:34:56.789Z");
  CHECK(exit["description"] == "oom-killed");
}

TEST_CASE("status line: the bytes of to_line(status_response) for every kind of field") {
  // status_line() writes the line without a JSON tree; it must not change a byte of it.
  std::vector<ProgramStatus> statuses;
  CHECK(status_line(statuses) == to_line(status_response(statuses)));
  ProgramStatus idle;
  idle.name = "idle";
  idle.cgroup = "/x/program-idle";
  statuses.push_back(idle);
  statuses.push_back(running_status());
  ProgramStatus odd = running_status();
  odd.name = "na\"me\\";
  odd.state = State::backoff;
  odd.uptime_seconds = 3.0;  // printed "3.0", as the library prints a whole double
  odd.memory_bytes = UINT64_MAX;
  odd.memory_peak_bytes.reset();
  odd.memory_max_bytes.reset();
  odd.restarts = 2147483647;
  odd.oom_kills = 18446744073709551615u;
  odd.cgroup = "/sys/fs/cgroup/caf\xc3\xa9/\x01tab\there/\xff not UTF-8";
  odd.limits_pending = "memory.max 128 MiB -> 16 MiB: \"refused\"\n";
  odd.last_oom_at = at_epoch_ms(1714566896789);
  odd.last_exit = ExitInfo{ExitKind::oom_killed, 0, SIGKILL, "", at_epoch_ms(1714566896789)};
  statuses.push_back(odd);
  odd.cpu_seconds = 12.3456789;
  odd.cpu_throttled_seconds = 0.0;
  odd.pressure_events = 7;
  statuses.push_back(odd);
  ProgramStatus waiting = idle;
  waiting.state = State::waiting;
  waiting.waiting_for = {"db", "mi\"grate"};
  statuses.push_back(waiting);
  waiting.waiting_for.clear();
  statuses.push_back(waiting);
  for (double uptime : {0.0, 0.001, 0.1, 1.5, 12.3456, 59.999, 86400.25, 1e7 + 0.125, 1e12}) {
    ProgramStatus status = running_status();
    status.uptime_seconds = uptime;
    status.last_exit = ExitInfo{ExitKind::exited, 3, 0, "", at_epoch_ms(0)};
    statuses.push_back(status);
  }
  CHECK(status_line(statuses) == to_line(status_response(statuses)));
  CHECK(status_line({idle}) == to_line(status_response({idle})));
}

TEST_CASE("status JSON: nulls where there is no value") {
  ProgramStatus status;
  status.name = "idle";
  status.cgroup = "/x/program-idle";
  Json program = status_json(status);
  CHECK(program["state"] == "stopped");
  CHECK(program["pid"].is_null());
  CHECK(program["uptime_seconds"] == 0.0);
  CHECK(program["memory_bytes"] == 0);
  CHECK(program["memory_peak_bytes"].is_null());  // the kernel keeps no peak
  CHECK(program["memory_max_bytes"].is_null());   // unlimited
  CHECK(program["last_exit"].is_null());
}

TEST_CASE("status JSON: each kind of exit") {
  auto exit_json = [](ExitInfo exit) {
    ProgramStatus status = running_status();
    status.last_exit = exit;
    return status_json(status)["last_exit"];
  };
  auto when = at_epoch_ms(0);
  Json exited = exit_json({ExitKind::exited, 3, 0, "", when});
  CHECK(exited["kind"] == "exited");
  CHECK(exited["code"] == 3);
  CHECK(exited["signal"].is_null());
  CHECK(exited["at"] == "1970-01-01T00:00:00.000Z");
  Json signalled = exit_json({ExitKind::signal, 0, SIGSEGV, "", when});
  CHECK(signalled["kind"] == "signal");
  CHECK(signalled["code"].is_null());
  CHECK(signalled["signal"] == "SIGSEGV");
  Json spawn = exit_json({ExitKind::spawn_error, 127, 0, "./app: No such file or directory", when});
  CHECK(spawn["kind"] == "spawn-error");
  CHECK(spawn["code"] == 127);
  CHECK(spawn["signal"].is_null());
  CHECK(spawn["description"] == "spawn error: ./app: No such file or directory");
}

TEST_CASE("responses") {
  CHECK(to_line(ok_response()) == R"({"ok":true})");
  CHECK(to_line(error_response("no")) == R"({"ok":false,"error":"no"})");
  CHECK(to_line(version_response("1.2.3")) == R"({"ok":true,"version":"1.2.3","protocol":1})");
  climits::supervisor::ReloadResult applied;
  applied.added = {"new"};
  applied.unchanged = 2;
  CHECK(to_line(reload_response(applied)) ==
        R"({"ok":true,"summary":"1 added, 0 removed, 0 restarted, 0 updated live, 2 unchanged",)"
        R"("restarted":[],"updated":[],"added":["new"],"removed":[],"failed":[],"unchanged":2})");
  climits::supervisor::ReloadResult refused = applied;
  refused.failed.push_back({"db", "limits not applied"});
  Json failed = reload_response(refused);
  CHECK(failed["ok"] == false);
  CHECK(failed["error"] ==
        "1 program could not be changed as the file asks: 1 added, 0 removed, "
        "0 restarted, 0 updated live, 2 unchanged, 1 failed");
  CHECK(failed["failed"][0]["name"] == "db");
  CHECK(failed["failed"][0]["error"] == "limits not applied");
  CHECK(to_line(reload_refused("configuration not valid (2 errors)", {"a:1:2: x", "b"})) ==
        R"j({"ok":false,"error":"configuration not valid (2 errors)","errors":["a:1:2: x","b"]})j");
  Json statuses = status_response({running_status()});
  CHECK(statuses["ok"] == true);
  CHECK(statuses["programs"].size() == 1);
  CHECK(to_line(status_response({})) == R"({"ok":true,"programs":[]})");
  ActionResult action{"web", State::stopping, 17, 1.0, 10.5};
  CHECK(to_line(action_response({action})) ==
        R"({"ok":true,"programs":[{"name":"web","state":"stopping","pid":17,)"
        R"("settle_seconds":1.0,"stop_timeout_seconds":10.5}]})");
  // One line, whatever the message holds; bytes that are not UTF-8 are replaced.
  std::string line = to_line(error_response("a\nb \xff"));
  CHECK(line.find('\n') == std::string::npos);
  CHECK(line == "{\"ok\":false,\"error\":\"a\\nb \xEF\xBF\xBD\"}");
}

TEST_CASE("responses as clients read them") {
  auto ok = parse_response(R"({"ok":true,"programs":[]})");
  REQUIRE(ok.ok());
  CHECK((*ok)["programs"].is_array());
  auto refused_response = parse_response(R"({"ok":false,"error":"permission denied"})");
  REQUIRE(refused_response.ok());
  CHECK((*refused_response)["error"] == "permission denied");
  CHECK_FALSE(parse_response("").ok());
  CHECK_FALSE(parse_response("[]").ok());
  CHECK_FALSE(parse_response(R"({"ok":"yes"})").ok());
  CHECK_FALSE(parse_response(R"({"ok":false})").ok());
}

TEST_CASE("ISO-8601 times") {
  CHECK(iso8601_utc(at_epoch_ms(1714566896789)) == "2024-05-01T12:34:56.789Z");
  CHECK(parse_iso8601_utc("2024-05-01T12:34:56.789Z") == at_epoch_ms(1714566896789));
  CHECK(parse_iso8601_utc("2024-05-01T12:34:56Z") == at_epoch_ms(1714566896000));
  CHECK_FALSE(parse_iso8601_utc("2024-05-01 12:34:56Z"));
  CHECK_FALSE(parse_iso8601_utc("2024-05-01T12:34:56"));
  CHECK_FALSE(parse_iso8601_utc("2024-05-01T12:34:56.7Z"));
  CHECK_FALSE(parse_iso8601_utc(""));
}

TEST_CASE("access: root, the manager's own user, and members of control_group") {
  AccessRule root_only;
  root_only.owner_uid = 0;
  AccessRule grouped;
  grouped.owner_uid = 0;
  grouped.group = 1500;
  grouped.group_name = "climits";
  Peer root{10, 0, 0, {}};
  Peer stranger{11, 1000, 1000, {24, 27}};
  Peer primary{12, 1000, 1500, {}};
  Peer supplementary{13, 1000, 1000, {24, 1500}};
  CHECK_FALSE(refusal(root_only, root));
  CHECK_FALSE(refusal(grouped, root));
  CHECK(refusal(root_only, stranger)->find("permission denied: uid 1000 is not root") == 0);
  CHECK(refusal(root_only, primary));  // no group configured: root only
  CHECK(*refusal(grouped, stranger) ==
        "permission denied: uid 1000 is not root and not a member of group climits (the "
        "manager's control_group)");
  CHECK_FALSE(refusal(grouped, primary));
  CHECK_FALSE(refusal(grouped, supplementary));
  AccessRule owned = root_only;
  owned.owner_uid = 1000;  // a manager run by a user: that user may control it
  CHECK_FALSE(refusal(owned, stranger));
}

TEST_CASE("access: the Groups line of /proc/<pid>/status") {
  std::string status =
      "Name:\tbash\nUid:\t1000\t1000\t1000\t1000\nGid:\t1000\t1000\t1000\t1000\n"
      "FDSize:\t256\nGroups:\t4 24 27 1500 \nNStgid:\t1\n";
  CHECK(parse_status_groups(status) == std::vector<gid_t>{4, 24, 27, 1500});
  CHECK(parse_status_groups("Name:\tx\nGroups:\t\n").empty());
  CHECK(parse_status_groups("Name:\tx\n").empty());
  CHECK(parse_status_groups("Groups:\t65534").size() == 1);
}

TEST_CASE("access: control_group names and numbers") {
  auto none = make_access_rule(std::nullopt);
  REQUIRE(none.ok());
  CHECK_FALSE(none->group);
  auto root_group = make_access_rule(std::string("root"));
  REQUIRE(root_group.ok());
  CHECK(*root_group->group == 0);
  auto numeric = make_access_rule(std::string("0"));
  REQUIRE(numeric.ok());
  CHECK(*numeric->group == 0);
  auto missing = make_access_rule(std::string("no-such-group-climits"));
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().message.find("does not exist") != std::string::npos);
}

TEST_CASE("ctl table: uptimes") {
  CHECK(format_uptime(0) == "0s");
  CHECK(format_uptime(12.9) == "12s");
  CHECK(format_uptime(250) == "4m10s");
  CHECK(format_uptime(2 * 3600 + 5 * 60 + 59) == "2h5m");
  CHECK(format_uptime(3 * 86400 + 4 * 3600 + 1) == "3d4h");
  CHECK(format_uptime(-1) == "0s");
}

TEST_CASE("ctl table: columns aligned, human units, - for none") {
  ProgramStatus web = running_status();
  web.uptime_seconds = 250;
  ProgramStatus leaky;
  leaky.name = "leaky-worker";
  leaky.state = State::backoff;
  leaky.memory_peak_bytes = 32 << 20;
  leaky.memory_max_bytes = 32 << 20;
  leaky.restarts = 3;
  leaky.oom_kills = 3;
  auto now = at_epoch_ms(1714566896789);
  leaky.last_exit = ExitInfo{ExitKind::oom_killed, 0, SIGKILL, "", now - std::chrono::seconds(12)};
  Json programs = status_response({web, leaky})["programs"];
  std::string table = format_status_table(programs, now);
  CHECK(table ==
        "NAME          STATE    PID   UPTIME  MEM  PEAK  LIMIT  RESTARTS  OOM  LAST-EXIT\n"
        "web           running  4242  4m10s   31M  40M   64M    2         1    -\n"
        "leaky-worker  backoff  -     -       0B   32M   32M    3         3    oom-killed (12s "
        "ago)\n");
  // A field of the wrong type shows as "?", the rest of the table stands.
  programs[0]["memory_bytes"] = "lots";
  CHECK(format_status_table(programs, now).find("web           running  4242  4m10s   ?") !=
        std::string::npos);
  CHECK(format_status_table(Json::array(), now) ==
        "NAME  STATE  PID  UPTIME  MEM  PEAK  LIMIT  RESTARTS  OOM  LAST-EXIT\n");
}

TEST_CASE("ctl table read from the line: the rows of the parsed response, or nullopt") {
  auto now = at_epoch_ms(1714566896789);
  auto table_of = [&](const std::string& line) -> std::optional<std::string> {
    auto rows = read_status_rows(line, now);
    if (!rows) return std::nullopt;
    return format_status_rows(*rows);
  };
  auto parsed_table = [&](const std::string& line) {
    return format_status_table(Json::parse(line)["programs"], now);
  };
  ProgramStatus web = running_status();
  ProgramStatus leaky;
  leaky.name = "leaky-worker";
  leaky.state = State::backoff;
  leaky.memory_peak_bytes = 32 << 20;
  leaky.last_exit = ExitInfo{ExitKind::exited, 3, 0, "", now - std::chrono::seconds(75)};
  ProgramStatus crashed = running_status();
  crashed.name = "crashed";
  crashed.limits_pending = "memory.max 128 MiB -> 16 MiB: refused";
  crashed.last_oom_at = now;
  crashed.last_exit = ExitInfo{ExitKind::signal, 0, SIGSEGV, "", now - std::chrono::hours(3)};
  // A waiting program carries a list (waiting_for): read past, not a reason to give up.
  ProgramStatus waiting;
  waiting.name = "web2";
  waiting.state = State::waiting;
  waiting.waiting_for = {"db", "migrate"};
  for (const auto& statuses : std::vector<std::vector<ProgramStatus>>{
           {}, {web}, {web, leaky, crashed}, {leaky, leaky, web}, {waiting, web, waiting}}) {
    std::string line = status_line(statuses);
    REQUIRE(table_of(line));
    CHECK(*table_of(line) == parsed_table(line));
  }
  // Shapes the fields may take in another manager's response: the same rows as the tree's.
  for (const char* line :
       {R"({"ok":true,"programs":[{"name":"a","memory_bytes":"lots","pid":-1,"extra":1}]})",
        R"({"ok":true,"programs":[{"name":"a","name":"b","restarts":1.5,"uptime_seconds":3}]})",
        R"({"programs":[{"state":"running","last_exit":{"kind":"exited","code":2}}],"ok":true})",
        R"({"ok":true,"programs":[{"last_exit":{"description":"gone","at":"bad"}}],"x":"y"})",
        R"({"ok":true,"programs":[{}]} )",
        R"({"ok":true,"programs":[{"name":"a","x":[1,"b",null],"state":"waiting"}]})"}) {
    REQUIRE_MESSAGE(table_of(line), line);
    CHECK(*table_of(line) == parsed_table(line));
  }
  // Anything else is left to the tree, which says what is wrong.
  for (const char* line :
       {R"({"ok":false,"error":"no"})", R"({"ok":"yes","programs":[]})", R"({"programs":[]})",
        R"({"ok":true,"programs":null})", R"({"ok":true,"programs":[1]})",
        R"({"ok":true,"programs":[{"name":[]}]})", R"({"ok":true,"programs":[{"x":[{}]}]})",
        R"({"ok":true,"programs":[],"ok":1})", "not json", R"({"ok":true,)",
        R"({"ok":true,"programs":[]}{})"})
    CHECK_MESSAGE(!table_of(line), line);
}

TEST_SUITE_END();
