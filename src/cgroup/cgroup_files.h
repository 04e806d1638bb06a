#pragma once
// File-level operations shared by both backends: counters, process lists, creating, emptying
// and removing cgroup directories. No knob names here; the backends pass the paths.
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace climits::cgroup::files {

// The value of `key` in the text of a "key value" per-line file; nullopt if absent.
std::optional<std::uint64_t> keyed_value(std::string_view text, std::string_view key);

// The value of `key` in a "key value" per-line file (memory.events, memory.oom_control).
Result<std::uint64_t> read_keyed_counter(const std::string& path, std::string_view key);

// A file holding one number; "max" reads as UINT64_MAX.
Result<std::uint64_t> read_number(const std::string& path);

// The first word of every line of a per-device file ("8:0 1048576", "8:0 rbps=… wbps=…"):
// the devices it holds a setting for.
Result<std::vector<std::string>> read_device_keys(const std::string& path);

// The pids listed in a cgroup.procs file. A 0 (a process outside our pid namespace) is
// dropped: kill(0, …) would signal our own process group.
Result<std::vector<pid_t>> read_pids(const std::string& procs_path);

// mkdir that accepts an existing directory: true when it made it now.
Result<bool> make_dir(const std::string& path);

// mkdir -p inside a cgroup filesystem (each mkdir creates a cgroup). The directories made
// now are added to `made` (outermost first), when given.
Result<void> make_dirs(const std::string& path, std::vector<std::string>* made = nullptr);

// rmdir that accepts a missing directory and retries while the kernel still reports the
// cgroup busy (a killed process can take a moment to leave it).
Result<void> remove_dir(const std::string& path, std::chrono::milliseconds patience);

// One pass: SIGKILLs every process listed in each procs file but `spare` (0: none) and
// returns how many were listed (0: empty). Never waits; a missing file counts as empty.
Result<std::size_t> kill_pass(const std::vector<std::string>& procs_paths, pid_t spare);

// Removes `dir` and every cgroup below it, children first, without waiting: EBUSY while one
// still holds a process. A missing directory is fine.
Result<void> remove_empty_tree(const std::string& dir);

// The blocking forms below wait up to `patience`: for start-up and tests only, never on the
// supervisor's loop.
// SIGKILLs every process listed in each procs file, again and again, until all are empty:
// a process that forks while we read the list is caught on the next pass. `spare` (0: none)
// is neither killed nor waited for.
Result<void> kill_until_empty(const std::vector<std::string>& procs_paths,
                              std::chrono::milliseconds patience, pid_t spare = 0);

// `dir` and every cgroup below it, children before parents (the order rmdir needs).
std::vector<std::string> cgroup_tree(const std::string& dir);

// Names of subdirectories of `dir` that start with `prefix`.
Result<std::vector<std::string>> list_children(const std::string& dir, std::string_view prefix);

bool exists(const std::string& path);

}  // namespace climits::cgroup::files
