// The pure parts of the streams (`logs`, `events`): the output tap that cuts what a LogFile
// writes into lines, the tail's last lines, the hand-written JSON of log lines (the same as
// the library's), the requests, the event lines, and climits-ctl's words for them.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "control/log_stream.h"
#include "control/protocol.h"
#include "control/stream_text.h"
#include "supervisor/events.h"
#include "supervisor/output_tap.h"

using namespace climits::control;
using climits::supervisor::OutputFollower;
using climits::supervisor::OutputTap;

namespace {

struct Collector : OutputFollower {
  std::vector<std::string> deliveries;
  OutputTap* leave_from = nullptr;  // unfollows itself at the first delivery
  void on_lines(std::string_view lines) override {
    deliveries.emplace_back(lines);
    if (leave_from != nullptr) leave_from->unfollow(this);
  }
  std::string all() const {
    std::string joined;
    for (const auto& d : deliveries) joined += d;
    return joined;
  }
};

std::vector<std::string> strings(const std::vector<std::string_view>& views) {
  return {views.begin(), views.end()};
}

}  // namespace

TEST_SUITE_BEGIN("control");

TEST_CASE("output tap: whole lines only, a line cut across chunks joined once") {
  OutputTap tap;
  Collector first;
  tap.follow(&first, "par");  // the file ends with the start of a line
  CHECK(tap.following());
  tap.feed("tial\nwhole\nhal");
  tap.feed("f");
  CHECK(first.all() == "partial\nwhole\n");
  tap.feed("f\n");
  CHECK(first.all() == "partial\nwhole\nhalff\n");
  // A second follower joins the tap as it is: the start it is given is not used.
  Collector second;
  tap.follow(&second, "ignored");
  tap.feed("a\nb");
  tap.feed("\n");
  CHECK(second.all() == "a\nb\n");
  CHECK(first.all() == "partial\nwhole\nhalff\na\nb\n");
  tap.unfollow(&first);
  tap.unfollow(&second);
  CHECK_FALSE(tap.following());
}

TEST_CASE("output tap: a line without an end is passed on at the cap; followers may leave") {
  OutputTap tap;
  Collector leaving, staying;
  leaving.leave_from = &tap;
  tap.follow(&leaving, "");
  tap.follow(&staying, "");
  tap.feed(std::string(OutputTap::kMaxLineBytes, 'x'));
  REQUIRE(staying.deliveries.size() == 1);
  CHECK(staying.deliveries[0].size() == OutputTap::kMaxLineBytes + 1);
  CHECK(leaving.deliveries.size() == 1);
  tap.feed("next\n");
  CHECK(leaving.deliveries.size() == 1);  // it left during the first
  CHECK(staying.deliveries.back() == "next\n");
}

TEST_CASE("tail: the last N lines, a cut first line dropped, a partial last line held") {
  CHECK(strings(last_lines("a\nb\nc\n", true, 2, false).lines) ==
        std::vector<std::string>{"b", "c"});
  CHECK(strings(last_lines("a\nb\nc\n", true, 10, false).lines) ==
        std::vector<std::string>{"a", "b", "c"});
  CHECK(last_lines("a\nb\nc\n", true, 0, false).lines.empty());
  // Not from the file's start: "ut" may be the end of a longer line.
  CHECK(strings(last_lines("ut\nb\nc\n", false, 10, false).lines) ==
        std::vector<std::string>{"b", "c"});
  // Without follow the incomplete last line is a line; with follow it waits for its end.
  CHECK(strings(last_lines("a\nb\npart", true, 2, false).lines) ==
        std::vector<std::string>{"b", "part"});
  auto held = last_lines("a\nb\npart", true, 2, true);
  CHECK(strings(held.lines) == std::vector<std::string>{"a", "b"});
  CHECK(held.partial == "part");
  CHECK(last_lines("", true, 10, true).lines.empty());
  CHECK(last_lines("only part", true, 10, true).partial == "only part");
  CHECK(strings(last_lines("\n\n", true, 10, false).lines) == std::vector<std::string>{"", ""});
}

TEST_CASE("log lines: hand-written JSON, the same as the library writes") {
  for (std::string text :
       {std::string("plain"), std::string("quote \" backslash \\ tab \t cr \r"),
        std::string("\x01\x1f\x7f controls"), std::string("utf-8: é ✓ 𝄞"), std::string("")}) {
    std::string ours;
    append_json_string(ours, text);
    CHECK(ours == Json(text).dump());
  }
  // Bytes that are not UTF-8 become U+FFFD, as to_line() replaces them.
  std::string ours;
  append_json_string(ours,
                     "a\xff"
                     "b\xc3");
  CHECK(ours ==
        "\"a\xEF\xBF\xBD"
        "b\xEF\xBF\xBD\"");
  std::string line;
  append_log_line(line, "web", "stdout", "hello");
  CHECK(line == "{\"name\":\"web\",\"stream\":\"stdout\",\"line\":\"hello\"}\n");
}

