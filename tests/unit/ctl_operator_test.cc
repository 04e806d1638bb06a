// The pure parts of the operator's commands: signal names and numbers, the signal request and
// response, the ring of the last exits, the one-program status (detail) JSON and
// climits-ctl's detail view of it.
#include <doctest/doctest.h>

#include <csignal>
#include <string>

#include "config/units.h"
#include "control/detail_view.h"
#include "control/protocol.h"
#include "control/status_detail.h"
#include "supervisor/exit_history.h"

using namespace climits::control;
using climits::config::parse_any_signal;
using climits::config::signal_name;
using climits::supervisor::ExitHistory;
using climits::supervisor::ExitInfo;
using climits::supervisor::ExitKind;
using climits::supervisor::ExitRecord;
using climits::supervisor::ProgramDetail;
using climits::supervisor::State;

namespace {

std::chrono::system_clock::time_point at_epoch_ms(long long ms) {
  return std::chrono::system_clock::time_point(std::chrono::milliseconds(ms));
}

ExitRecord exited(int code, long long at_ms, long long ran_ms = 1500, int pid = 100) {
  return {ExitInfo{ExitKind::exited, code, 0, "", at_epoch_ms(at_ms)},
          std::chrono::milliseconds(ran_ms), pid};
}

std::string refused(std::string_view line) {
  auto request = parse_request(line);
  REQUIRE_MESSAGE(!request.ok(), line, " was accepted");
  return request.error().message;
}

ProgramDetail crashed_detail() {
  ProgramDetail detail;
  detail.status.name = "crasher";
  detail.status.state = State::backoff;
  detail.status.restarts = 2;
  detail.status.memory_max_bytes = 64u << 20;
  detail.status.cgroup = "/sys/fs/cgroup/memory/climits/program-crasher";
  detail.status.last_exit = ExitInfo{ExitKind::exited, 3, 0, "", at_epoch_ms(3000)};
  detail.desired_limits.memory.max = 16u << 20;
  detail.applied_limits = detail.desired_limits;
  detail.applied_limits->memory.max = 64u << 20;
  detail.status.limits_pending = "memory.max 64M -> 16M: Device or resource busy";
  detail.stdout_output.path = "/var/log/climits-manager/crasher.stdout.log";
  detail.stderr_output.target = climits::config::OutputTarget::merge;
  detail.history = {exited(3, 3000, 250, 12),
                    exited(3, 2000, 1500, 11),
                    {ExitInfo{ExitKind::spawn_error, 127, 0, "./app: No such file or directory",
                              at_epoch_ms(1000)},
                     std::chrono::milliseconds(0), 0}};
  return detail;
}

}  // namespace

TEST_SUITE_BEGIN("control");

TEST_CASE("signals: any signal a process can be sent, by name or number") {
  CHECK(parse_any_signal("HUP") == SIGHUP);
  CHECK(parse_any_signal("sighup") == SIGHUP);
  CHECK(parse_any_signal("SigTerm") == SIGTERM);
  CHECK(parse_any_signal("STOP") == SIGSTOP);  // unlike stop.signal: pausing is allowed here
  CHECK(parse_any_signal("cont") == SIGCONT);
  CHECK(parse_any_signal("CHLD") == SIGCHLD);
  CHECK(parse_any_signal("1") == 1);
  CHECK(parse_any_signal("9") == SIGKILL);
  CHECK(parse_any_signal(std::to_string(SIGRTMAX)) == SIGRTMAX);
  CHECK(parse_any_signal("RTMIN") == SIGRTMIN);
  CHECK(parse_any_signal("SIGRTMIN+2") == SIGRTMIN + 2);
  CHECK(parse_any_signal("RTMAX-1") == SIGRTMAX - 1);
  for (const char* bad : {"", "0", "-1", "+1", "FOO", "SIG", "SIGSIGHUP", "HUP ", "RTMIN-1",
                          "RTMAX+1", "RTMIN+99", "1.5"})
    CHECK_MESSAGE(!parse_any_signal(bad).has_value(), bad);
  CHECK_FALSE(parse_any_signal(std::to_string(SIGRTMAX + 1)).has_value());
  CHECK(signal_name(SIGCHLD) == "SIGCHLD");
  CHECK(signal_name(SIGRTMIN + 2) == "SIGRTMIN+2");
  CHECK(signal_name(SIGRTMAX) == "SIGRTMAX");
  // What climits-ctl sends for any number is read back as the same signal.
  for (int signal = 1; signal <= SIGRTMAX; ++signal) {
    std::string name = signal_name(signal).substr(3);
    auto back = parse_any_signal(name);
    CHECK_MESSAGE((back ? *back : signal) == signal, name);
  }
}

