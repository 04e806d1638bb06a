#include "config/key_readers.h"

#include <grp.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <cerrno>
#include <cstring>

#include <algorithm>
#include <filesystem>
#include <vector>

#include "config/units.h"
#include "util/text.h"

namespace climits::config {

namespace {

namespace fs = std::filesystem;

// Smallest unit-less byte count accepted for memory limits and log sizes: anything below one
// page is almost certainly a forgotten unit ("max: 60" meaning 60M).
constexpr std::uint64_t kMinPlainBytes = 4096;
constexpr std::int64_t kPidMaxLimit = 4194304;    // PID_MAX_LIMIT on 64-bit Linux
constexpr std::int64_t kMaxWeight = 10000;        // cpu.weight and io.weight (cgroup v2)
constexpr std::uint64_t kMaxCpuPercent = 100000;  // cpu.max: 1000 CPUs
constexpr Duration kMinPressureWindow{500};       // the kernel's bounds for a PSI trigger
constexpr Duration kMaxPressureWindow{10000};
constexpr std::size_t kUnixSocketPathMax = 107;  // sizeof(sockaddr_un::sun_path) - 1

std::string resolve(const std::string& base_dir, const std::string& path) {
  if (path.empty() || path.front() == '/') return fs::path(path).lexically_normal().string();
  return (fs::path(base_dir) / path).lexically_normal().string();
}

// The two name checks are written out instead of using std::regex: libstdc++'s matcher
// recurses once per character, and a 70 000-character environment variable name overflowed
// the stack (the manager died with SIGSEGV on --check or on a reload).
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_lower(char c) {
  return c >= 'a' && c <= 'z';
}
bool is_letter(char c) {
  return is_lower(c) || (c >= 'A' && c <= 'Z');
}

// [a-z_][a-z0-9_.-]{0,31}\$? or [0-9]{1,10}: a user or group name, or a numeric id.
bool is_account_name(const std::string& name) {
  if (!name.empty() && name.size() <= 10 && std::all_of(name.begin(), name.end(), is_digit))
    return true;
  std::string_view rest = name;
  if (rest.ends_with('$')) rest.remove_suffix(1);
  if (rest.empty() || rest.size() > 32 || !(is_lower(rest[0]) || rest[0] == '_')) return false;
  return std::all_of(rest.begin() + 1, rest.end(), [](char c) {
    return is_lower(c) || is_digit(c) || c == '_' || c == '.' || c == '-';
  });
}

// [A-Za-z_][A-Za-z0-9_]*
bool is_env_name(const std::string& name) {
  if (name.empty() || is_digit(name[0])) return false;
  return std::all_of(name.begin(), name.end(),
                     [](char c) { return is_letter(c) || is_digit(c) || c == '_'; });
}

class ProgramReader {
 public:
  ProgramReader(YamlReader& reader, std::string base_dir, KeySources& sources)
      : r_(reader), base_dir_(std::move(base_dir)), sources_(sources) {}

  // Returns whether `command` was given.
  bool read(const Located& value, Program& p) {
    bool has_command = false;
    r_.read_mapping(
        value,
        {
            {"command", [&](const Located& v) { has_command = read_command(v, p); }},
            {"directory",
             [&](const Located& v) {
               if (auto s = r_.string(v, "/opt/app")) p.directory = resolve(base_dir_, *s);
             }},
            {"environment", [&](const Located& v) { read_environment(v, p); }},
            {"user", [&](const Located& v) { read_account(v, p.user, sources_.user, "user"); }},
            {"group", [&](const Located& v) { read_account(v, p.group, sources_.group, "group"); }},
            {"umask", [&](const Located& v) { read_umask(v, p); }},
            {"autostart", [&](const Located& v) { assign(p.autostart, r_.boolean(v)); }},
            {"memory", [&](const Located& v) { read_memory(v, p.memory); }},
            {"pids_max", [&](const Located& v) { read_pids_max(v, p); }},
            {"cpu", [&](const Located& v) { read_cpu(v, p.cpu); }},
            {"io", [&](const Located& v) { read_io(v, p.io); }},
            {"restart", [&](const Located& v) { read_restart(v, p.restart); }},
            {"start",
             [&](const Located& v) {
               r_.read_mapping(
                   v,
                   {{"settle", [&](const Located& s) { assign(p.start_settle, r_.duration(s)); }}});
             }},
            {"stop", [&](const Located& v) { read_stop(v, p.stop); }},
            {"stdout", [&](const Located& v) { read_output(v, p.stdout_output, false); }},
            {"stderr", [&](const Located& v) { read_output(v, p.stderr_output, true); }},
            {"depends_on", [&](const Located& v) { read_depends_on(v, p); }},
        });
    return has_command;
  }

