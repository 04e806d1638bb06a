// cgroup v1: a program has a cgroup in the memory hierarchy and, when it is mounted, one of
// the same name in the pids hierarchy; a program that sets cpu: also has one in the cpu and
// cpuacct hierarchies, one that sets io: one in blkio. The helper joins them all before exec.
#include <fcntl.h>
#include <sys/eventfd.h>

#include <unistd.h>
#include <algorithm>
#include <utility>

#include "cgroup/backend.h"
#include "cgroup/cgroup_files.h"
#include "cgroup/usage_files.h"
#include "util/file_io.h"
#include "util/text.h"

namespace climits::cgroup {

namespace {

// v1 reports "no limit" as PAGE_COUNTER_MAX pages (9223372036854771712 with 4 KiB pages).
constexpr std::uint64_t kUnlimitedThreshold = 1ull << 62;

std::string limit_text(const ByteLimit& limit) {
  return limit ? std::to_string(*limit) : "-1";
}

// cpu.shares is v1's cpu weight: 1024 is v2's 100 (the kernel's defaults), at least 2.
std::string shares_text(const std::optional<int>& weight) {
  std::uint64_t shares = weight ? static_cast<std::uint64_t>(*weight) * 1024 / 100 : 1024;
  return std::to_string(std::max<std::uint64_t>(shares, 2));
}

// blkio.weight takes 10…1000; v2's io.weight 1…10000 (default 100) is clamped into it.
std::string blkio_weight_text(const std::optional<int>& weight) {
  return std::to_string(std::clamp(weight.value_or(100), 10, 1000));
}

std::string device_key(unsigned major, unsigned minor) {
  return std::to_string(major) + ":" + std::to_string(minor);
}

class BackendV1 final : public Backend {
 public:
  BackendV1(std::string memory_root, std::optional<std::string> pids_root,
            V1OptionalRoots optional_roots, int lock_fd)
      : Backend(lock_fd),
        memory_root_(std::move(memory_root)),
        pids_root_(std::move(pids_root)),
        optional_roots_(std::move(optional_roots)) {}

  Version version() const override { return Version::v1; }

  std::string describe() const override {
    return "cgroup v1: programs in " + memory_root_ + "/" + kProgramPrefix + "*" +
           (pids_root_ ? " (memory) and " + *pids_root_ + "/" + kProgramPrefix + "* (pids)"
                       : " (no pids hierarchy: pids_max cannot be enforced)");
  }

  std::string path_of(const std::string& program) const override {
    return memory_root_ + "/" + cgroup_dir_name(program);
  }

  std::vector<std::string> entry_files(const std::string& program,
                                       const Limits& limits) const override {
    std::vector<std::string> files{memory_dir(program) + "/cgroup.procs"};
    if (pids_root_) files.push_back(pids_dir(program) + "/cgroup.procs");
    for (const auto& dir : optional_dirs(program, limits)) files.push_back(dir + "/cgroup.procs");
    return files;
  }

  Result<bool> create(const std::string& program, const Limits& limits) override {
    auto memory = files::make_dir(memory_dir(program));
    if (!memory) return memory;
    bool made = *memory;
    if (pids_root_) {
      auto pids = files::make_dir(pids_dir(program));
      if (!pids) return pids;
      made = made && *pids;
    }
    for (const auto& dir : optional_dirs(program, limits)) {
      auto optional = make_optional_dir(dir);
      if (!optional) return optional;
      made = made && *optional;
    }
    return made;
  }

