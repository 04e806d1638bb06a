#pragma once
// What a program's cgroup is given, in the cgroup layer's own words: the supervisor fills it
// from the configuration (the desired limits) and records what the kernel accepted (the
// applied limits). Plain data; the backends map it to knob names.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace climits::cgroup {

// A byte count; nullopt means no limit ("max").
using ByteLimit = std::optional<std::uint64_t>;

// A PSI trigger: some tasks stalled on memory for more than stall_micros in window_micros.
struct PressureTrigger {
  std::uint64_t stall_micros = 0;
  std::uint64_t window_micros = 0;
  bool operator==(const PressureTrigger&) const = default;
};

struct MemoryLimits {
  ByteLimit max;
  ByteLimit high;
  ByteLimit swap_max;
  std::optional<int> swappiness;  // cgroup v1 only; absent = follow the parent
  bool oom_group = false;         // cgroup v2 only
  // cgroup v2 only: not written by apply() but watched by the supervisor (watch_pressure).
  std::optional<PressureTrigger> pressure;
  bool operator==(const MemoryLimits&) const = default;
};

// CPU time: quota_micros per kCpuPeriodMicros (nullopt: no limit), and a weight (1…10000,
// v2's scale; nullopt: the kernel's default, 100).
struct CpuLimits {
  std::optional<std::uint64_t> quota_micros;
  std::optional<int> weight;
  bool set() const { return quota_micros || weight; }
  bool operator==(const CpuLimits&) const = default;
};
inline constexpr std::uint64_t kCpuPeriodMicros = 100000;

// Throttles of one block device (nullopt: none), named by its numbers.
struct IoDeviceLimits {
  unsigned major = 0;
  unsigned minor = 0;
  ByteLimit read_bps;
  ByteLimit write_bps;
  std::optional<std::uint64_t> read_iops;
  std::optional<std::uint64_t> write_iops;
  bool operator==(const IoDeviceLimits&) const = default;
};

struct IoLimits {
  std::optional<int> weight;  // 1…10000 (v2's scale); nullopt: the kernel's default
  std::vector<IoDeviceLimits> devices;
  bool set() const { return weight || !devices.empty(); }
  bool operator==(const IoLimits&) const = default;
};

struct Limits {
  MemoryLimits memory;
  ByteLimit pids_max;
  CpuLimits cpu;
  IoLimits io;
  bool operator==(const Limits&) const = default;
};

// "memory.max 128M -> 16M, pids_max max -> 64": every setting that differs, named by its
// configuration key, for the log line of a live change and the report of a pending one.
// Empty when nothing differs.
std::string describe_change(const Limits& from, const Limits& to);

}  // namespace climits::cgroup
