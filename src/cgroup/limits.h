#pragma once
// What a program's cgroup is given, in the cgroup layer's own words: the supervisor fills it
// from the configuration (the desired limits) and records what the kernel accepted (the
// applied limits). Plain data; the backends map it to knob names.
#include <cstdint>
#include <optional>
#include <string>

namespace climits::cgroup {

// A byte count; nullopt means no limit ("max").
using ByteLimit = std::optional<std::uint64_t>;

struct MemoryLimits {
  ByteLimit max;
  ByteLimit high;
  ByteLimit swap_max;
  std::optional<int> swappiness;  // cgroup v1 only; absent = follow the parent
  bool oom_group = false;         // cgroup v2 only
  bool operator==(const MemoryLimits&) const = default;
};

struct Limits {
  MemoryLimits memory;
  ByteLimit pids_max;
  bool operator==(const Limits&) const = default;
};

// "memory.max 128M -> 16M, pids_max max -> 64": every setting that differs, named by its
// configuration key, for the log line of a live change and the report of a pending one.
// Empty when nothing differs.
std::string describe_change(const Limits& from, const Limits& to);

}  // namespace climits::cgroup
