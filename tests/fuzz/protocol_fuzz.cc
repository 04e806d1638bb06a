// libFuzzer target for the control protocol's codec: any bytes as what a client sends on the
// socket, cut into lines as the server cuts them (a last line without '\n' counts too), and
// the same bytes as what a manager answers (climits-ctl's side).
//
// Besides "no crash, no leak, no hang, no undefined behaviour", it checks:
// - the codec never throws (the server would turn it into an "internal error");
// - an accepted request obeys the grammar (names only where taken, without duplicates) and
//   survives make_request → to_line → parse_request unchanged;
// - a refused request's message, sent back as an error response, is one line that the
//   client parses as {"ok": false, "error": …};
// - a timestamp the client accepts is written back as one that means the same time.
#include <algorithm>
#include <csignal>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>
#include <string_view>

#include "control/protocol.h"

using namespace climits::control;

namespace {

[[noreturn]] void fail(const std::string& what, std::string_view detail) {
  std::fprintf(stderr, "protocol_fuzz: invariant broken: %s\n  %.*s\n", what.c_str(),
               static_cast<int>(std::min<std::size_t>(detail.size(), 2000)), detail.data());
  std::abort();
}

#define CHECK_THAT(condition, detail)           \
  do {                                          \
    if (!(condition)) fail(#condition, detail); \
  } while (0)

void check_line(const std::string& line) {
  CHECK_THAT(line.find('\n') == std::string::npos, line);
  CHECK_THAT(line.find('\r') == std::string::npos, line);
}

void check_request(std::string_view line) {
  auto request = parse_request(line);
  if (!request) {
    const std::string& message = request.error().message;
    CHECK_THAT(!message.empty(), line);
    std::string sent = to_line(error_response(message));
    check_line(sent);
    auto received = parse_response(sent);
    CHECK_THAT(received.ok(), sent);
    CHECK_THAT(!(*received)["ok"].get<bool>(), sent);
    CHECK_THAT((*received)["error"].is_string(), sent);
    return;
  }

  const Request& r = *request;
  std::string name = command_name(r.command);
  const CommandInfo& info = command_info(r.command);
  bool takes_names = info.names != Names::none;
  bool needs_names = info.names == Names::required;
  CHECK_THAT(takes_names || r.names.empty(), name);
  CHECK_THAT(!needs_names || !r.names.empty(), name);
  CHECK_THAT(std::set<std::string>(r.names.begin(), r.names.end()).size() == r.names.size(), line);

  // What climits-ctl would send for it means the same to the server.
  Json resent = make_request(r.command, r.names);
  if (r.command == Command::signal) {
    CHECK_THAT(r.signal >= 1 && r.signal <= SIGRTMAX, line);
    resent["signal"] = r.signal;
    resent["all_processes"] = r.all_processes;
  }
  std::string again = to_line(resent);
  check_line(again);
  auto reparsed = parse_request(again);
  CHECK_THAT(reparsed.ok(), again + " -> " + (reparsed ? "" : reparsed.error().message));
  CHECK_THAT(reparsed->command == r.command, again);
  CHECK_THAT(reparsed->names == r.names, again);
  CHECK_THAT(reparsed->all() == r.all(), again);
  CHECK_THAT(reparsed->signal == r.signal, again);
  CHECK_THAT(reparsed->all_processes == r.all_processes, again);
  CHECK_THAT(r.command == Command::logs || r.logs.lines == kDefaultLogLines, line);
  if (r.command == Command::logs) {
    CHECK_THAT(r.logs.lines <= kMaxLogLines, line);
    std::string logs = to_line(make_logs_request(r.names, r.logs));
    auto same = parse_request(logs);
    CHECK_THAT(same.ok(), logs);
    CHECK_THAT(same->logs.lines == r.logs.lines && same->logs.follow == r.logs.follow &&
                   same->logs.streams == r.logs.streams,
               logs);
  }
}

// The hand-written JSON of log lines: always one valid JSON string, and byte for byte what
// the library writes for the same text (after invalid UTF-8 is replaced).
void check_json_string(std::string_view text) {
  std::string ours;
  append_json_string(ours, text);
  check_line(ours);
  Json parsed = Json::parse(ours, nullptr, /*allow_exceptions=*/false);
  CHECK_THAT(parsed.is_string(), ours);
  CHECK_THAT(parsed.dump() == ours, ours);
}

void check_response(std::string_view line) {
  auto response = parse_response(line);
  if (!response) {
    CHECK_THAT(!response.error().message.empty(), line);
    return;
  }
  CHECK_THAT(response->is_object(), line);
  CHECK_THAT((*response)["ok"].is_boolean(), line);
  if (!(*response)["ok"].get<bool>()) CHECK_THAT((*response)["error"].is_string(), line);
  check_line(to_line(*response));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);

  // The server's framing: each '\n' ends a request; a last one without it counts at EOF.
  std::string_view rest = input;
  while (!rest.empty()) {
    std::size_t newline = rest.find('\n');
    std::string_view line = rest.substr(0, newline);
    if (line.ends_with('\r')) line.remove_suffix(1);
    check_request(line);
    if (newline == std::string_view::npos) break;
    rest.remove_prefix(newline + 1);
  }
  // The whole input as one line too: parse_request must also cope with what the server would
  // never pass it (a '\n' inside, more than the server's limit).
  if (input.find('\n') != std::string_view::npos) check_request(input);

  check_json_string(input);

  // climits-ctl's side: the same bytes as a response line, and as a timestamp in one.
  check_response(input);
  if (auto at = parse_iso8601_utc(input)) {
    std::string text = iso8601_utc(*at);
    CHECK_THAT(parse_iso8601_utc(text) == at, text);
  }
  return 0;
}