TEST_CASE("requests: logs and events") {
  auto logs = parse_request(R"({"cmd": "logs", "names": ["web"]})");
  REQUIRE(logs.ok());
  CHECK(logs->command == Command::logs);
  CHECK(logs->logs.lines == kDefaultLogLines);
  CHECK_FALSE(logs->logs.follow);
  CHECK(logs->logs.streams == LogStreams::both);
  auto full = parse_request(
      R"({"cmd": "logs", "names": ["all"], "lines": 3, "follow": true, "stream": "stderr"})");
  REQUIRE(full.ok());
  CHECK(full->logs.lines == 3);
  CHECK(full->logs.follow);
  CHECK(full->logs.streams == LogStreams::stderr_only);
  CHECK(parse_request(make_logs_request({"web"}, full->logs).dump())->logs.streams ==
        LogStreams::stderr_only);

  auto error = [](std::string_view line) {
    auto request = parse_request(line);
    REQUIRE_FALSE(request.ok());
    return request.error().message;
  };
  CHECK(error(R"({"cmd": "logs"})") ==
        "logs needs program names, or \"all\" (e.g. {\"cmd\": \"logs\", \"names\": [\"web\"]})");
  CHECK(error(R"({"cmd": "logs", "names": ["web"], "lines": -1})") ==
        "\"lines\" must be a whole number from 0 to 100000");
  CHECK(error(R"({"cmd": "logs", "names": ["web"], "lines": 100001})").find("\"lines\"") == 0);
  CHECK(error(R"({"cmd": "logs", "names": ["web"], "follow": 1})") ==
        "\"follow\" must be true or false");
  CHECK(error(R"({"cmd": "logs", "names": ["web"], "stream": "out"})") ==
        "\"stream\" must be \"stdout\", \"stderr\" or \"both\"");
  CHECK(error(R"({"cmd": "status", "follow": true})") ==
        "unknown key \"follow\" in a status request (\"follow\" is for logs)");
  CHECK(parse_request(R"({"cmd": "events"})")->command == Command::events);
  CHECK(error(R"({"cmd": "events", "names": ["web"]})") == "events takes no program names");
}

TEST_CASE("event lines: the documented fields, in order") {
  using namespace climits::supervisor;
  auto at = std::chrono::system_clock::time_point(std::chrono::milliseconds(1700000000123));
  auto state = Json::parse(event_line(
      {at, StateChanged{"web", State::running, State::stopping, "control: stop by uid 0"}}));
  CHECK(state.dump() ==
        R"({"event":"state","time":"2023-11-14T22:13:20.123Z","name":"web","from":"running",)"
        R"("to":"stopping","cause":"control: stop by uid 0"})");
  auto oom = Json::parse(event_line({at, OomKilled{"leaky", 1, 3}}));
  CHECK(oom.dump() ==
        R"({"event":"oom","time":"2023-11-14T22:13:20.123Z","name":"leaky","kills":1,"total":3})");
  auto pressure = Json::parse(event_line({at, MemoryPressure{"cache", 4}}));
  CHECK(pressure.dump() ==
        R"({"event":"pressure","time":"2023-11-14T22:13:20.123Z","name":"cache","total":4})");
  CHECK(event_text(pressure) == "2023-11-14T22:13:20.123Z cache memory pressure (4 in all)");
  ReloadResult result;
  result.added = {"new"};
  result.unchanged = 2;
  auto reload = Json::parse(event_line({at, Reloaded{result}}));
  CHECK(reload["event"] == "reload");
  CHECK(reload["ok"] == true);
  CHECK(reload["summary"] == "1 added, 0 removed, 0 restarted, 0 updated live, 2 unchanged");
  CHECK(reload["added"] == Json::array({"new"}));
  auto refused = Json::parse(event_line({at, ReloadRefused{"not valid", {"a:1:1: x"}}}));
  CHECK(refused.dump() ==
        R"({"event":"reload","time":"2023-11-14T22:13:20.123Z","ok":false,"error":"not valid",)"
        R"("errors":["a:1:1: x"]})");

  CHECK(event_text(state) ==
        "2023-11-14T22:13:20.123Z web running -> stopping (control: stop by uid 0)");
  CHECK(event_text(oom) == "2023-11-14T22:13:20.123Z leaky oom-killed 1 process (3 in all)");
  CHECK(event_text(reload) ==
        "2023-11-14T22:13:20.123Z reload: 1 added, 0 removed, 0 restarted, 0 updated live, 2 "
        "unchanged");
  CHECK(event_text(refused) == "2023-11-14T22:13:20.123Z reload refused: not valid");
  CHECK(event_text(Json::parse(R"({"event":"health","time":"T","name":"web","healthy":false})")) ==
        R"(T web health {"healthy":false})");
}

TEST_CASE("ctl words for log lines and the skip marker") {
  auto line = Json::parse(R"({"name":"web","stream":"stdout","line":"hello"})");
  CHECK(log_line_text(line, false) == "hello");
  CHECK(log_line_text(line, true) == "web | hello");
  CHECK(skipped_text(Json::parse(skipped_line(120, 3 << 20))) ==
        "skipped 120 lines (3M of output): this reader fell behind");
}

TEST_SUITE_END();
