// cgroup v2: a program has one cgroup, <root>/program-<name>, with the memory and pids
// controllers (and cpu and io, where the kernel offers them) enabled by the root's
// cgroup.subtree_control (see placement.cc).
#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "cgroup/backend.h"
#include "cgroup/cgroup_files.h"
#include "cgroup/usage_files.h"
#include "util/file_io.h"

namespace climits::cgroup {

namespace {

std::string limit_text(const ByteLimit& limit) {
  return limit ? std::to_string(*limit) : "max";
}

// One io.max line: "8:0 rbps=52428800 wbps=max riops=max wiops=max" (unset: max).
std::string io_max_line(const IoDeviceLimits& device) {
  return std::to_string(device.major) + ":" + std::to_string(device.minor) +
         " rbps=" + limit_text(device.read_bps) + " wbps=" + limit_text(device.write_bps) +
         " riops=" + limit_text(device.read_iops) + " wiops=" + limit_text(device.write_iops);
}

class BackendV2 final : public Backend {
 public:
  BackendV2(std::string root, int lock_fd) : Backend(lock_fd), root_(std::move(root)) {}

  Version version() const override { return Version::v2; }

  std::string describe() const override {
    return "cgroup v2: programs in " + root_ + "/" + kProgramPrefix + "*";
  }

  std::string path_of(const std::string& program) const override {
    return root_ + "/" + cgroup_dir_name(program);
  }

  std::vector<std::string> entry_files(const std::string& program, const Limits&) const override {
    return {path_of(program) + "/cgroup.procs"};
  }

  Result<bool> create(const std::string& program, const Limits&) override {
    return files::make_dir(path_of(program));
  }

  Result<Warnings> apply(const std::string& program, const Limits& limits, Holds holds) override {
    // A cgroup made just now has every limit at "max" and oom.group at 0: a setting is
    // written when it differs from that, or always when the cgroup may hold anything.
    const bool any = holds == Holds::anything;
    usage_files_.limit_changed(program);
    Warnings warnings;
    const std::string dir = path_of(program);
    const auto& memory = limits.memory;
    // memory.high first: lowering max below usage makes the kernel reclaim (or OOM-kill)
    // right away, and a high above the new max is harmless.
    if (any || memory.high)
      if (auto w = write_file(dir + "/memory.high", limit_text(memory.high)); !w) return w.error();
    if (any || memory.max)
      if (auto w = write_file(dir + "/memory.max", limit_text(memory.max)); !w) return w.error();
    if (any || memory.swap_max) {
      if (files::exists(dir + "/memory.swap.max")) {
        if (auto w = write_file(dir + "/memory.swap.max", limit_text(memory.swap_max)); !w)
          return w.error();
      } else if (memory.swap_max) {
        warnings.push_back(
            "swap_max is ignored: this kernel has no memory.swap.max (swap "
            "accounting off; boot with swapaccount=1)");
      }
    }
    for (const auto& ignored : settings_ignored_on(Version::v2, memory))
      warnings.push_back(ignored.warning);
    if (any || memory.oom_group) {
      if (files::exists(dir + "/memory.oom.group")) {
        if (auto w = write_file(dir + "/memory.oom.group", memory.oom_group ? "1" : "0"); !w)
          return w.error();
      } else if (memory.oom_group) {
        warnings.push_back("memory.oom_group is ignored: this kernel has no memory.oom.group");
      }
    }
    if (any || limits.pids_max) {
      if (files::exists(dir + "/pids.max")) {
        if (auto w = write_file(dir + "/pids.max", limit_text(limits.pids_max)); !w)
          return w.error();
      } else if (limits.pids_max) {
        warnings.push_back("pids_max is ignored: the pids controller is not enabled in " + root_);
      }
    }
    if (auto cpu = apply_cpu(dir, limits.cpu, any, warnings); !cpu) return cpu.error();
    if (auto io = apply_io(dir, limits.io, any, warnings); !io) return io.error();
    return warnings;
  }

  CpuUsage cpu_usage(const std::string& program, const Limits&) override {
    // cpu.stat is there with or without the cpu controller (usage_usec); throttled_usec only
    // with it.
    CpuUsage usage;
    auto text = read_file(path_of(program) + "/cpu.stat");
    if (!text) return usage;
    for (const auto& [key, target] : {std::pair{"usage_usec", &usage.seconds},
                                      std::pair{"throttled_usec", &usage.throttled_seconds}}) {
      if (auto micros = files::keyed_value(*text, key))
        *target = static_cast<double>(*micros) / 1e6;
    }
    return usage;
  }

  Result<MemoryUsage> usage(const std::string& program) override {
    auto numbers = usage_files_.read(program, path_of(program));
    if (!numbers) return numbers.error();
    MemoryUsage usage;
    usage.current = numbers->current;
    usage.peak = numbers->peak;  // memory.peak is Linux 5.19 and later
    if (numbers->limit != UINT64_MAX) usage.max = numbers->limit;
    return usage;
  }

  Result<std::uint64_t> oom_kill_count(const std::string& program) override {
    return files::read_keyed_counter(path_of(program) + "/memory.events", "oom_kill");
  }

