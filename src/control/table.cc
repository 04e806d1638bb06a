#include "control/table.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <tuple>
#include <vector>

#include "util/text.h"

namespace climits::control {

namespace {

constexpr std::array<const char*, std::tuple_size_v<StatusRow>> kColumns = {
    "NAME", "STATE", "PID", "UPTIME", "MEM", "PEAK", "LIMIT", "RESTARTS", "OOM", "LAST-EXIT"};

const Json* field(const Json& object, const char* key) {
  if (!object.is_object()) return nullptr;
  auto it = object.find(key);
  return it == object.end() ? nullptr : &*it;
}

std::string text_of(const Json& object, const char* key) {
  const Json* value = field(object, key);
  if (value == nullptr || !value->is_string()) return "?";
  return value->get<std::string>();
}

// An unsigned count or byte size: "-" for null, "?" for anything else that is not a number.
template <typename Format>
std::string number_of(const Json& object, const char* key, Format format) {
  const Json* value = field(object, key);
  if (value == nullptr || value->is_null()) return "-";
  if (value->is_number_unsigned()) return format(value->get<std::uint64_t>());
  if (value->is_number_integer() && value->get<std::int64_t>() >= 0)
    return format(static_cast<std::uint64_t>(value->get<std::int64_t>()));
  return "?";
}

std::string plain(std::uint64_t n) {
  return std::to_string(n);
}

}  // namespace

std::string format_uptime(double seconds) {
  if (!(seconds >= 0)) seconds = 0;
  auto total = static_cast<std::uint64_t>(std::floor(seconds));
  std::uint64_t days = total / 86400, hours = total % 86400 / 3600, minutes = total % 3600 / 60,
                secs = total % 60;
  if (days > 0) return std::to_string(days) + "d" + std::to_string(hours) + "h";
  if (hours > 0) return std::to_string(hours) + "h" + std::to_string(minutes) + "m";
  if (minutes > 0) return std::to_string(minutes) + "m" + std::to_string(secs) + "s";
  return std::to_string(secs) + "s";
}

std::string last_exit_text(const Json& last_exit, std::chrono::system_clock::time_point now) {
  if (last_exit.is_null()) return "-";
  if (!last_exit.is_object()) return "?";
  std::string text;
  if (const Json* description = field(last_exit, "description");
      description != nullptr && description->is_string()) {
    text = description->get<std::string>();
  } else {
    text = text_of(last_exit, "kind");
    if (const Json* code = field(last_exit, "code"); code != nullptr && code->is_number_integer())
      text += " " + std::to_string(code->get<std::int64_t>());
    if (const Json* signal = field(last_exit, "signal"); signal != nullptr && signal->is_string())
      text += " " + signal->get<std::string>();
  }
  if (const Json* at = field(last_exit, "at"); at != nullptr && at->is_string()) {
    if (auto when = parse_iso8601_utc(at->get<std::string>())) {
      double ago = std::chrono::duration<double>(now - *when).count();
      text += " (" + format_uptime(std::max(0.0, ago)) + " ago)";
    }
  }
  return text;
}

StatusRow status_row(const Json& program, std::chrono::system_clock::time_point now) {
  std::string uptime = "-";
  const Json* pid = field(program, "pid");
  const Json* up = field(program, "uptime_seconds");
  if (pid != nullptr && !pid->is_null() && up != nullptr && up->is_number())
    uptime = format_uptime(up->get<double>());
  const Json* last_exit = field(program, "last_exit");
  return {
      text_of(program, "name"),
      text_of(program, "state"),
      number_of(program, "pid", plain),
      uptime,
      number_of(program, "memory_bytes", format_bytes),
      number_of(program, "memory_peak_bytes", format_bytes),
      number_of(program, "memory_max_bytes", format_bytes),
      number_of(program, "restarts", plain),
      number_of(program, "oom_kills", plain),
      last_exit != nullptr ? last_exit_text(*last_exit, now) : "?",
  };
}

std::string format_status_rows(const std::vector<StatusRow>& rows) {
  StatusRow header;
  std::copy(kColumns.begin(), kColumns.end(), header.begin());
  std::array<std::size_t, kColumns.size()> widths{};
  for (std::size_t i = 0; i < header.size(); ++i) widths[i] = header[i].size();
  for (const auto& row : rows)
    for (std::size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  std::size_t line_bytes = 1;
  for (std::size_t width : widths) line_bytes += width + 2;
  std::string out;
  out.reserve(line_bytes * (rows.size() + 1));
  auto add = [&](const StatusRow& row) {
    std::size_t begin = out.size();
    for (std::size_t i = 0; i < row.size(); ++i) {
      out += row[i];
      if (i + 1 < row.size()) out.append(widths[i] - row[i].size() + 2, ' ');
    }
    while (out.size() > begin && out.back() == ' ') out.pop_back();
    out += '\n';
  };
  add(header);
  for (const auto& row : rows) add(row);
  return out;
}

std::string format_status_table(const Json& programs, std::chrono::system_clock::time_point now) {
  std::vector<StatusRow> rows;
  if (programs.is_array()) {
    rows.reserve(programs.size());
    for (const auto& program : programs) rows.push_back(status_row(program, now));
  }
  return format_status_rows(rows);
}

}  // namespace climits::control
