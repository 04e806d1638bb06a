#pragma once
// One interface over cgroup v1 and v2, chosen once at start-up (open_backend). Everything
// version-specific — knob names, how limits combine, how to kill a whole cgroup — lives in
// backend_v1.cc and backend_v2.cc; callers speak only of programs by name.
#include <sys/types.h>
#include <uv.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cgroup/layout.h"
#include "cgroup/limits.h"
#include "cgroup/oom_watcher.h"
#include "cgroup/pressure_watch.h"
#include "util/result.h"

namespace climits::cgroup {

struct MemoryUsage {
  std::uint64_t current = 0;
  std::optional<std::uint64_t> peak;  // absent where the kernel has no peak file
  ByteLimit max;                      // the limit in force (nullopt = unlimited)
};

// CPU time the program's cgroup has used, where the kernel reports it (absent otherwise: on
// v1 only programs that set cpu: have cpu and cpuacct cgroups).
struct CpuUsage {
  std::optional<double> seconds;            // user + system
  std::optional<double> throttled_seconds;  // time its tasks waited for the next period
};

// Settings the running kernel cannot honour; logged as warnings, never fatal.
using Warnings = std::vector<std::string>;

class Backend {
 public:
  explicit Backend(int lock_fd) : lock_fd_(lock_fd) {}
  virtual ~Backend();
  Backend(const Backend&) = delete;
  Backend& operator=(const Backend&) = delete;

  virtual Version version() const = 0;
  // Human description of where programs go, for --check and the start-up log.
  virtual std::string describe() const = 0;
  // The program's cgroup directory (the memory one on v1), shown in status.
  virtual std::string path_of(const std::string& program) const = 0;
  // Files a process writes its own pid into to enter the program's cgroup(s), in order.
  virtual std::vector<std::string> entry_files(const std::string& program,
                                               const Limits& limits) const = 0;

  // Makes the program's cgroup(s); true when made just now, their files then holding the
  // kernel's defaults.
  virtual Result<bool> create(const std::string& program, const Limits& limits) = 0;
  // What a cgroup's limit files hold before apply(): the kernel's defaults (create() made it
  // just now) or anything (an older cgroup, a live one on reload).
  enum class Holds { kernel_defaults, anything };
  // Makes the cgroup's limits what `limits` asks (unset ones: no limit), for a new or a live
  // cgroup. With Holds::kernel_defaults the writes that would only repeat a default are left
  // out: most programs set one limit, and a start of many waits for every cgroup write.
  virtual Result<Warnings> apply(const std::string& program, const Limits& limits, Holds holds) = 0;
  virtual Result<MemoryUsage> usage(const std::string& program) = 0;
  // One or two small reads; nothing when the kernel has no such file for the program. `limits`:
  // those applied (on v1 only a program with cpu: has the files, and the others cost no read).
  virtual CpuUsage cpu_usage(const std::string& program, const Limits& limits) = 0;
  virtual Result<std::uint64_t> oom_kill_count(const std::string& program) = 0;
  // How many forks the pids limit has refused in the program's cgroup (pids.events "max");
  // 0 where the cgroup has no pids controller.
  virtual Result<std::uint64_t> pids_limit_hits(const std::string& program) = 0;
  virtual Result<std::vector<pid_t>> processes(const std::string& program) = 0;
  // Sends `signal` to every process listed in the program's cgroup but `spare` (0: none): an
  // operator's signal (climits-ctl signal --all-processes), one pass over cgroup.procs. The
  // pids signalled; one that exited since the listing is skipped.
  virtual Result<std::vector<pid_t>> signal_processes(const std::string& program, int signal,
                                                      pid_t spare);

  // What the supervisor uses on the loop: single steps that never wait (cgroup/emptier.h
  // repeats them on a timer until they are done).
  // One pass of SIGKILL over every process in the program's cgroup(s), sub-cgroups included,
  // except `spare` (0: none; a replacement staged at an OOM kill, waiting at its gate).
  // Returns how many processes were listed: 0 means the cgroup is empty (but for `spare`).
  virtual Result<std::size_t> kill_pass(const std::string& program, pid_t spare) = 0;
  // Removes the program's empty cgroup(s), sub-cgroups first; a missing cgroup is fine.
  // EBUSY while a process is still listed (or a killed one has not left yet): try again.
  virtual Result<void> remove_empty(const std::string& program) = 0;