 private:
  template <typename T, typename U>
  static void assign(T& target, const std::optional<U>& value) {
    if (value) target = static_cast<T>(*value);
  }

  bool read_command(const Located& v, Program& p) {
    std::vector<std::string> words;
    if (v.node.IsSequence()) {
      std::size_t index = 0;
      for (const auto& item : v.node) {
        Located element{item, item.Mark(), v.path + "[" + std::to_string(index++) + "]",
                        item.Mark()};
        if (!item.IsScalar()) {
          r_.error(element, "expected a string, found " + describe_node(item));
          return true;
        }
        if (index == 1 && item.Scalar().empty()) {
          r_.error(element, "is empty (the program to run; use e.g. [\"./app\", \"--verbose\"])");
          return true;
        }
        words.push_back(item.Scalar());
      }
    } else if (v.node.IsScalar()) {
      words = split_words(v.node.Scalar());
    } else {
      r_.error(v, "expected a list of strings such as [\"./app\", \"--verbose\"], found " +
                      describe_node(v.node));
      return true;
    }
    if (words.empty() || words.front().empty()) {
      r_.error(v, "is empty (use e.g. [\"./app\", \"--verbose\"])");
      return true;
    }
    for (const auto& word : words) {
      if (word.find('\0') != std::string::npos) {
        r_.error(v, "contains a NUL byte");
        return true;
      }
    }
    // A bare name ("sleep") is looked up in PATH at start; anything with a slash is a path.
    if (words.front().find('/') != std::string::npos)
      words.front() = resolve(base_dir_, words.front());
    p.command = std::move(words);
    return true;
  }

  void read_environment(const Located& v, Program& p) {
    r_.read_entries(v, "variables", [&](const std::string& name, const Located& value) {
      if (!is_env_name(name)) {
        r_.error(value.key_at, v.path,
                 quote(name) +
                     " is not a valid variable name (use letters, "
                     "digits and _, not starting with a digit)");
        return;
      }
      if (!value.node.IsScalar()) {
        r_.error(value,
                 "expected a string value such as \"50\", found " + describe_node(value.node));
        return;
      }
      p.environment[name] = value.node.Scalar();
    });
  }

  // `user` or `group`; where it was given goes to `source`, for the check that it exists.
  void read_account(const Located& v, std::optional<std::string>& target,
                    std::optional<Located>& source, const std::string& what) {
    source = v;
    const char* example = what == "user" ? "nobody" : "nogroup";
    auto name = r_.string(v, example);
    if (!name) return;
    if (!is_account_name(*name)) {
      r_.error(v, quote(*name) + " is not a valid " + what + " name or id (use e.g. " + example +
                      " or 65534)");
      return;
    }
    target = *name;
  }

  void read_umask(const Located& v, Program& p) {
    auto text = r_.string(v, "022");
    if (!text) return;
    auto mask = parse_umask(*text);
    if (!mask) {
      r_.error(v, quote(*text) + " is not a umask (use three octal digits such as 022 or 077)");
      return;
    }
    p.umask = *mask;
  }

