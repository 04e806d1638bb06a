#pragma once
// The configuration as plain data: what the file says, after defaults, inheritance and path
// resolution. No yaml-cpp types here; the loader is the only place that knows YAML.
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace climits::config {

using Duration = std::chrono::milliseconds;

// A byte count where nullopt means "max" (no limit). An absent key means the same.
using ByteLimit = std::optional<std::uint64_t>;

// What an OOM kill of any process in the cgroup does while the main process lives
// (docs/configuration.md, systemd's OOMPolicy): count it; stop the program gracefully; kill the
// whole cgroup. Under stop and kill, the run's exit is classified an OOM kill, whatever its status.
enum class OomPolicy { continue_, stop, kill };

// `memory.pressure` (cgroup v2): warn when some tasks of the cgroup were stalled on memory for
// more than `threshold_percent` of `window` (a PSI trigger, docs/configuration.md).
struct PressureSettings {
  int threshold_percent = 0;  // 1…100
  Duration window{0};         // 500ms…10s
  bool operator==(const PressureSettings&) const = default;
};

struct MemorySettings {
  ByteLimit max;
  ByteLimit high;
  ByteLimit swap_max;
  std::optional<int> swappiness;           // cgroup v1 only; absent = inherit the parent's
  OomPolicy oom_policy = OomPolicy::stop;  // `oom_group: true` in the file is `kill`
  std::optional<PressureSettings> pressure;
  bool operator==(const MemorySettings&) const = default;
};

// `cpu:` (docs/configuration.md). Unset fields leave the kernel's default (no limit, weight 100).
struct CpuSettings {
  // CPU time per period of kCpuPeriodMicros, in microseconds: `max: 150%` is 150000 (1.5 CPUs).
  // nullopt (or `max`): no limit.
  std::optional<std::uint64_t> max_quota_micros;
  std::optional<int> weight;  // 1…10000; 100 is the kernel's default
  bool set() const { return max_quota_micros || weight; }
  bool operator==(const CpuSettings&) const = default;
};
inline constexpr std::uint64_t kCpuPeriodMicros = 100000;

// One entry of `io.max`: a block device, resolved to its numbers when the file is loaded, and
// its throttles (nullopt: none).
struct IoDeviceMax {
  std::string device;  // as written: /dev/vda
  unsigned major = 0;
  unsigned minor = 0;
  ByteLimit read_bps;
  ByteLimit write_bps;
  std::optional<std::uint64_t> read_iops;
  std::optional<std::uint64_t> write_iops;
  bool operator==(const IoDeviceMax&) const = default;
};

// `io:` (docs/configuration.md).
struct IoSettings {
  std::optional<int> weight;  // 1…10000; cgroup v1 clamps it to 10…1000
  std::vector<IoDeviceMax> max;
  bool set() const { return weight || !max.empty(); }
  bool operator==(const IoSettings&) const = default;
};

enum class RestartPolicy { always, on_failure, on_oom, never };

struct BackoffSettings {
  Duration initial{1000};
  Duration max{60000};
  double factor = 2.0;
  double jitter = 0.1;
  bool operator==(const BackoffSettings&) const = default;
};

struct StartLimit {
  int burst = 5;
  Duration interval{120000};
  bool operator==(const StartLimit&) const = default;
};

struct RestartSettings {
  RestartPolicy policy = RestartPolicy::on_failure;
  BackoffSettings backoff;
  Duration reset_after{60000};
  StartLimit limit;
  bool operator==(const RestartSettings&) const = default;
};

struct StopSettings {
  int signal = 15;  // SIGTERM
  Duration timeout{10000};
  bool operator==(const StopSettings&) const = default;
};

enum class OutputTarget {
  file,     // `path` holds the file (auto is resolved to <log_dir>/<name>.<stream>.log)
  inherit,  // the manager's own stdout/stderr
  discard,  // /dev/null
  merge,    // stderr only: into the stdout target
};

struct OutputSettings {
  OutputTarget target = OutputTarget::file;
  bool automatic = true;  // `file: auto` (path derived from log_dir and the program name)
  std::string path;
  std::uint64_t max_size = 10ull << 20;  // rotate when the file would grow past this
  int keep = 5;                          // rotated files kept: .1 (newest) … .keep
  bool operator==(const OutputSettings&) const = default;
};

// A user's passwd entry, as far as a program needs it: its environment (HOME, USER, LOGNAME,
// SHELL, as systemd sets them) and its primary group.
struct UserEntry {
  std::string name;
  gid_t gid = 0;
  std::string home;
  std::string shell;
  bool operator==(const UserEntry&) const = default;
};

// Who a program runs as, resolved from `user` and `group` when the file is loaded
// (config/accounts.h): starting a program then never waits on NSS, and the helper gets plain
// numbers.
struct Identity {
  std::optional<uid_t> uid;  // unset: only the group changes
  gid_t gid = 0;
  std::vector<gid_t> groups;            // supplementary groups, set before the gid and the uid
  std::optional<UserEntry> user_entry;  // none for a numeric uid without a passwd entry
  bool operator==(const Identity&) const = default;
};

// What a dependent waits for (docs/health.md): its dependency has a live process (started), is
// `running` (ready), or exited 0 since it was last started (succeeded: one-shot jobs).
enum class DependencyCondition { started, ready, succeeded };

struct Dependency {
  std::string name;
  DependencyCondition condition = DependencyCondition::started;
  bool restart = false;  // restarted whenever the dependency restarts
  bool operator==(const Dependency&) const = default;
};

struct Program {
  std::string name;
  std::vector<std::string> command;  // command[0] is absolute, or a bare name looked up in PATH
  std::string directory;             // absolute
  std::map<std::string, std::string> environment;  // added to the manager's environment
  std::optional<std::string> user;
  std::optional<std::string> group;
  std::optional<Identity> identity;  // from user and group; none when neither is set
  std::optional<mode_t> umask;
  bool autostart = true;
  MemorySettings memory;
  ByteLimit pids_max;
  CpuSettings cpu;
  IoSettings io;
  RestartSettings restart;
  Duration start_settle{1000};
  StopSettings stop;
  OutputSettings stdout_output;
  OutputSettings stderr_output;
  std::vector<Dependency> depends_on;  // in file order
  bool operator==(const Program&) const = default;
};

enum class LogLevel { trace, debug, info, warn, error };

struct ManagerSettings {
  std::string cgroup_root = "auto";  // "auto" or an absolute path
  std::string control_socket = "/run/climits-manager/control.sock";
  std::optional<std::string> control_group;
  LogLevel log_level = LogLevel::info;
  std::string log_dir = "/var/log/climits-manager";
  bool operator==(const ManagerSettings&) const = default;
};

struct Config {
  std::string source_path;  // the file as named by the user
  ManagerSettings manager;
  std::vector<Program> programs;  // in file order

  const Program* find(const std::string& name) const;
};

}  // namespace climits::config
