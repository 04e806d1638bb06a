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

std::string pressure_text(const std::optional<PressureTrigger>& trigger) {
  if (!trigger || trigger->window_micros == 0) return "none";
  return std::to_string(trigger->stall_micros * 100 / trigger->window_micros) + "% of " +
         std::to_string(trigger->window_micros / 1000) + "ms";
}

std::string cpu_max_text(const std::optional<std::uint64_t>& quota) {
  if (!quota) return "max";
  std::string text = std::to_string(*quota / 1000);
  if (std::uint64_t rest = *quota % 1000; rest != 0) {
    std::string fraction = std::to_string(1000 + rest).substr(1);
    while (fraction.back() == '0') fraction.pop_back();
    text += "." + fraction;
  }
  return text + "%";
}

std::string weight_text(const std::optional<int>& weight) {
  return weight ? std::to_string(*weight) : "default";
}

std::string device_text(const IoDeviceLimits& device) {
  std::string text;
  auto add = [&text](const char* key, const std::optional<std::uint64_t>& value, bool bytes) {
    if (!value) return;
    text += (text.empty() ? "" : " ") + std::string(key) + "=" +
            (bytes ? format_bytes(*value) : std::to_string(*value));
  };
  add("read_bps", device.read_bps, true);
  add("write_bps", device.write_bps, true);
  add("read_iops", device.read_iops, false);
  add("write_iops", device.write_iops, false);
  return text;
}

// "8:0 read_bps=50M; 254:0 write_iops=100", or "none".
std::string devices_text(const std::vector<IoDeviceLimits>& devices) {
  std::string text;
  for (const auto& device : devices)
    text += (text.empty() ? "" : "; ") + std::to_string(device.major) + ":" +
            std::to_string(device.minor) + " " + device_text(device);
  return text.empty() ? "none" : text;
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
  add("memory.pressure", pressure_text(from.memory.pressure), pressure_text(to.memory.pressure));
  add("pids_max", count_text(from.pids_max), count_text(to.pids_max));
  add("cpu.max", cpu_max_text(from.cpu.quota_micros), cpu_max_text(to.cpu.quota_micros));
  add("cpu.weight", weight_text(from.cpu.weight), weight_text(to.cpu.weight));
  add("io.weight", weight_text(from.io.weight), weight_text(to.io.weight));
  add("io.max", devices_text(from.io.devices), devices_text(to.io.devices));
  return text;
}

}  // namespace climits::cgroup