  Result<Warnings> apply(const std::string& program, const Limits& limits, Holds holds) override {
    // A cgroup made just now has no limits and its parent's swappiness (the kernel copies it
    // at mkdir): only what differs from that is written.
    const bool fresh = holds == Holds::kernel_defaults;
    usage_files_.limit_changed(program);
    Warnings warnings;
    const std::string dir = memory_dir(program);
    const auto& memory = limits.memory;
    if (auto written = apply_hard_limits(dir, memory, fresh, warnings); !written)
      return written.error();
    if (!fresh || memory.high) {
      if (auto written = write_file(dir + "/memory.soft_limit_in_bytes", limit_text(memory.high));
          !written)
        return written.error();
    }
    // Without a swappiness of its own, a cgroup follows its parent's: write that back, so
    // that removing the key on reload really undoes it.
    std::string swappiness;
    if (memory.swappiness) {
      swappiness = std::to_string(*memory.swappiness);
    } else if (!fresh) {
      if (auto parent = read_file(memory_root_ + "/memory.swappiness"))
        swappiness = std::string(trim(*parent));
    }
    if (!swappiness.empty()) {
      if (auto written = write_file(dir + "/memory.swappiness", swappiness); !written)
        return written.error();
    }
    for (const auto& ignored : settings_ignored_on(Version::v1, memory))
      warnings.push_back(ignored.warning);
    if (pids_root_) {
      if (!fresh || limits.pids_max) {
        std::string value = limits.pids_max ? std::to_string(*limits.pids_max) : "max";
        if (auto written = write_file(pids_dir(program) + "/pids.max", value); !written)
          return written.error();
      }
    } else if (limits.pids_max) {
      warnings.push_back("pids_max is ignored: no cgroup v1 pids hierarchy is mounted");
    }
    if (auto cpu = apply_cpu(program, limits.cpu, fresh, warnings); !cpu) return cpu.error();
    if (auto io = apply_io(program, limits.io, fresh, warnings); !io) return io.error();
    return warnings;
  }

  CpuUsage cpu_usage(const std::string& program, const Limits& limits) override {
    // Only a program with cpu: has these cgroups.
    CpuUsage usage;
    if (!limits.cpu.set()) return usage;
    if (optional_roots_.cpuacct)
      if (auto ns =
              files::read_number(dir_in(*optional_roots_.cpuacct, program) + "/cpuacct.usage"))
        usage.seconds = static_cast<double>(*ns) / 1e9;
    if (optional_roots_.cpu)
      if (auto ns = files::read_keyed_counter(dir_in(*optional_roots_.cpu, program) + "/cpu.stat",
                                              "throttled_time"))
        usage.throttled_seconds = static_cast<double>(*ns) / 1e9;
    return usage;
  }

  Result<MemoryUsage> usage(const std::string& program) override {
    auto numbers = usage_files_.read(program, memory_dir(program));
    if (!numbers) return numbers.error();
    MemoryUsage usage;
    usage.current = numbers->current;
    usage.peak = numbers->peak;
    if (numbers->limit < kUnlimitedThreshold) usage.max = numbers->limit;
    return usage;
  }

  Result<std::uint64_t> oom_kill_count(const std::string& program) override {
    return files::read_keyed_counter(memory_dir(program) + "/memory.oom_control", "oom_kill");
  }

  Result<std::uint64_t> pids_limit_hits(const std::string& program) override {
    if (!pids_root_) return std::uint64_t{0};
    return files::read_keyed_counter(pids_dir(program) + "/pids.events", "max");
  }

  Result<std::vector<pid_t>> processes(const std::string& program) override {
    return files::read_pids(memory_dir(program) + "/cgroup.procs");
  }

  Result<std::size_t> kill_pass(const std::string& program, pid_t spare) override {
    // v1 has no cgroup.kill: SIGKILL what is listed, sub-cgroups included.
    std::vector<std::string> procs;
    for (const auto& cgroup : files::cgroup_tree(memory_dir(program)))
      procs.push_back(cgroup + "/cgroup.procs");
    if (pids_root_)
      for (const auto& cgroup : files::cgroup_tree(pids_dir(program)))
        procs.push_back(cgroup + "/cgroup.procs");
    // A process is in these too only if it is in the memory cgroup; listed all the same, so
    // that nothing can keep them from being removed.
    for (const auto& root : optional_root_list()) {
      std::string dir = dir_in(root, program);
      if (!files::exists(dir)) continue;
      for (const auto& cgroup : files::cgroup_tree(dir)) procs.push_back(cgroup + "/cgroup.procs");
    }
    return files::kill_pass(procs, spare);
  }

  Result<void> remove_empty(const std::string& program) override {
    usage_files_.forget(program);
    for (const auto& root : optional_root_list()) {
      if (auto removed = files::remove_empty_tree(dir_in(root, program)); !removed) return removed;
    }
    if (pids_root_) {
      if (auto removed = files::remove_empty_tree(pids_dir(program)); !removed) return removed;
    }
    return files::remove_empty_tree(memory_dir(program));
  }

