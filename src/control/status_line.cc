#include "control/status_line.h"

#include <charconv>
#include <cmath>
#include <string_view>

#include "control/protocol.h"

namespace climits::control {

namespace {

class LineWriter {
 public:
  explicit LineWriter(std::string& out) : out_(out) {}

  void raw(std::string_view text) { out_.append(text); }

  void key(std::string_view name) {
    out_ += '"';
    out_.append(name);
    out_ += "\":";
  }

  // Printable ASCII without a quote or backslash is written as it is; anything else (escapes,
  // UTF-8, bytes that are not UTF-8) goes through the library's own writer, so that the bytes
  // stay those of to_line().
  void string(std::string_view text) {
    bool plain = true;
    for (char c : text)
      if (c < 0x20 || c > 0x7e || c == '"' || c == '\\') {
        plain = false;
        break;
      }
    if (!plain) {
      out_ += to_line(Json(text));
      return;
    }
    out_ += '"';
    out_.append(text);
    out_ += '"';
  }

  template <typename Integer>
  void integer(Integer value) {
    char buffer[24];
    auto [end, error] = std::to_chars(buffer, buffer + sizeof buffer, value);
    out_.append(buffer, end);
  }

  template <typename T, typename Write>
  void optional(const std::optional<T>& value, Write write) {
    if (value)
      write(*value);
    else
      out_ += "null";
  }

 private:
  std::string& out_;
};

// The fields and their order are status_json's (protocol.cc); keep the two in step.
void write_program(LineWriter& line, const supervisor::ProgramStatus& status) {
  auto integer = [&](auto value) { line.integer(value); };
  line.key("name");
  line.string(status.name);
  line.raw(",");
  line.key("state");
  line.string(supervisor::state_name(status.state));
  line.raw(",");
  line.key("pid");
  line.optional(status.pid, integer);
  line.raw(",");
  line.key("uptime_seconds");
  // A double is printed by the library, whose shortest form (and "12.0") to_line() has.
  line.raw(to_line(Json(std::round(status.uptime_seconds * 1000.0) / 1000.0)));
  line.raw(",");
  line.key("memory_bytes");
  line.integer(status.memory_bytes);
  line.raw(",");
  line.key("memory_peak_bytes");
  line.optional(status.memory_peak_bytes, integer);
  line.raw(",");
  line.key("memory_max_bytes");
  line.optional(status.memory_max_bytes, integer);
  line.raw(",");
  line.key("restarts");
  line.integer(status.restarts);
  line.raw(",");
  line.key("oom_kills");
  line.integer(status.oom_kills);
  line.raw(",");
  line.key("last_exit");
  line.optional(status.last_exit,
                [&](const supervisor::ExitInfo& exit) { line.raw(to_line(exit_json(exit))); });
  line.raw(",");
  line.key("cgroup");
  line.string(status.cgroup);
  line.raw(",");
  line.key("limits_pending");
  line.optional(status.limits_pending, [&](const std::string& text) { line.string(text); });
  line.raw(",");
  line.key("last_oom_at");
  line.optional(status.last_oom_at,
                [&](std::chrono::system_clock::time_point at) { line.string(iso8601_utc(at)); });
  // Doubles are printed by the library, as status_json rounds them.
  auto seconds = [&](double value) { line.raw(to_line(Json(std::round(value * 1e6) / 1e6))); };
  line.raw(",");
  line.key("cpu_seconds");
  line.optional(status.cpu_seconds, seconds);
  line.raw(",");
  line.key("cpu_throttled_seconds");
  line.optional(status.cpu_throttled_seconds, seconds);
  line.raw(",");
  line.key("pressure_events");
  line.integer(status.pressure_events);
  line.raw(",");
  line.key("waiting_for");
  if (status.state != supervisor::State::waiting) {
    line.raw("null");
    return;
  }
  line.raw("[");
  for (std::size_t i = 0; i < status.waiting_for.size(); ++i) {
    if (i > 0) line.raw(",");
    line.string(status.waiting_for[i]);
  }
  line.raw("]");
}

}  // namespace

std::string status_line(const std::vector<supervisor::ProgramStatus>& programs) {
  std::string out;
  // About 400 bytes a program (most of it the cgroup path): one allocation, not a doubling.
  std::size_t guess = 32;
  for (const auto& program : programs) guess += 320 + program.name.size() + program.cgroup.size();
  out.reserve(guess);
  LineWriter line(out);
  line.raw(R"({"ok":true,"programs":[)");
  for (std::size_t i = 0; i < programs.size(); ++i) {
    if (i > 0) line.raw(",");
    line.raw("{");
    write_program(line, programs[i]);
    line.raw("}");
  }
  line.raw("]}");
  return out;
}

}  // namespace climits::control