TEST_CASE("requests: signal") {
  auto request = parse_request(R"({"cmd": "signal", "names": ["web"], "signal": "HUP"})");
  REQUIRE(request.ok());
  CHECK(request->command == Command::signal);
  CHECK(request->signal == SIGHUP);
  CHECK_FALSE(request->all_processes);
  request =
      parse_request(R"({"cmd": "signal", "names": ["all"], "signal": 10, "all_processes": true})");
  REQUIRE(request.ok());
  CHECK(request->signal == 10);
  CHECK(request->all_processes);
  CHECK(request->all());
  CHECK(refused(R"({"cmd": "signal", "names": ["web"]})").find("signal needs \"signal\"") == 0);
  CHECK(refused(R"({"cmd": "signal", "signal": "HUP"})").find("signal needs program names") == 0);
  CHECK(refused(R"({"cmd": "signal", "names": ["web"], "signal": "NOPE"})")
            .find("unknown signal \"NOPE\"") == 0);
  CHECK(refused(R"({"cmd": "signal", "names": ["web"], "signal": 0})") ==
        "no signal has the number 0 (1 to " + std::to_string(SIGRTMAX) + ")");
  CHECK(refused(R"({"cmd": "signal", "names": ["web"], "signal": true})")
            .find("\"signal\" must be a name or a whole number") == 0);
  CHECK(refused(R"({"cmd": "signal", "names": ["web"], "signal": "HUP", "all_processes": 1})") ==
        "\"all_processes\" must be true or false");
  CHECK(refused(R"({"cmd": "signal", "names": ["web"], "signal": "HUP", "pid": 1})")
            .find("unknown key \"pid\" in the request (a signal request has") == 0);
  // The signal's keys belong to it alone.
  CHECK(refused(R"({"cmd": "stop", "names": ["web"], "signal": "HUP"})") ==
        "unknown key \"signal\" in the request (a request has \"cmd\" and \"names\")");
}

TEST_CASE("responses: signal") {
  CHECK(to_line(signal_response(SIGHUP, {{"web", {12}, std::nullopt}})) ==
        R"({"ok":true,"signal":"SIGHUP","programs":[{"name":"web","pids":[12]}]})");
  Json mixed = signal_response(SIGUSR1, {{"web", {12, 13}, std::nullopt},
                                         {"db", {}, "no process to signal (it is stopped)"}});
  CHECK(mixed["ok"] == false);
  CHECK(mixed["error"] == "not signalled: db: no process to signal (it is stopped)");
  CHECK(mixed["signal"] == "SIGUSR1");
  CHECK(mixed["programs"][0]["pids"] == Json::array({12, 13}));
  CHECK(mixed["programs"][1]["error"] == "no process to signal (it is stopped)");
  // The error line names ten; "programs" has them all.
  std::vector<SignalResult> stopped;
  for (int i = 0; i < 25; ++i)
    stopped.push_back({"p" + std::to_string(i), {}, std::string("no process")});
  Json many = signal_response(SIGHUP, stopped);
  CHECK(many["programs"].size() == 25);
  std::string error = many["error"];
  CHECK(error.find("p9: no process; and 15 more") != std::string::npos);
  CHECK(error.find("p10:") == std::string::npos);
}

