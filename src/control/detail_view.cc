#include "control/detail_view.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <string_view>
#include <vector>

#include "control/table.h"
#include "util/text.h"

namespace climits::control {

namespace {

// Where the values start: past the longest key ("memory.swappiness:").
constexpr std::size_t kKeyWidth = 22;

const Json& field(const Json& object, const char* key) {
  static const Json kMissing;
  if (!object.is_object()) return kMissing;
  auto it = object.find(key);
  return it == object.end() ? kMissing : *it;
}

std::string text(const Json& value) {
  return value.is_string() ? value.get<std::string>() : "?";
}

// A byte count or a count: `null_text` for null (unlimited, or none), "?" for a wrong type.
std::string number(const Json& value, const char* null_text, bool bytes) {
  if (value.is_null()) return null_text;
  if (!value.is_number_integer() || value.get<std::int64_t>() < 0) return "?";
  auto n = value.get<std::uint64_t>();
  return bytes ? format_bytes(n) : std::to_string(n);
}

// How long a run lasted: crash loops last milliseconds, so below a minute it is precise
// ("250ms", "1.5s"); above, as uptimes are ("4m10s").
std::string run_length(double seconds) {
  if (!(seconds >= 0)) return "?";
  if (seconds < 1) return std::to_string(static_cast<int>(seconds * 1000 + 0.5)) + "ms";
  if (seconds < 60) {
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%.1fs", seconds);
    return buffer;
  }
  return format_uptime(seconds);
}

void line(std::string& out, const std::string& key, const std::string& value) {
  std::string start = "  " + key + ":";
  start.append(start.size() < kKeyWidth ? kKeyWidth - start.size() : 1, ' ');
  out += start + value + "\n";
}

// Columns aligned, two spaces apart, no trailing spaces; each row indented by two.
void table(std::string& out, const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> widths;
  for (const auto& row : rows) {
    widths.resize(std::max(widths.size(), row.size()));
    for (std::size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  for (const auto& row : rows) {
    std::string text = "  ";
    for (std::size_t i = 0; i < row.size(); ++i) {
      text += row[i];
      if (i + 1 < row.size()) text.append(widths[i] - row[i].size() + 2, ' ');
    }
    while (text.back() == ' ') text.pop_back();
    out += text + "\n";
  }
}

void program_group(std::string& out, const Json& program,
                   std::chrono::system_clock::time_point now) {
  out += "program " + text(field(program, "name")) + "\n";
  line(out, "state", text(field(program, "state")));
  if (const Json& waiting = field(program, "waiting_for"); waiting.is_array()) {
    std::string names;
    for (const auto& name : waiting) names += (names.empty() ? "" : ", ") + text(name);
    line(out, "waiting for", names);
  }
  line(out, "pid", number(field(program, "pid"), "-", false));
  const Json& uptime = field(program, "uptime_seconds");
  line(out, "uptime",
       field(program, "pid").is_null() ? "-"
       : uptime.is_number()            ? format_uptime(uptime.get<double>())
                                       : "?");
  line(out, "restarts", number(field(program, "restarts"), "-", false));
  line(out, "oom kills", number(field(program, "oom_kills"), "-", false));
  if (const Json& at = field(program, "last_oom_at"); at.is_string())
    line(out, "last oom kill", at.get<std::string>());
  line(out, "last exit", last_exit_text(field(program, "last_exit"), now));
  line(out, "cgroup", text(field(program, "cgroup")));
}

void memory_group(std::string& out, const Json& program) {
  out += "\nmemory\n";
  line(out, "usage", number(field(program, "memory_bytes"), "-", true));
  line(out, "peak", number(field(program, "memory_peak_bytes"), "-", true));
  line(out, "limit", number(field(program, "memory_max_bytes"), "none", true));
}

void cpu_group(std::string& out, const Json& program) {
  auto seconds = [](const Json& value) {
    if (!value.is_number()) return std::string("-");
    char text[32];
    std::snprintf(text, sizeof text, "%.2f s", value.get<double>());
    return std::string(text);
  };
  out += "\ncpu\n";
  line(out, "time", seconds(field(program, "cpu_seconds")));
  line(out, "throttled", seconds(field(program, "cpu_throttled_seconds")));
}

// "254:0 read_bps=50 MiB write_iops=500; …", or "none".
std::string io_max_text(const Json& devices) {
  if (!devices.is_array()) return "-";
  std::string all;
  for (const auto& device : devices) {
    std::string entry = text(field(device, "device"));
    for (const char* key : {"read_bps", "write_bps", "read_iops", "write_iops"})
      if (const Json& v = field(device, key); v.is_number())
        entry +=
            std::string(" ") + key + "=" + number(v, "max", std::string_view(key).ends_with("bps"));
    all += (all.empty() ? "" : "; ") + entry;
  }
  return all.empty() ? "none" : all;
}

// Each limit as the configuration names it, the desired value beside the applied one.
void limits_group(std::string& out, const Json& program) {
  const Json& limits = field(program, "limits");
  const Json& desired = field(limits, "desired");
  const Json& applied = field(limits, "applied");
  struct Row {
    const char* key;
    const char* field;
    enum { bytes, count, swappiness, flag, percent, weight, devices } kind;
  };
  constexpr Row kRows[] = {
      {"memory.max", "memory_max_bytes", Row::bytes},
      {"memory.high", "memory_high_bytes", Row::bytes},
      {"memory.swap_max", "memory_swap_max_bytes", Row::bytes},
      {"memory.swappiness", "memory_swappiness", Row::swappiness},
      {"memory.oom_group", "memory_oom_group", Row::flag},
      {"pids_max", "pids_max", Row::count},
      {"cpu.max", "cpu_max_percent", Row::percent},
      {"cpu.weight", "cpu_weight", Row::weight},
      {"io.weight", "io_weight", Row::weight},
      {"io.max", "io_max", Row::devices},
  };
  auto value = [](const Json& limits, const Row& row) -> std::string {
    if (limits.is_null()) return "-";  // nothing applied yet
    const Json& v = field(limits, row.field);
    switch (row.kind) {
      case Row::bytes:
        return number(v, "max", true);
      case Row::count:
        return number(v, "max", false);
      case Row::swappiness:
        return number(v, "inherited", false);
      case Row::flag:
        return v.is_boolean() ? (v.get<bool>() ? "true" : "false") : "?";
      case Row::percent: {
        if (!v.is_number()) return "max";
        char text[32];
        std::snprintf(text, sizeof text, "%g%%", v.get<double>());
        return text;
      }
      case Row::weight:
        return number(v, "default", false);
      case Row::devices:
        return io_max_text(v);
    }
    return "?";
  };
  std::vector<std::vector<std::string>> rows{{"", "desired", "applied"}};
  for (const auto& row : kRows)
    rows.push_back({std::string(row.key) + ":", value(desired, row), value(applied, row)});
  // The key column is as wide as in the other groups.
  for (auto& row : rows) row[0].append(kKeyWidth - 4 - std::min(kKeyWidth - 4, row[0].size()), ' ');
  out += "\nlimits\n";
  table(out, rows);
  if (const Json& pending = field(program, "limits_pending"); !pending.is_null())
    line(out, "pending", text(pending));
}

std::string output_text(const Json& output) {
  std::string target = text(field(output, "target"));
  if (target == "file")
    return text(field(output, "path")) + " (rotated at " +
           number(field(output, "max_size_bytes"), "-", true) + ", " +
           number(field(output, "keep"), "-", false) + " kept)";
  if (target == "inherit") return "the manager's own (inherit)";
  if (target == "null") return "discarded (null)";
  if (target == "stdout") return "into stdout";
  return target;
}

void output_group(std::string& out, const Json& program) {
  const Json& output = field(program, "output");
  out += "\noutput\n";
  line(out, "stdout", output_text(field(output, "stdout")));
  line(out, "stderr", output_text(field(output, "stderr")));
}

void history_group(std::string& out, const Json& program,
                   std::chrono::system_clock::time_point now) {
  const Json& history = field(program, "history");
  out += "\nhistory (newest first)\n";
  if (!history.is_array() || history.empty()) {
    out += "  no exit yet\n";
    return;
  }
  std::vector<std::vector<std::string>> rows{{"AT", "KIND", "CODE/SIGNAL", "RAN", "PID"}};
  for (const auto& exit : history) {
    std::string at = text(field(exit, "at"));
    if (auto when = parse_iso8601_utc(at))
      at += " (" + format_uptime(std::chrono::duration<double>(now - *when).count()) + " ago)";
    const Json& code = field(exit, "code");
    const Json& signal = field(exit, "signal");
    std::string code_or_signal = signal.is_string()         ? signal.get<std::string>()
                                 : code.is_number_integer() ? std::to_string(code.get<int>())
                                                            : "-";
    const Json& ran = field(exit, "run_seconds");
    std::vector<std::string> row{at, text(field(exit, "kind")), code_or_signal,
                                 ran.is_number() ? run_length(ran.get<double>()) : "?",
                                 number(field(exit, "pid"), "-", false)};
    // What went wrong before anything ran: "spawn error: ./app: No such file or directory".
    if (text(field(exit, "kind")) == "spawn-error") row.push_back(text(field(exit, "description")));
    rows.push_back(std::move(row));
  }
  table(out, rows);
}

}  // namespace

std::string format_detail_view(const Json& program, std::chrono::system_clock::time_point now) {
  std::string out;
  program_group(out, program, now);
  memory_group(out, program);
  cpu_group(out, program);
  limits_group(out, program);
  output_group(out, program);
  history_group(out, program, now);
  return out;
}

}  // namespace climits::control