  void read_memory(const Located& v, MemorySettings& m) {
    bool policy_set = false;
    std::optional<Located> group_true;
    r_.read_mapping(
        v,
        {
            {"max", [&](const Located& s) { assign(m.max, r_.size(s, kMinPlainBytes)); }},
            {"high", [&](const Located& s) { assign(m.high, r_.size(s, kMinPlainBytes)); }},
            {"swap_max", [&](const Located& s) { assign(m.swap_max, r_.size(s, 0)); }},
            {"swappiness", [&](const Located& s) { assign(m.swappiness, r_.integer(s, 0, 100)); }},
            {"oom_policy",
             [&](const Located& s) {
               if (auto i = r_.choice(s, kOomPolicyNames, "an OOM policy")) {
                 m.oom_policy = static_cast<OomPolicy>(*i);
                 policy_set = true;
               }
             }},
            {"oom_group",
             [&](const Located& s) {
               if (auto group = r_.boolean(s); group && *group) group_true.emplace(s);
             }},
            {"pressure", [&](const Located& s) { read_pressure(s, m); }},
        });
    // The first release's key: `oom_group: true` is `oom_policy: kill` (false changes nothing).
    if (!group_true) return;
    if (policy_set && m.oom_policy != OomPolicy::kill)
      r_.error(*group_true, std::string("true means oom_policy: kill, but oom_policy is ") +
                                oom_policy_name(m.oom_policy) + " (keep one of the two)");
    else
      m.oom_policy = OomPolicy::kill;
  }

  // {threshold: 20%, window: 10s}: both required, in the kernel's bounds for a PSI trigger.
  void read_pressure(const Located& v, MemorySettings& m) {
    std::optional<int> threshold;
    std::optional<Duration> window;
    bool threshold_given = false, window_given = false;
    bool read = r_.read_mapping(
        v, {
               {"threshold",
                [&](const Located& s) {
                  threshold_given = true;
                  threshold = read_percent(s);
                }},
               {"window",
                [&](const Located& s) {
                  window_given = true;
                  auto d = r_.duration(s);
                  if (!d) return;
                  if (*d < kMinPressureWindow || *d > kMaxPressureWindow) {
                    r_.error(s, format_duration(*d) +
                                    " is out of range (the kernel takes a window from 500ms "
                                    "to 10s)");
                    return;
                  }
                  window = *d;
                }},
           });
    if (!read) return;
    for (auto [given, key] :
         {std::pair{threshold_given, "threshold"}, std::pair{window_given, "window"}})
      if (!given)
        r_.error(v, std::string("missing required key \"") + key +
                        "\" (use e.g. {threshold: 20%, window: 10s})");
    if (threshold && window) m.pressure = PressureSettings{*threshold, *window};
  }

  // A whole per cent from 1% to 100%.
  std::optional<int> read_percent(const Located& s) {
    const std::string range = "a share from 1% to 100%, such as 20%";
    if (!s.node.IsScalar() || s.node.Scalar().empty()) {
      r_.error(s, s.node.IsNull() || s.node.IsScalar()
                      ? "has no value (use " + range + ")"
                      : "expected " + range + ", found " + describe_node(s.node));
      return std::nullopt;
    }
    const std::string& text = s.node.Scalar();
    std::string_view digits = text;
    bool percent = digits.ends_with('%');
    if (percent) digits.remove_suffix(1);
    auto value = percent && !digits.empty() && digits.size() <= 3 &&
                         digits.find_first_not_of("0123456789") == std::string_view::npos
                     ? parse_u64(digits)
                     : std::nullopt;
    if (!value) {
      r_.error(s, quote(text) + " is not a share (use " + range + ")");
      return std::nullopt;
    }
    if (*value < 1 || *value > 100) {
      r_.error(s, text + " is out of range (use " + range + ")");
      return std::nullopt;
    }
    return static_cast<int>(*value);
  }

  void read_pids_max(const Located& v, Program& p) {
    const std::string range =
        "a whole number from 1 to " + std::to_string(kPidMaxLimit) + ", or max";
    if (v.node.IsNull()) {
      r_.error(v, "has no value (use " + range + ")");
      return;
    }
    if (!v.node.IsScalar()) {
      r_.error(v, "expected " + range + ", found " + describe_node(v.node));
      return;
    }
    const std::string& text = v.node.Scalar();
    if (text == "max") {
      p.pids_max.reset();
      return;
    }
    std::string_view digits = text;
    if (digits.starts_with('-')) digits.remove_prefix(1);
    bool number = is_plain(v.node) && !digits.empty() &&
                  digits.find_first_not_of("0123456789") == std::string_view::npos;
    if (!number) {
      r_.error(v, quote(text) + " is not a task count (use " + range + ", without quotes)");
      return;
    }
    auto n = parse_u64(text);
    if (!n || *n < 1 || *n > static_cast<std::uint64_t>(kPidMaxLimit)) {
      r_.error(v, text + " is out of range (use " + range + ")");
      return;
    }
    p.pids_max = *n;
  }