TEST_CASE("exit history: the last 10, newest first") {
  ExitHistory history;
  CHECK(history.newest_first().empty());
  for (int i = 1; i <= 3; ++i) history.record(exited(i, i * 1000));
  auto three = history.newest_first();
  REQUIRE(three.size() == 3);
  CHECK(three[0].exit.code == 3);
  CHECK(three[2].exit.code == 1);
  for (int i = 4; i <= 23; ++i) history.record(exited(i, i * 1000));
  auto kept = history.newest_first();
  REQUIRE(kept.size() == ExitHistory::kKept);
  for (std::size_t i = 0; i < kept.size(); ++i)
    CHECK(kept[i].exit.code == 23 - static_cast<int>(i));
}

TEST_CASE("status of one program: the detail JSON") {
  Json program = detail_json(crashed_detail());
  std::vector<std::string> keys;
  for (const auto& item : program.items()) keys.push_back(item.key());
  CHECK(keys == std::vector<std::string>{"name",
                                         "state",
                                         "pid",
                                         "uptime_seconds",
                                         "memory_bytes",
                                         "memory_peak_bytes",
                                         "memory_max_bytes",
                                         "restarts",
                                         "oom_kills",
                                         "last_exit",
                                         "cgroup",
                                         "limits_pending",
                                         "last_oom_at",
                                         "cpu_seconds",
                                         "cpu_throttled_seconds",
                                         "pressure_events",
                                         "waiting_for",
                                         "limits",
                                         "output",
                                         "history"});
  CHECK(program["limits"]["desired"]["memory_max_bytes"] == 16u << 20);
  CHECK(program["limits"]["applied"]["memory_max_bytes"] == 64u << 20);
  CHECK(program["limits"]["desired"]["memory_high_bytes"].is_null());
  CHECK(program["limits"]["desired"]["memory_oom_group"] == false);
  CHECK(program["limits"]["desired"]["pids_max"].is_null());
  CHECK(program["limits"]["desired"]["cpu_max_percent"].is_null());
  CHECK(program["limits"]["desired"]["cpu_weight"].is_null());
  CHECK(program["limits"]["desired"]["io_weight"].is_null());
  CHECK(program["limits"]["desired"]["io_max"] == Json::array());
  CHECK(program["output"]["stdout"] == Json{{"target", "file"},
                                            {"path", "/var/log/climits-manager/crasher.stdout.log"},
                                            {"max_size_bytes", 10u << 20},
                                            {"keep", 5}});
  CHECK(program["output"]["stderr"]["target"] == "stdout");
  CHECK(program["output"]["stderr"]["path"].is_null());
  const Json& history = program["history"];
  REQUIRE(history.size() == 3);
  CHECK(history[0]["kind"] == "exited");
  CHECK(history[0]["code"] == 3);
  CHECK(history[0]["at"] == "1970-01-01T00:00:03.000Z");
  CHECK(history[0]["run_seconds"] == 0.25);
  CHECK(history[0]["pid"] == 12);
  CHECK(history[2]["kind"] == "spawn-error");
  CHECK(history[2]["pid"].is_null());
  ProgramDetail fresh;
  fresh.status.name = "new";
  CHECK(detail_json(fresh)["limits"]["applied"].is_null());
  CHECK(detail_json(fresh)["history"] == Json::array());
}