  Result<std::uint64_t> pids_limit_hits(const std::string& program) override {
    const std::string events = path_of(program) + "/pids.events";
    if (!files::exists(events)) return std::uint64_t{0};  // the pids controller is not enabled
    return files::read_keyed_counter(events, "max");
  }

  Result<std::vector<pid_t>> processes(const std::string& program) override {
    return files::read_pids(path_of(program) + "/cgroup.procs");
  }

  Result<std::size_t> kill_pass(const std::string& program, pid_t spare) override {
    const std::string dir = path_of(program);
    // cgroup.kill (5.14+) kills the whole cgroup atomically, forks in flight included; the
    // pass after it only counts what is still listed (and covers older kernels, and a cgroup
    // with a process to spare, which cgroup.kill cannot leave out).
    if (spare == 0 && files::exists(dir + "/cgroup.kill")) {
      auto killed = write_file(dir + "/cgroup.kill", "1");
      if (!killed && killed.error().code != ENOENT) return killed.error();
    }
    std::vector<std::string> procs;
    for (const auto& cgroup : files::cgroup_tree(dir)) procs.push_back(cgroup + "/cgroup.procs");
    return files::kill_pass(procs, spare);
  }

  Result<void> remove_empty(const std::string& program) override {
    usage_files_.forget(program);
    return files::remove_empty_tree(path_of(program));
  }

  Result<std::vector<std::string>> existing_programs() override { return program_names_in(root_); }

  Result<std::unique_ptr<OomWatcher>> watch_oom(uv_loop_t* loop, const std::string& program,
                                                OomWatcher::Callback callback) override {
    // memory.events is rewritten (and inotify told) whenever one of its counters moves. The
    // reader holds the path, not the backend: it may run after the backend is gone.
    std::string events = path_of(program) + "/memory.events";
    return OomWatcher::on_file_change(
        loop, events, [events] { return files::read_keyed_counter(events, "oom_kill"); },
        std::move(callback));
  }

  Result<std::unique_ptr<PressureWatch>> watch_pressure(uv_loop_t* loop, const std::string& program,
                                                        const PressureTrigger& trigger,
                                                        std::function<void()> on_fire) override {
    return PressureWatch::open(loop, path_of(program) + "/memory.pressure",
                               std::chrono::microseconds(trigger.stall_micros),
                               std::chrono::microseconds(trigger.window_micros),
                               std::move(on_fire));
  }

 private:
  // cpu.max "quota period" and cpu.weight; missing files (no cpu controller in the root) are
  // a warning for a setting that asks for them.
  static Result<void> apply_cpu(const std::string& dir, const CpuLimits& cpu, bool any,
                                Warnings& warnings) {
    if (any || cpu.quota_micros) {
      std::string value = (cpu.quota_micros ? std::to_string(*cpu.quota_micros) : "max") + " " +
                          std::to_string(kCpuPeriodMicros);
      if (files::exists(dir + "/cpu.max")) {
        if (auto w = write_file(dir + "/cpu.max", value); !w) return w;
      } else if (cpu.quota_micros) {
        warnings.push_back("cpu.max is ignored: the cpu controller is not enabled for " + dir);
      }
    }
    if (any || cpu.weight) {
      if (files::exists(dir + "/cpu.weight")) {
        if (auto w = write_file(dir + "/cpu.weight", std::to_string(cpu.weight.value_or(100))); !w)
          return w;
      } else if (cpu.weight) {
        warnings.push_back("cpu.weight is ignored: the cpu controller is not enabled for " + dir);
      }
    }
    return success();
  }

  // io.weight ("default N") and io.max, one line per device; a device limited before but no
  // longer listed is set back to max.
  static Result<void> apply_io(const std::string& dir, const IoLimits& io, bool any,
                               Warnings& warnings) {
    if (any || io.weight) {
      if (files::exists(dir + "/io.weight")) {
        if (auto w = write_file(dir + "/io.weight",
                                "default " + std::to_string(io.weight.value_or(100)));
            !w)
          return w;
      } else if (io.weight) {
        warnings.push_back(
            "io.weight is ignored: this kernel has no io.weight (the io controller is not "
            "enabled, or the kernel lacks io cost control)");
      }
    }
    if (!any && io.devices.empty()) return success();
    const std::string file = dir + "/io.max";
    if (!files::exists(file)) {
      if (!io.devices.empty())
        warnings.push_back("io.max is ignored: the io controller is not enabled for " + dir);
      return success();
    }
    std::vector<std::string> written;
    for (const auto& device : io.devices) {
      if (auto w = write_file(file, io_max_line(device)); !w) return w;
      written.push_back(std::to_string(device.major) + ":" + std::to_string(device.minor));
    }
    if (!any) return success();
    auto listed = files::read_device_keys(file);
    if (!listed) return listed.error();
    for (const auto& key : *listed)
      if (std::find(written.begin(), written.end(), key) == written.end())
        if (auto w = write_file(file, key + " rbps=max wbps=max riops=max wiops=max"); !w) return w;
    return success();
  }

  std::string root_;
  UsageFiles usage_files_{{"memory.current", "memory.peak", "memory.max"}};
};

}  // namespace

std::unique_ptr<Backend> make_v2_backend(std::string root, int lock_fd) {
  return std::make_unique<BackendV2>(std::move(root), lock_fd);
}

}  // namespace climits::cgroup