  // The memory root, and the optional roots where they exist (a manager that died between
  // two mkdirs may have left a cpu or blkio cgroup alone); the pids root mirrors the memory
  // root, and remove() takes every hierarchy.
  Result<std::vector<std::string>> existing_programs() override {
    auto names = program_names_in(memory_root_);
    if (!names) return names;
    for (const auto& root : optional_root_list()) {
      if (!files::exists(root)) continue;
      auto more = program_names_in(root);
      if (!more) return more;
      for (auto& name : *more)
        if (std::find(names->begin(), names->end(), name) == names->end())
          names->push_back(std::move(name));
    }
    return names;
  }

  Result<std::unique_ptr<OomWatcher>> watch_oom(uv_loop_t* loop, const std::string& program,
                                                OomWatcher::Callback callback) override {
    // The v1 notification API: write "<eventfd> <fd of memory.oom_control>" into
    // cgroup.event_control; the eventfd then ticks on every OOM in the cgroup. The control
    // file's fd is only needed for the registration.
    const std::string dir = memory_dir(program);
    int event = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (event < 0) return Error::from_errno(errno, "eventfd for " + dir);
    int control = ::open((dir + "/memory.oom_control").c_str(), O_RDONLY | O_CLOEXEC);
    if (control < 0) {
      int saved = errno;
      ::close(event);
      return Error::from_errno(saved, dir + "/memory.oom_control");
    }
    auto registered = write_file(dir + "/cgroup.event_control",
                                 std::to_string(event) + " " + std::to_string(control));
    ::close(control);
    if (!registered) {
      ::close(event);
      return registered.error();
    }
    // The reader holds the path, not the backend: it may run after the backend is gone.
    std::string counter_file = dir + "/memory.oom_control";
    return OomWatcher::on_eventfd(
        loop, event, [counter_file] { return files::read_keyed_counter(counter_file, "oom_kill"); },
        std::move(callback));
  }

 private:
  std::string memory_dir(const std::string& program) const {
    return memory_root_ + "/" + cgroup_dir_name(program);
  }
  std::string pids_dir(const std::string& program) const {
    return *pids_root_ + "/" + cgroup_dir_name(program);
  }
  static std::string dir_in(const std::string& root, const std::string& program) {
    return root + "/" + cgroup_dir_name(program);
  }

  // The optional roots that are mounted, each directory once (cpu and cpuacct may share one).
  std::vector<std::string> optional_root_list() const {
    std::vector<std::string> roots;
    for (const auto* root :
         {&optional_roots_.cpu, &optional_roots_.cpuacct, &optional_roots_.blkio})
      if (*root && std::find(roots.begin(), roots.end(), **root) == roots.end())
        roots.push_back(**root);
    return roots;
  }

  // The program's directories in the optional hierarchies its limits use, each once.
  std::vector<std::string> optional_dirs(const std::string& program, const Limits& limits) const {
    std::vector<std::string> dirs;
    auto add = [&](const std::optional<std::string>& root) {
      if (!root) return;
      std::string dir = dir_in(*root, program);
      if (std::find(dirs.begin(), dirs.end(), dir) == dirs.end()) dirs.push_back(dir);
    };
    if (limits.cpu.set()) {
      add(optional_roots_.cpu);
      add(optional_roots_.cpuacct);
    }
    if (limits.io.set()) add(optional_roots_.blkio);
    return dirs;
  }

  // mkdir of a program's cgroup in an optional hierarchy, its root first if missing (the
  // root is then recorded, and removed at a clean shutdown). True when made now.
  Result<bool> make_optional_dir(const std::string& dir) {
    std::string root = dir.substr(0, dir.rfind('/'));
    if (!files::exists(root)) {
      std::vector<std::string> made;
      auto dirs = files::make_dirs(root, &made);
      if (!made.empty()) record_created_root(std::move(made));
      if (!dirs) return dirs.error();
    }
    return files::make_dir(dir);
  }