  void read_cpu(const Located& v, CpuSettings& cpu) {
    r_.read_mapping(
        v,
        {
            {"max", [&](const Located& s) { read_cpu_max(s, cpu); }},
            {"weight", [&](const Located& s) { assign(cpu.weight, r_.integer(s, 1, kMaxWeight)); }},
        });
  }

  // A share of one CPU in per cent, with at most three decimals ("150%", "12.5%"), or max.
  void read_cpu_max(const Located& v, CpuSettings& cpu) {
    const std::string range =
        "a share of one CPU from 1% to " + std::to_string(kMaxCpuPercent) + "%, such as 150%";
    if (!v.node.IsScalar() || v.node.Scalar().empty()) {
      r_.error(v, v.node.IsNull() || v.node.IsScalar()
                      ? "has no value (use " + range + ", or max)"
                      : "expected " + range + ", or max, found " + describe_node(v.node));
      return;
    }
    const std::string& text = v.node.Scalar();
    if (text == "max") {
      cpu.max_quota_micros.reset();
      return;
    }
    std::string_view number = text;
    bool percent = number.ends_with('%');
    if (percent) number.remove_suffix(1);
    std::size_t dot = number.find('.');
    std::string_view whole = number.substr(0, dot);
    std::string_view fraction = dot == std::string_view::npos ? "" : number.substr(dot + 1);
    auto digits = [](std::string_view t) {
      return t.find_first_not_of("0123456789") == std::string_view::npos;
    };
    bool parsed = !whole.empty() && whole.size() <= 7 && digits(whole) && digits(fraction) &&
                  (dot == std::string_view::npos || !fraction.empty());
    if (!parsed || !percent) {
      r_.error(v, quote(text) + " is not a CPU share (use " + range + ", or max)");
      return;
    }
    if (fraction.size() > 3) {
      r_.error(v, quote(text) +
                      " has more than three decimals (the kernel counts CPU time in "
                      "microseconds per 100 ms: use e.g. 12.5%)");
      return;
    }
    std::uint64_t micros = *parse_u64(whole) * 1000;
    std::string thousandths(fraction);
    thousandths.resize(3, '0');
    micros += *parse_u64(thousandths);
    if (micros < 1000 || micros > kMaxCpuPercent * 1000) {
      r_.error(v, text + " is out of range (use " + range + ")");
      return;
    }
    cpu.max_quota_micros = micros;
  }

  void read_io(const Located& v, IoSettings& io) {
    r_.read_mapping(
        v,
        {
            {"weight", [&](const Located& s) { assign(io.weight, r_.integer(s, 1, kMaxWeight)); }},
            {"max", [&](const Located& s) { read_io_max(s, io); }},
        });
  }

  // io.max: a list of {device, read_bps, write_bps, read_iops, write_iops}. It replaces an
  // inherited list whole.
  void read_io_max(const Located& v, IoSettings& io) {
    if (!v.node.IsSequence()) {
      r_.error(v, "expected a list of {device: /dev/vda, read_bps: 50M, ...}, found " +
                      describe_node(v.node));
      return;
    }
    std::vector<IoDeviceMax> devices;
    std::size_t index = 0;
    for (const auto& item : v.node) {
      Located entry{item, item.Mark(), v.path + "[" + std::to_string(index++) + "]", item.Mark()};
      IoDeviceMax device;
      std::optional<Located> device_at;
      bool any_limit = false;
      auto count = [&](const Located& s, std::optional<std::uint64_t>& target) {
        any_limit = true;
        if (s.node.IsScalar() && s.node.Scalar() == "max") {
          target.reset();
          return;
        }
        assign(target, r_.integer(s, 1, INT64_MAX));
      };
      auto rate = [&](const Located& s, ByteLimit& target) {
        any_limit = true;
        if (auto size = r_.size(s, 1)) target = *size;
      };
      if (!r_.read_mapping(
              entry, {
                         {"device", [&](const Located& s) { device_at = s; }},
                         {"read_bps", [&](const Located& s) { rate(s, device.read_bps); }},
                         {"write_bps", [&](const Located& s) { rate(s, device.write_bps); }},
                         {"read_iops", [&](const Located& s) { count(s, device.read_iops); }},
                         {"write_iops", [&](const Located& s) { count(s, device.write_iops); }},
                     }))
        continue;
      if (!device_at) {
        r_.error(entry, "missing required key \"device\" (the block device, such as /dev/vda)");
        continue;
      }
      if (!resolve_block_device(*device_at, device)) continue;
      if (!any_limit) {
        r_.error(entry, "names no limit for " + device.device +
                            " (give read_bps, write_bps, read_iops or write_iops)");
        continue;
      }
      auto same = std::find_if(devices.begin(), devices.end(), [&](const IoDeviceMax& other) {
        return other.major == device.major && other.minor == device.minor;
      });
      if (same != devices.end()) {
        r_.error(*device_at, quote(device.device) + " is the same device as " +
                                 quote(same->device) + " (" + std::to_string(device.major) + ":" +
                                 std::to_string(device.minor) +
                                 "), listed before: give each device one entry");
        continue;
      }
      devices.push_back(std::move(device));
    }
    io.max = std::move(devices);
  }