  // Blocking forms, for start-up (before the loop runs) and tests only: they wait up to
  // kKillPatience for the kernel.
  // Kills every process in the program's cgroup(s) and returns once they are empty.
  Result<void> kill_all(const std::string& program);
  // Empties (kill_all) and removes the program's cgroup(s); a missing cgroup is fine.
  Result<void> remove(const std::string& program);
  // Program names whose cgroups exist under the root: at start-up, left by a manager that
  // died.
  virtual Result<std::vector<std::string>> existing_programs() = 0;
  // A PSI trigger on the program's memory.pressure (cgroup/pressure_watch.h); ENOTSUP on v1.
  virtual Result<std::unique_ptr<PressureWatch>> watch_pressure(uv_loop_t* loop,
                                                                const std::string& program,
                                                                const PressureTrigger& trigger,
                                                                std::function<void()> on_fire);
  virtual Result<std::unique_ptr<OomWatcher>> watch_oom(uv_loop_t* loop, const std::string& program,
                                                        OomWatcher::Callback callback) = 0;

  // An explicit cgroup_root that open_backend made (mkdir -p): the directories made, outermost
  // first, the root last; once per hierarchy (v1: memory, then the pids mirror).
  void record_created_root(std::vector<std::string> made) {
    created_roots_.push_back(std::move(made));
  }
  // At a clean shutdown, once every program cgroup is gone: removes the roots recorded above
  // (and the directories made on the way, while empty). A root that existed before is left
  // alone. Defined in placement.cc, which makes them.
  Result<void> remove_root_if_created();

 private:
  int lock_fd_;  // the root's flock: one manager per root
  std::vector<std::vector<std::string>> created_roots_;
};

// The descriptors the cgroup layer keeps open for each program, for the manager's estimate of
// its own: the OOM watcher's eventfd on v1 (watch_oom; on v2 the watches of all programs
// share one inotify descriptor), and the memory usage and peak files a status reads, kept
// open once read (usage_files.h).
std::size_t descriptors_per_program(Version version);

// A setting the given cgroup version does not have: apply() ignores it with `warning`, and
// --check names `key` and the version that has it before anything runs.
struct IgnoredSetting {
  const char* key;      // the configuration key: "memory.swappiness"
  Version only_on;      // the version that has it
  const char* warning;  // the backend's words
};
std::vector<IgnoredSetting> settings_ignored_on(Version version, const MemoryLimits& memory);

// For --check: the cpu: and io: settings in `limits` that this host's kernel cannot honour
// (a v1 hierarchy not mounted, a v2 controller not offered, a file the kernel lacks), one
// message each, starting with the key ("io.weight: …"). Looked up at the hierarchy's top.
std::vector<std::string> unavailable_settings(const Layout& layout, const Limits& limits);

// Names of the programs whose cgroups (program-<name>) are in `root`.
Result<std::vector<std::string>> program_names_in(const std::string& root);

// The directory name of a program's cgroup; never collides with "supervisor".
std::string cgroup_dir_name(const std::string& program);
inline constexpr const char* kProgramPrefix = "program-";

// How long kill_all and remove wait for the kernel before giving up with an error.
inline constexpr std::chrono::milliseconds kKillPatience{5000};

// The v1 hierarchies a program joins only when it sets cpu: (cpu, cpuacct) or io: (blkio):
// the program root's place in each that is mounted (it mirrors the memory root's, like the
// pids root). Made when the first program needs it, removed at shutdown if made then.
struct V1OptionalRoots {
  std::optional<std::string> cpu;
  std::optional<std::string> cpuacct;  // the same directory as cpu where they are co-mounted
  std::optional<std::string> blkio;
};

// `lock_fd`: the flock held on the root (see placement.cc); the backend closes it.
std::unique_ptr<Backend> make_v1_backend(std::string memory_root,
                                         std::optional<std::string> pids_root,
                                         V1OptionalRoots optional_roots, int lock_fd);
std::unique_ptr<Backend> make_v2_backend(std::string root, int lock_fd);

}  // namespace climits::cgroup
