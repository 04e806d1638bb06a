// cgroup v1: a program has a cgroup in the memory hierarchy and, when it is mounted, one of
// the same name in the pids hierarchy. The helper joins both before exec.
#include <fcntl.h>
#include <sys/eventfd.h>

#include <unistd.h>
#include <algorithm>

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

class BackendV1 final : public Backend {
 public:
  BackendV1(std::string memory_root, std::optional<std::string> pids_root, int lock_fd)
      : Backend(lock_fd), memory_root_(std::move(memory_root)), pids_root_(std::move(pids_root)) {}

  Version version() const override { return Version::v1; }

  std::string describe() const override {
    return "cgroup v1: programs in " + memory_root_ + "/" + kProgramPrefix + "*" +
           (pids_root_ ? " (memory) and " + *pids_root_ + "/" + kProgramPrefix + "* (pids)"
                       : " (no pids hierarchy: pids_max cannot be enforced)");
  }

  std::string path_of(const std::string& program) const override {
    return memory_root_ + "/" + cgroup_dir_name(program);
  }

  std::vector<std::string> entry_files(const std::string& program, const Limits&) const override {
    std::vector<std::string> files{memory_dir(program) + "/cgroup.procs"};
    if (pids_root_) files.push_back(pids_dir(program) + "/cgroup.procs");
    return files;
  }

  Result<bool> create(const std::string& program, const Limits&) override {
    auto memory = files::make_dir(memory_dir(program));
    if (!memory) return memory;
    if (!pids_root_) return *memory;
    auto pids = files::make_dir(pids_dir(program));
    if (!pids) return pids;
    return *memory && *pids;
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
    return warnings;
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
    return files::kill_pass(procs, spare);
  }

  Result<void> remove_empty(const std::string& program) override {
    usage_files_.forget(program);
    if (pids_root_) {
      if (auto removed = files::remove_empty_tree(pids_dir(program)); !removed) return removed;
    }
    return files::remove_empty_tree(memory_dir(program));
  }

  // Only the memory root is listed: the pids root mirrors it, and remove() takes both.
  Result<std::vector<std::string>> existing_programs() override {
    return program_names_in(memory_root_);
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
  std::optional<bool> swap_accounting_;
};

}  // namespace

std::unique_ptr<Backend> make_v1_backend(std::string memory_root,
                                         std::optional<std::string> pids_root, int lock_fd) {
  return std::make_unique<BackendV1>(std::move(memory_root), std::move(pids_root), lock_fd);
}

}  // namespace climits::cgroup