  // The device's numbers, from the file system when the configuration is loaded: --check
  // catches a path that is not a block device before anything runs.
  bool resolve_block_device(const Located& s, IoDeviceMax& device) {
    auto path = r_.string(s, "/dev/vda");
    if (!path) return false;
    if (path->empty() || path->front() != '/') {
      r_.error(s, quote(*path) + " is not an absolute path (name a block device such as /dev/vda)");
      return false;
    }
    struct stat info {};
    if (::stat(path->c_str(), &info) != 0) {
      r_.error(s, *path + ": " + std::strerror(errno) + " (name a block device such as /dev/vda)");
      return false;
    }
    if (!S_ISBLK(info.st_mode)) {
      r_.error(s, *path + " is not a block device (" + file_kind(info.st_mode) +
                      "); name a disk such as /dev/vda");
      return false;
    }
    device.device = *path;
    device.major = major(info.st_rdev);
    device.minor = minor(info.st_rdev);
    std::string numbers = std::to_string(device.major) + ":" + std::to_string(device.minor);
    // The kernel throttles whole disks only; a partition's numbers are refused at the write.
    if (fs::exists("/sys/dev/block/" + numbers + "/partition")) {
      r_.error(s, *path + " (" + numbers +
                      ") is a partition: IO limits apply to whole disks (name the disk it is on)");
      return false;
    }
    return true;
  }

  static std::string file_kind(mode_t mode) {
    if (S_ISCHR(mode)) return "a character device";
    if (S_ISDIR(mode)) return "a directory";
    if (S_ISREG(mode)) return "a regular file";
    if (S_ISFIFO(mode)) return "a FIFO";
    if (S_ISSOCK(mode)) return "a socket";
    return "not a device";
  }

  void read_restart(const Located& v, RestartSettings& rs) {
    r_.read_mapping(
        v,
        {
            {"policy",
             [&](const Located& s) {
               if (auto i = r_.choice(s, kRestartPolicyNames, "a restart policy"))
                 rs.policy = static_cast<RestartPolicy>(*i);
             }},
            {"backoff",
             [&](const Located& s) {
               r_.read_mapping(
                   s,
                   {
                       {"initial",
                        [&](const Located& d) {
                          sources_.backoff_initial = d;
                          assign(rs.backoff.initial, r_.duration(d));
                        }},
                       {"max",
                        [&](const Located& d) {
                          sources_.backoff_max = d;
                          assign(rs.backoff.max, r_.duration(d));
                        }},
                       {"factor",
                        [&](const Located& d) { assign(rs.backoff.factor, r_.number(d, 1, 100)); }},
                       {"jitter",
                        [&](const Located& d) { assign(rs.backoff.jitter, r_.number(d, 0, 1)); }},
                   });
             }},
            {"reset_after", [&](const Located& s) { assign(rs.reset_after, r_.duration(s)); }},
            {"limit",
             [&](const Located& s) {
               r_.read_mapping(
                   s,
                   {
                       {"burst",
                        [&](const Located& d) { assign(rs.limit.burst, r_.integer(d, 1, 10000)); }},
                       {"interval",
                        [&](const Located& d) {
                          auto interval = r_.duration(d);
                          if (interval && interval->count() == 0)
                            r_.error(d, "must be more than zero (use e.g. 120s)");
                          else
                            assign(rs.limit.interval, interval);
                        }},
                   });
             }},
        });
  }

