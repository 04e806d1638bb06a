#include "cgroup/limits.h"

#include "util/text.h"

namespace climits::cgroup {

namespace {

std::string bytes_text(const ByteLimit& limit) {
  return limit ? format_bytes(*limit) : "max";
}

std::string count_text(const ByteLimit& limit) {
  return limit ? std::to_string(*limit) : "max";
}

std::string swappiness_text(const std::optional<int>& value) {
  return value ? std::to_string(*value) : "inherited";
}

}  // namespace

std::string describe_change(const Limits& from, const Limits& to) {
  std::string text;
  auto add = [&text](const char* key, const std::string& before, const std::string& after) {
    if (before == after) return;
    text += (text.empty() ? "" : ", ") + std::string(key) + " " + before + " -> " + after;
  };
  add("memory.max", bytes_text(from.memory.max), bytes_text(to.memory.max));
  add("memory.high", bytes_text(from.memory.high), bytes_text(to.memory.high));
  add("memory.swap_max", bytes_text(from.memory.swap_max), bytes_text(to.memory.swap_max));
  add("memory.swappiness", swappiness_text(from.memory.swappiness),
      swappiness_text(to.memory.swappiness));
  add("memory.oom_group", from.memory.oom_group ? "true" : "false",
      to.memory.oom_group ? "true" : "false");
  add("pids_max", count_text(from.pids_max), count_text(to.pids_max));
  return text;
}

}  // namespace climits::cgroup