  // Makes sure the program's cgroup exists in an optional hierarchy it now uses. For a live
  // program (a reload added cpu: or io:) its processes are moved in: the helper put them only
  // where their first limits asked. Also when the cgroup was there already (one left by an
  // earlier setting keeps no process of this run): a pid already in it is written again for
  // nothing.
  Result<void> join_optional(const std::string& program, const std::string& dir, bool fresh) {
    auto made = make_optional_dir(dir);
    if (!made) return made.error();
    if (fresh) return success();
    auto pids = files::read_pids(memory_dir(program) + "/cgroup.procs");
    if (!pids) return pids.error();
    for (pid_t pid : *pids) {
      auto moved = write_file(dir + "/cgroup.procs", std::to_string(pid));
      // ESRCH: it exited since the listing.
      if (!moved && moved.error().code != ESRCH) return moved.error();
    }
    return success();
  }

  // cpu: cfs quota per period and shares in the cpu hierarchy (cpuacct only counts). Without
  // cpu: a cgroup left from an earlier setting is reset to the kernel's defaults; the program
  // leaves it at its next start.
  Result<void> apply_cpu(const std::string& program, const CpuLimits& cpu, bool fresh,
                         Warnings& warnings) {
    if (!optional_roots_.cpu) {
      if (cpu.set()) warnings.push_back("cpu is ignored: no cgroup v1 cpu hierarchy is mounted");
      return success();
    }
    if (cpu.set() && optional_roots_.cpuacct)
      if (auto joined = join_optional(program, dir_in(*optional_roots_.cpuacct, program), fresh);
          !joined)
        return joined;
    const std::string dir = dir_in(*optional_roots_.cpu, program);
    if (cpu.set()) {
      if (auto joined = join_optional(program, dir, fresh); !joined) return joined;
    } else if (fresh || !files::exists(dir)) {
      return success();
    }
    if (!fresh || cpu.quota_micros) {
      if (!files::exists(dir + "/cpu.cfs_quota_us")) {
        if (cpu.quota_micros)
          warnings.push_back(
              "cpu.max is ignored: this kernel has no cpu.cfs_quota_us (built without "
              "CFS bandwidth control)");
      } else {
        if (auto w = write_file(dir + "/cpu.cfs_period_us", std::to_string(kCpuPeriodMicros)); !w)
          return w;
        std::string quota = cpu.quota_micros ? std::to_string(*cpu.quota_micros) : "-1";
        if (auto w = write_file(dir + "/cpu.cfs_quota_us", quota); !w) return w;
      }
    }
    if (!fresh || cpu.weight) {
      if (!files::exists(dir + "/cpu.shares")) {
        if (cpu.weight) warnings.push_back("cpu.weight is ignored: this kernel has no cpu.shares");
      } else if (auto w = write_file(dir + "/cpu.shares", shares_text(cpu.weight)); !w) {
        return w;
      }
    }
    return success();
  }

  // io: blkio.weight and the blkio.throttle.* files, one "major:minor value" line per device.
  // A device throttled before but no longer listed gets 0 (no throttle).
  Result<void> apply_io(const std::string& program, const IoLimits& io, bool fresh,
                        Warnings& warnings) {
    if (!optional_roots_.blkio) {
      if (io.set()) warnings.push_back("io is ignored: no cgroup v1 blkio hierarchy is mounted");
      return success();
    }
    const std::string dir = dir_in(*optional_roots_.blkio, program);
    if (io.set()) {
      if (auto joined = join_optional(program, dir, fresh); !joined) return joined;
    } else if (fresh || !files::exists(dir)) {
      return success();
    }
    if (!fresh || io.weight) {
      if (!files::exists(dir + "/blkio.weight")) {
        if (io.weight)
          warnings.push_back(
              "io.weight is ignored: this kernel has no blkio.weight (it comes with the BFQ "
              "IO scheduler)");
      } else if (auto w = write_file(dir + "/blkio.weight", blkio_weight_text(io.weight)); !w) {
        return w;
      }
    }
    using Field = std::optional<std::uint64_t> IoDeviceLimits::*;
    static constexpr std::pair<const char*, Field> kThrottles[] = {
        {"blkio.throttle.read_bps_device", &IoDeviceLimits::read_bps},
        {"blkio.throttle.write_bps_device", &IoDeviceLimits::write_bps},
        {"blkio.throttle.read_iops_device", &IoDeviceLimits::read_iops},
        {"blkio.throttle.write_iops_device", &IoDeviceLimits::write_iops},
    };
    for (const auto& [name, field] : kThrottles) {
      const std::string file = dir + "/" + name;
      if (!files::exists(file)) {
        if (std::any_of(
                io.devices.begin(), io.devices.end(),
                [field = field](const IoDeviceLimits& d) { return (d.*field).has_value(); }))
          warnings.push_back(std::string("io.max is ignored in part: this kernel has no ") + name);
        continue;
      }
      std::vector<std::string> written;
      for (const auto& device : io.devices) {
        if (fresh && !(device.*field)) continue;
        std::string key = device_key(device.major, device.minor);
        if (auto w = write_file(file, key + " " + std::to_string((device.*field).value_or(0))); !w)
          return w;
        written.push_back(key);
      }
      if (fresh) continue;
      auto listed = files::read_device_keys(file);
      if (!listed) return listed.error();
      for (const auto& key : *listed)
        if (std::find(written.begin(), written.end(), key) == written.end())
          if (auto w = write_file(file, key + " 0"); !w) return w;
    }
    return success();
  }