  void read_stop(const Located& v, StopSettings& stop) {
    r_.read_mapping(
        v, {
               {"signal",
                [&](const Located& s) {
                  auto name = r_.string(s, "TERM");
                  if (!name) return;
                  auto number = parse_signal(*name);
                  if (!number) {
                    r_.error(s, quote(*name) +
                                    " is not a signal that can stop a program "
                                    "(use e.g. TERM, INT, QUIT, HUP, USR1 or KILL)");
                    return;
                  }
                  stop.signal = *number;
                }},
               {"timeout", [&](const Located& s) { assign(stop.timeout, r_.duration(s)); }},
           });
  }

  // `depends_on: [db, cache]` (each `started`), or a mapping of names to a condition or to
  // {condition, restart}. The names are checked once every program is known (key_rules.h).
  void read_depends_on(const Located& v, Program& p) {
    if (v.path.starts_with("defaults")) {
      r_.error(v, "cannot be set in defaults: (each program names what it depends on)");
      return;
    }
    auto add = [&](Dependency dependency, const Located& where) {
      for (const auto& known : p.depends_on) {
        if (known.name == dependency.name) {
          r_.error(where, quote(dependency.name) + " is listed twice");
          return;
        }
      }
      p.depends_on.push_back(std::move(dependency));
      sources_.dependencies.push_back(where);
    };
    if (v.node.IsSequence()) {
      std::size_t index = 0;
      for (const auto& item : v.node) {
        Located element{item, item.Mark(), v.path + "[" + std::to_string(index++) + "]",
                        item.Mark()};
        if (auto name = r_.string(element, "db")) add({*name}, element);
      }
      return;
    }
    r_.read_entries(v, "dependencies", [&](const std::string& name, const Located& value) {
      Dependency dependency{name};
      if (value.node.IsMap()) {
        bool has_condition = false, valid = true;
        r_.read_mapping(
            value,
            {{"condition",
              [&](const Located& c) {
                has_condition = true;
                valid = read_condition(c, dependency);
              }},
             {"restart", [&](const Located& r) { assign(dependency.restart, r_.boolean(r)); }}});
        if (!has_condition)
          r_.error(value, "missing required key \"condition\" (started, ready or succeeded)");
        if (!has_condition || !valid) return;
      } else if (!read_condition(value, dependency)) {
        return;
      }
      Located where = value;
      where.at = value.key_at;
      add(std::move(dependency), where);
    });
  }

  bool read_condition(const Located& v, Dependency& dependency) {
    auto i = r_.choice(v, kDependencyConditionNames, "a dependency condition");
    if (i) dependency.condition = static_cast<DependencyCondition>(*i);
    return i.has_value();
  }

  void read_output(const Located& v, OutputSettings& out, bool is_stderr) {
    r_.read_mapping(
        v, {
               {"file",
                [&](const Located& s) {
                  (is_stderr ? sources_.stderr_file : sources_.stdout_file) = s;
                  read_output_file(s, out, is_stderr);
                }},
               {"max_size",
                [&](const Located& s) {
                  // max: never rotate.
                  if (auto size = r_.size(s, kMinPlainBytes))
                    out.max_size = size->value_or(UINT64_MAX);
                }},
               {"keep", [&](const Located& s) { assign(out.keep, r_.integer(s, 0, 100)); }},
           });
  }