TEST_CASE("cpu and io in the detail: JSON fields and the view's lines") {
  ProgramDetail detail = crashed_detail();
  detail.status.cpu_seconds = 12.3456789;
  detail.status.cpu_throttled_seconds = 0.5;
  detail.desired_limits.cpu.quota_micros = 12500;
  detail.desired_limits.cpu.weight = 200;
  detail.desired_limits.io.weight = 50;
  climits::cgroup::IoDeviceLimits disk;
  disk.major = 254;
  disk.minor = 0;
  disk.read_bps = 50u << 20;
  disk.write_iops = 500;
  detail.desired_limits.io.devices.push_back(disk);
  Json program = detail_json(detail);
  CHECK(program["cpu_seconds"] == 12.345679);
  CHECK(program["cpu_throttled_seconds"] == 0.5);
  const Json& desired = program["limits"]["desired"];
  CHECK(desired["cpu_max_percent"] == 12.5);
  CHECK(desired["cpu_weight"] == 200);
  CHECK(desired["io_weight"] == 50);
  CHECK(desired["io_max"] == Json::array({Json{{"device", "254:0"},
                                               {"read_bps", 50u << 20},
                                               {"write_bps", nullptr},
                                               {"read_iops", nullptr},
                                               {"write_iops", 500}}}));
  std::string view = format_detail_view(program, at_epoch_ms(63000));
  CHECK(view.find("cpu\n  time:               12.35 s\n  throttled:          0.50 s\n") !=
        std::string::npos);
  // The desired column is as wide as its widest value, the io.max of the disk.
  CHECK(view.find("  cpu.max:            12.5%                              max\n") !=
        std::string::npos);
  CHECK(view.find("  cpu.weight:         200                                default\n") !=
        std::string::npos);
  CHECK(view.find("  io.weight:          50                                 default\n") !=
        std::string::npos);
  CHECK(view.find("  io.max:             254:0 read_bps=50M write_iops=500  none\n") !=
        std::string::npos);
}

TEST_CASE("ctl detail view: grouped key: value lines, limits side by side, the history") {
  std::string view = format_detail_view(detail_json(crashed_detail()), at_epoch_ms(63000));
  CHECK(view ==
        "program crasher\n"
        "  state:              backoff\n"
        "  pid:                -\n"
        "  uptime:             -\n"
        "  restarts:           2\n"
        "  oom kills:          0\n"
        "  last exit:          exited 3 (1m0s ago)\n"
        "  cgroup:             /sys/fs/cgroup/memory/climits/program-crasher\n"
        "\n"
        "memory\n"
        "  usage:              0B\n"
        "  peak:               -\n"
        "  limit:              64M\n"
        "\n"
        "cpu\n"
        "  time:               -\n"
        "  throttled:          -\n"
        "\n"
        "limits\n"
        "                      desired    applied\n"
        "  memory.max:         16M        64M\n"
        "  memory.high:        max        max\n"
        "  memory.swap_max:    max        max\n"
        "  memory.swappiness:  inherited  inherited\n"
        "  memory.oom_group:   false      false\n"
        "  pids_max:           max        max\n"
        "  cpu.max:            max        max\n"
        "  cpu.weight:         default    default\n"
        "  io.weight:          default    default\n"
        "  io.max:             none       none\n"
        "  pending:            memory.max 64M -> 16M: Device or resource busy\n"
        "\n"
        "output\n"
        "  stdout:             /var/log/climits-manager/crasher.stdout.log (rotated at 10M, 5 "
        "kept)\n"
        "  stderr:             into stdout\n"
        "\n"
        "history (newest first)\n"
        "  AT                                   KIND         CODE/SIGNAL  RAN    PID\n"
        "  1970-01-01T00:00:03.000Z (1m0s ago)  exited       3            250ms  12\n"
        "  1970-01-01T00:00:02.000Z (1m1s ago)  exited       3            1.5s   11\n"
        "  1970-01-01T00:00:01.000Z (1m2s ago)  spawn-error  127          0ms    -    spawn "
        "error: ./app: No such file or directory\n");
  // Fields of the wrong type show as "?", never an exception.
  std::string odd = format_detail_view(Json{{"name", 3}, {"history", "x"}}, at_epoch_ms(0));
  CHECK(odd.find("program ?\n") == 0);
  CHECK(odd.find("no exit yet") != std::string::npos);
  CHECK_NOTHROW(format_detail_view(Json::array(), at_epoch_ms(0)));
}

TEST_SUITE_END();