  // memory.limit_in_bytes and memory.memsw.limit_in_bytes (memory + swap) must keep
  // memsw >= limit at every step, so the order of the two writes depends on the direction.
  Result<void> apply_hard_limits(const std::string& dir, const MemoryLimits& memory, bool fresh,
                                 Warnings& warnings) {
    const std::string limit_file = dir + "/memory.limit_in_bytes";
    const std::string memsw_file = dir + "/memory.memsw.limit_in_bytes";
    if (!swap_accounting(memsw_file)) {
      if (memory.swap_max)
        warnings.push_back(
            "swap_max is ignored: swap accounting is off (no memory.memsw.* "
            "files; boot with swapaccount=1)");
      if (fresh && !memory.max) return success();
      return write_limit(limit_file, memory.max);
    }
    ByteLimit memsw;
    if (memory.max && memory.swap_max) memsw = *memory.max + *memory.swap_max;
    if (!memory.max && memory.swap_max)
      warnings.push_back(
          "swap_max has no effect without max on cgroup v1 (memory+swap is "
          "limited as max + swap_max)");
    if (fresh) {
      // memsw is unlimited: the limit fits under it, and memsw follows only if it is set.
      if (memory.max)
        if (auto w = write_limit(limit_file, memory.max); !w) return w;
      if (memsw) return write_limit(memsw_file, memsw);
      return success();
    }
    auto current_memsw = files::read_number(memsw_file);
    if (!current_memsw) return current_memsw.error();
    // The new limit fits under the current memsw: write it first, then memsw (which is at
    // least the limit). Otherwise memsw must grow first. Either way a refused limit (EBUSY)
    // is written before anything else changed.
    if (memory.max.value_or(UINT64_MAX) <= *current_memsw) {
      if (auto w = write_limit(limit_file, memory.max); !w) return w;
      return write_limit(memsw_file, memsw);
    }
    if (auto w = write_limit(memsw_file, memsw); !w) return w;
    return write_limit(limit_file, memory.max);
  }

  // Swap accounting is fixed at boot (swapaccount=): looked up once, in the first program's
  // cgroup, and remembered.
  bool swap_accounting(const std::string& memsw_file) {
    if (!swap_accounting_) swap_accounting_ = files::exists(memsw_file);
    return *swap_accounting_;
  }

  static Result<void> write_limit(const std::string& file, const ByteLimit& limit) {
    auto written = write_file(file, limit_text(limit));
    if (!written && written.error().code == EBUSY && limit)
      return Error{EBUSY, file +
                              ": the kernel could not reclaim enough memory to lower the "
                              "limit to " +
                              format_bytes(*limit) +
                              " (the program uses more; cgroup v1 refuses instead of "
                              "OOM-killing); the previous limit stays"};
    return written;
  }

  std::string memory_root_;
  UsageFiles usage_files_{
      {"memory.usage_in_bytes", "memory.max_usage_in_bytes", "memory.limit_in_bytes"}};
  std::optional<std::string> pids_root_;
  V1OptionalRoots optional_roots_;
  std::optional<bool> swap_accounting_;
};

}  // namespace

std::unique_ptr<Backend> make_v1_backend(std::string memory_root,
                                         std::optional<std::string> pids_root,
                                         V1OptionalRoots optional_roots, int lock_fd) {
  return std::make_unique<BackendV1>(std::move(memory_root), std::move(pids_root),
                                     std::move(optional_roots), lock_fd);
}

}  // namespace climits::cgroup