  void read_output_file(const Located& s, OutputSettings& out, bool is_stderr) {
    if (s.node.IsNull() || (s.node.IsScalar() && s.node.Scalar() == "null")) {
      out = OutputSettings{OutputTarget::discard, false, "", out.max_size, out.keep};
      return;
    }
    const char* example =
        is_stderr ? "auto, stdout, inherit, null or a path" : "auto, inherit, null or a path";
    auto text = r_.string(s, example);
    if (!text) return;
    if (*text == "auto") {
      out.target = OutputTarget::file;
      out.automatic = true;
    } else if (*text == "inherit") {
      out.target = OutputTarget::inherit;
    } else if (*text == "stdout" && is_stderr) {
      out.target = OutputTarget::merge;
    } else if (*text == "stdout" || *text == "stderr") {
      // Only stderr can be merged (into stdout); a file called so is written ./stdout.
      r_.error(s, quote(*text) + " cannot be the target of " + (is_stderr ? "stderr" : "stdout") +
                      " (use " + example + "; write ./" + *text + " for a file of that name)");
      return;
    } else if (text->back() == '/') {
      r_.error(s, quote(*text) + " names a folder (use " + example + ")");
      return;
    } else {
      out.target = OutputTarget::file;
      out.automatic = false;
      out.path = resolve(base_dir_, *text);
    }
    if (out.target != OutputTarget::file) out.automatic = false;
  }

  YamlReader& r_;
  std::string base_dir_;
  KeySources& sources_;
};

}  // namespace

bool read_program(YamlReader& reader, const std::string& base_dir, const Located& value,
                  Program& program, KeySources& sources) {
  return ProgramReader(reader, base_dir, sources).read(value, program);
}

void read_version(YamlReader& r, const Located& v) {
  if (v.node.IsNull()) {
    r.error(v, "has no value (use version: 1, or leave the key out)");
  } else if (!v.node.IsScalar()) {
    r.error(v, "expected 1, found " + describe_node(v.node) + " (use version: 1)");
  } else if (!is_plain(v.node) || !parse_u64(v.node.Scalar())) {
    r.error(v,
            quote(v.node.Scalar()) + " is not a version number (use version: 1, without quotes)");
  } else if (*parse_u64(v.node.Scalar()) != 1) {
    r.error(v, "version " + v.node.Scalar() + " is not supported (use version: 1)");
  }
}

void read_manager(YamlReader& r, const Located& v, const std::string& base_dir,
                  ManagerSettings& m) {
  r.read_mapping(
      v,
      {
          {"cgroup_root",
           [&](const Located& s) {
             auto text = r.string(s, "auto");
             if (!text) return;
             if (*text != "auto" &&
                 (text->front() != '/' || text->find("/../") != std::string::npos ||
                  text->ends_with("/..")))
               r.error(s, quote(*text) +
                              " is not auto or an absolute path without \"..\" "
                              "(use e.g. auto or /sys/fs/cgroup/climits)");
             else
               m.cgroup_root =
                   *text == "auto" ? *text : fs::path(*text).lexically_normal().string();
           }},
          {"control_socket",
           [&](const Located& s) {
             auto text = r.string(s, "/run/climits-manager/control.sock");
             if (!text) return;
             std::string path = resolve(base_dir, *text);
             if (path.size() > kUnixSocketPathMax)
               r.error(s, "the socket path is " + std::to_string(path.size()) +
                              " bytes long, more than a Unix socket allows (use at most " +
                              std::to_string(kUnixSocketPathMax) +
                              ", e.g. /run/climits-manager/control.sock)");
             else
               m.control_socket = path;
           }},
          {"control_group",
           [&](const Located& s) {
             auto name = r.string(s, "climits");
             if (!name) return;
             if (!is_account_name(*name)) {
               r.error(s, quote(*name) + " is not a valid group name (use e.g. climits)");
             } else if (::getgrnam(name->c_str()) == nullptr &&
                        !(parse_u64(*name) && ::getgrgid(static_cast<gid_t>(*parse_u64(*name))))) {
               r.error(s, "group \"" + *name +
                              "\" does not exist (create it with `groupadd --system " + *name +
                              "`, or remove control_group to allow root only)");
             } else {
               m.control_group = *name;
             }
           }},
          {"log_level",
           [&](const Located& s) {
             if (auto i = r.choice(s, kLogLevelNames, "a log level"))
               m.log_level = static_cast<LogLevel>(*i);
           }},
          {"log_dir",
           [&](const Located& s) {
             if (auto text = r.string(s, "/var/log/climits-manager"))
               m.log_dir = resolve(base_dir, *text);
           }},
      });
}

}  // namespace climits::config
