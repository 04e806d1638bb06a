#include "config/loader.h"

#include <grp.h>
#include <yaml-cpp/eventhandler.h>

#include <algorithm>
#include <cstdio>
#include <cstring>

#include <filesystem>
#include <map>
#include <sstream>
#include <vector>

#include "config/units.h"
#include "config/yaml_reader.h"
#include "util/file_io.h"
#include "util/text.h"

namespace climits::config {

namespace {

namespace fs = std::filesystem;

// Smallest unit-less byte count accepted for memory limits and log sizes: anything below one
// page is almost certainly a forgotten unit ("max: 60" meaning 60M).
constexpr std::uint64_t kMinPlainBytes = 4096;
constexpr std::int64_t kPidMaxLimit = 4194304;  // PID_MAX_LIMIT on 64-bit Linux
constexpr std::size_t kUnixSocketPathMax = 107;  // sizeof(sockaddr_un::sun_path) - 1

std::string resolve(const std::string& base_dir, const std::string& path) {
  if (path.empty() || path.front() == '/') return fs::path(path).lexically_normal().string();
  return (fs::path(base_dir) / path).lexically_normal().string();
}

// The two name checks are written out instead of using std::regex: libstdc++'s matcher
// recurses once per character, and a 70 000-character environment variable name overflowed
// the stack (the manager died with SIGSEGV on --check or on a reload).
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_lower(char c) { return c >= 'a' && c <= 'z'; }
bool is_letter(char c) { return is_lower(c) || (c >= 'A' && c <= 'Z'); }

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

// Where one program (or the defaults: section) gave the keys that rules spanning several keys
// point at; unset when the value was inherited.
struct KeySources {
  std::optional<Located> stdout_file, stderr_file;
  std::optional<Located> backoff_initial, backoff_max;
};

// Reads the keys of one program (or of the defaults: section) onto `program`, which already
// holds the inherited values: mappings merge key by key, so a program that sets memory.high
// keeps the memory.max of its defaults.
class ProgramReader {
 public:
  ProgramReader(YamlReader& reader, std::string base_dir, KeySources& sources)
      : r_(reader), base_dir_(std::move(base_dir)), sources_(sources) {}

  // Returns whether `command` was given.
  bool read(const Located& value, Program& p) {
    bool has_command = false;
    r_.read_mapping(value, {
        {"command", [&](const Located& v) { has_command = read_command(v, p); }},
        {"directory", [&](const Located& v) {
           if (auto s = r_.string(v, "/opt/app")) p.directory = resolve(base_dir_, *s);
         }},
        {"environment", [&](const Located& v) { read_environment(v, p); }},
        {"user", [&](const Located& v) { read_account(v, p.user, "user", "nobody"); }},
        {"group", [&](const Located& v) { read_account(v, p.group, "group", "nogroup"); }},
        {"umask", [&](const Located& v) { read_umask(v, p); }},
        {"autostart", [&](const Located& v) { assign(p.autostart, r_.boolean(v)); }},
        {"memory", [&](const Located& v) { read_memory(v, p.memory); }},
        {"pids_max", [&](const Located& v) { read_pids_max(v, p); }},
        {"restart", [&](const Located& v) { read_restart(v, p.restart); }},
        {"start", [&](const Located& v) {
           r_.read_mapping(v, {{"settle", [&](const Located& s) {
                                  assign(p.start_settle, r_.duration(s));
                                }}});
         }},
        {"stop", [&](const Located& v) { read_stop(v, p.stop); }},
        {"stdout", [&](const Located& v) { read_output(v, p.stdout_output, false); }},
        {"stderr", [&](const Located& v) { read_output(v, p.stderr_output, true); }},
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
        Located element{item, item.Mark(), v.path + "[" + std::to_string(index++) + "]", item.Mark()};
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
        r_.error(value.key_at, v.path, quote(name) + " is not a valid variable name (use letters, "
                                       "digits and _, not starting with a digit)");
        return;
      }
      if (!value.node.IsScalar()) {
        r_.error(value, "expected a string value such as \"50\", found " +
                            describe_node(value.node));
        return;
      }
      p.environment[name] = value.node.Scalar();
    });
  }

  void read_account(const Located& v, std::optional<std::string>& target, const char* what,
                    const char* example) {
    auto name = r_.string(v, example);
    if (!name) return;
    if (!is_account_name(*name)) {
      r_.error(v, quote(*name) + " is not a valid " + what + " name or id (use e.g. " +
                      example + " or 65534)");
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
    r_.read_mapping(v, {
        {"max", [&](const Located& s) { assign(m.max, r_.size(s, kMinPlainBytes)); }},
        {"high", [&](const Located& s) { assign(m.high, r_.size(s, kMinPlainBytes)); }},
        {"swap_max", [&](const Located& s) { assign(m.swap_max, r_.size(s, 0)); }},
        {"swappiness", [&](const Located& s) { assign(m.swappiness, r_.integer(s, 0, 100)); }},
        {"oom_group", [&](const Located& s) { assign(m.oom_group, r_.boolean(s)); }},
    });
  }

  void read_pids_max(const Located& v, Program& p) {
    const std::string range = "a whole number from 1 to " + std::to_string(kPidMaxLimit) + ", or max";
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

  void read_restart(const Located& v, RestartSettings& rs) {
    r_.read_mapping(v, {
        {"policy", [&](const Located& s) {
           if (auto i = r_.choice(s, {"always", "on-failure", "on-oom", "never"},
                                  "a restart policy"))
             rs.policy = static_cast<RestartPolicy>(*i);
         }},
        {"backoff", [&](const Located& s) {
           r_.read_mapping(s, {
               {"initial", [&](const Located& d) {
                  sources_.backoff_initial = d;
                  assign(rs.backoff.initial, r_.duration(d));
                }},
               {"max", [&](const Located& d) {
                  sources_.backoff_max = d;
                  assign(rs.backoff.max, r_.duration(d));
                }},
               {"factor", [&](const Located& d) { assign(rs.backoff.factor, r_.number(d, 1, 100)); }},
               {"jitter", [&](const Located& d) { assign(rs.backoff.jitter, r_.number(d, 0, 1)); }},
           });
         }},
        {"reset_after", [&](const Located& s) { assign(rs.reset_after, r_.duration(s)); }},
        {"limit", [&](const Located& s) {
           r_.read_mapping(s, {
               {"burst", [&](const Located& d) { assign(rs.limit.burst, r_.integer(d, 1, 10000)); }},
               {"interval", [&](const Located& d) {
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
    r_.read_mapping(v, {
        {"signal", [&](const Located& s) {
           auto name = r_.string(s, "TERM");
           if (!name) return;
           auto number = parse_signal(*name);
           if (!number) {
             r_.error(s, quote(*name) + " is not a signal that can stop a program "
                             "(use e.g. TERM, INT, QUIT, HUP, USR1 or KILL)");
             return;
           }
           stop.signal = *number;
         }},
        {"timeout", [&](const Located& s) { assign(stop.timeout, r_.duration(s)); }},
    });
  }

  void read_output(const Located& v, OutputSettings& out, bool is_stderr) {
    r_.read_mapping(v, {
        {"file", [&](const Located& s) {
           (is_stderr ? sources_.stderr_file : sources_.stdout_file) = s;
           read_output_file(s, out, is_stderr);
         }},
        {"max_size", [&](const Located& s) {
           // max: never rotate.
           if (auto size = r_.size(s, kMinPlainBytes)) out.max_size = size->value_or(UINT64_MAX);
         }},
        {"keep", [&](const Located& s) { assign(out.keep, r_.integer(s, 0, 100)); }},
    });
  }

  void read_output_file(const Located& s, OutputSettings& out, bool is_stderr) {
    if (s.node.IsNull() || (s.node.IsScalar() && s.node.Scalar() == "null")) {
      out = OutputSettings{OutputTarget::discard, false, "", out.max_size, out.keep};
      return;
    }
    const char* example = is_stderr ? "auto, stdout, inherit, null or a path" :
                                      "auto, inherit, null or a path";
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

class ConfigReader {
 public:
  ConfigReader(std::string file_name, std::string base_dir)
      : r_(file_name), base_dir_(std::move(base_dir)) {
    config_.source_path = std::move(file_name);
  }

  LoadResult read(const YAML::Node& document) {
    Located root{document, document.Mark(), "", document.Mark()};
    if (document.IsNull()) {
      root.at = YAML::Mark();
      root.at.line = root.at.column = 0;
      r_.error(root.at, "(top level)",
               "the file is empty (start with \"version: 1\" and a \"programs:\" mapping)");
      return finish();
    }
    std::optional<Located> version, manager, defaults, programs;
    auto keep = [](std::optional<Located>& slot) {
      return [&slot](const Located& v) { slot = v; };
    };
    if (!document.IsMap()) {
      r_.error(root.at, "(top level)",
               "expected a mapping with version, manager, defaults and programs, found " +
                   describe_node(document));
      return finish();
    }
    r_.read_mapping(root, {{"version", keep(version)},
                           {"manager", keep(manager)},
                           {"defaults", keep(defaults)},
                           {"programs", keep(programs)}});
    if (version) read_version(*version);
    if (manager) read_manager(*manager);
    Program base;
    base.directory = base_dir_;
    if (defaults) {
      KeySources sources;
      ProgramReader(r_, base_dir_, sources).read(*defaults, base);
      check_backoff(base, sources);
    }
    if (programs) {
      read_programs(*programs, base);
    } else {
      r_.error(root.at, "(top level)",
               "missing required key \"programs\" (a mapping of program names to settings)");
    }
    resolve_outputs();
    return finish();
  }

 private:
  void read_version(const Located& v) {
    if (v.node.IsNull()) {
      r_.error(v, "has no value (use version: 1, or leave the key out)");
    } else if (!v.node.IsScalar()) {
      r_.error(v, "expected 1, found " + describe_node(v.node) + " (use version: 1)");
    } else if (!is_plain(v.node) || !parse_u64(v.node.Scalar())) {
      r_.error(v, quote(v.node.Scalar()) + " is not a version number (use version: 1, without quotes)");
    } else if (*parse_u64(v.node.Scalar()) != 1) {
      r_.error(v, "version " + v.node.Scalar() + " is not supported (use version: 1)");
    }
  }

  void read_manager(const Located& v) {
    ManagerSettings& m = config_.manager;
    r_.read_mapping(v, {
        {"cgroup_root", [&](const Located& s) {
           auto text = r_.string(s, "auto");
           if (!text) return;
           if (*text != "auto" && (text->front() != '/' || text->find("/../") != std::string::npos ||
                                   text->ends_with("/..")))
             r_.error(s, quote(*text) + " is not auto or an absolute path without \"..\" "
                             "(use e.g. auto or /sys/fs/cgroup/climits)");
           else
             m.cgroup_root = *text == "auto" ? *text : fs::path(*text).lexically_normal().string();
         }},
        {"control_socket", [&](const Located& s) {
           auto text = r_.string(s, "/run/climits-manager/control.sock");
           if (!text) return;
           std::string path = resolve(base_dir_, *text);
           if (path.size() > kUnixSocketPathMax)
             r_.error(s, "the socket path is " + std::to_string(path.size()) +
                             " bytes long, more than a Unix socket allows (use at most " +
                             std::to_string(kUnixSocketPathMax) + ", e.g. /run/climits-manager/control.sock)");
           else
             m.control_socket = path;
         }},
        {"control_group", [&](const Located& s) {
           auto name = r_.string(s, "climits");
           if (!name) return;
           if (!is_account_name(*name)) {
             r_.error(s, quote(*name) + " is not a valid group name (use e.g. climits)");
           } else if (::getgrnam(name->c_str()) == nullptr &&
                      !(parse_u64(*name) && ::getgrgid(static_cast<gid_t>(*parse_u64(*name))))) {
             r_.error(s, "group \"" + *name + "\" does not exist (create it with `groupadd --system " +
                             *name + "`, or remove control_group to allow root only)");
           } else {
             m.control_group = *name;
           }
         }},
        {"log_level", [&](const Located& s) {
           if (auto i = r_.choice(s, {"trace", "debug", "info", "warn", "error"}, "a log level"))
             m.log_level = static_cast<LogLevel>(*i);
         }},
        {"log_dir", [&](const Located& s) {
           if (auto text = r_.string(s, "/var/log/climits-manager"))
             m.log_dir = resolve(base_dir_, *text);
         }},
    });
  }

  void read_programs(const Located& v, const Program& base) {
    r_.read_entries(v, "programs", [&](const std::string& name, const Located& value) {
      if (!is_valid_program_name(name)) {
        std::string length = name.size() > 64 ? " (" + std::to_string(name.size()) + " characters)" : "";
        r_.error(value.key_at, v.path,
                 quote(name) + length + " is not a valid program name (use 1 to 64 of the "
                 "characters A-Z a-z 0-9 _ . -, and not \".\" or \"..\")");
        return;
      }
      Program program = base;
      program.name = name;
      KeySources sources;
      bool has_command = ProgramReader(r_, base_dir_, sources).read(value, program);
      if (!value.node.IsMap()) return;  // reported; nothing more to say about it
      if (!has_command && program.command.empty())
        r_.error(value.key_at, value.path, "missing required key \"command\" (e.g. command: [\"./app\", \"--verbose\"])");
      check_backoff(program, sources);
      locations_.push_back(value);
      sources_.push_back(std::move(sources));
      config_.programs.push_back(std::move(program));
    });
  }

  // Rules that involve more than one key, checked after defaults are merged in. The error
  // points at the key this section gave; when it gave neither, both values come from the
  // defaults: section, whose own check has already reported them.
  void check_backoff(const Program& p, const KeySources& sources) {
    if (p.restart.backoff.max >= p.restart.backoff.initial) return;
    const auto& at = sources.backoff_max ? sources.backoff_max : sources.backoff_initial;
    if (!at) return;
    r_.error(*at, "max (" + format_duration(p.restart.backoff.max) + ") is below initial (" +
                      format_duration(p.restart.backoff.initial) + "); make max at least initial");
  }

  // `file: auto` becomes <log_dir>/<name>.<stream>.log now that log_dir is known; two
  // programs writing the same file would interleave and rotate each other's output.
  void resolve_outputs() {
    std::map<std::string, std::string> writers;
    for (std::size_t i = 0; i < config_.programs.size(); ++i) {
      Program& p = config_.programs[i];
      for (auto [out, stream] : {std::pair{&p.stdout_output, "stdout"},
                                 std::pair{&p.stderr_output, "stderr"}}) {
        if (out->target != OutputTarget::file) continue;
        if (out->automatic) out->path = config_.manager.log_dir + "/" + p.name + "." + stream + ".log";
        std::string who = "programs." + p.name + "." + stream;
        auto [it, inserted] = writers.emplace(out->path, who);
        if (inserted) continue;
        const auto& given = out == &p.stdout_output ? sources_[i].stdout_file : sources_[i].stderr_file;
        if (given) {
          r_.error(*given, quote(out->path) + " is also written by " + it->second +
                               " (give each stream its own file, or use stderr: {file: stdout})");
        } else {
          // Not given by the program: point at its name, and say where the file comes from.
          std::string origin = out->automatic ? "its automatic log file"
                                              : std::string("from defaults.") + stream + ".file";
          r_.error(locations_[i].key_at, who + ".file",
                   quote(out->path) + " (" + origin + ") is also written by " + it->second +
                       " (give each program its own file, e.g. file: auto)");
        }
      }
    }
  }

  LoadResult finish() {
    LoadResult result;
    result.errors = r_.take_errors();
    std::stable_sort(result.errors.begin(), result.errors.end(),
                     [](const ConfigError& a, const ConfigError& b) {
                       return std::tie(a.line, a.column) < std::tie(b.line, b.column);
                     });
    if (result.errors.empty()) result.config = std::move(config_);
    return result;
  }

  YamlReader r_;
  std::string base_dir_;
  Config config_;
  std::vector<Located> locations_;  // per program, for errors found after reading
  std::vector<KeySources> sources_;  // per program, likewise
};

ConfigError file_error(const std::string& file, int line, int column, const std::string& path,
                       const std::string& message) {
  return ConfigError{file, line, column, path, message};
}

// yaml-cpp 0.7 accepts a quoted scalar left open at the end of the file, taking everything
// after the quote as its text: a forgotten closing quote would silently swallow the rest of
// the file. Such a scalar is necessarily the last one, so only that one is checked.
struct OpenQuote {
  YAML::Mark at;
  char quote;
};

std::optional<OpenQuote> unterminated_quote(const std::optional<YAML::Mark>& last,
                                            std::string_view text) {
  if (text.starts_with("\xef\xbb\xbf")) text.remove_prefix(3);  // marks do not count a BOM
  if (!last || last->pos < 0 || static_cast<std::size_t>(last->pos) >= text.size()) return std::nullopt;
  char quote = text[static_cast<std::size_t>(last->pos)];
  if (quote != '"' && quote != '\'') return std::nullopt;
  for (std::size_t i = static_cast<std::size_t>(last->pos) + 1; i < text.size(); ++i) {
    if (quote == '"' && text[i] == '\\') {
      ++i;  // an escaped character
    } else if (text[i] == quote) {
      if (quote == '\'' && i + 1 < text.size() && text[i + 1] == '\'') {
        ++i;  // '' is a quote inside single quotes
        continue;
      }
      return std::nullopt;
    }
  }
  return OpenQuote{*last, quote};
}

// One pass over the parser's events for the whole stream: how many documents there are, where
// the second one's root stands, where the last scalar starts (for the open-quote check), and
// which collections are open (for a bracket never closed).
class DocumentScan : public YAML::EventHandler {
 public:
  int documents = 0;
  std::optional<YAML::Mark> second_root;
  std::optional<YAML::Mark> last_scalar;
  // Set when a document starts where the previous one started: the parser is stuck on a token
  // it does not consume (see load_first_document).
  std::optional<YAML::Mark> stuck_at;
  // Collections started and not ended yet, innermost last: after a syntax error, those the
  // parser was inside when it gave up.
  struct Open {
    YAML::Mark at;  // where the node starts (its anchor or tag, if any, comes first)
    bool flow;
    bool sequence;
  };
  std::vector<Open> open;

  void OnDocumentStart(const YAML::Mark& at) override {
    if (documents > 0 && at.pos == start_.pos) stuck_at = at;
    start_ = at;
    ++documents;
  }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& at, YAML::anchor_t) override { node(at); }
  void OnAlias(const YAML::Mark& at, YAML::anchor_t) override { node(at); }
  void OnScalar(const YAML::Mark& at, const std::string&, YAML::anchor_t,
                const std::string&) override {
    node(at);
    if (!last_scalar || at.pos > last_scalar->pos) last_scalar = at;
  }
  void OnSequenceStart(const YAML::Mark& at, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value style) override {
    node(at);
    open.push_back({at, style == YAML::EmitterStyle::Flow, true});
  }
  void OnSequenceEnd() override { close(); }
  void OnMapStart(const YAML::Mark& at, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value style) override {
    node(at);
    open.push_back({at, style == YAML::EmitterStyle::Flow, false});
  }
  void OnMapEnd() override { close(); }

 private:
  void node(const YAML::Mark& at) {
    if (documents == 2 && !second_root) second_root = at;
  }
  void close() {
    if (!open.empty()) open.pop_back();
  }
  YAML::Mark start_;
};

// yaml-cpp reports a "[" or "{" never closed only where it gives up, often at the end of the
// file, far from the bracket. The collections it had started and not ended when it threw are
// still in `scan`: the innermost flow one of the kind it names is the bracket left open. Its
// place is the parser's own, so a bracket in a quoted string or a comment never counts. The
// mark is where the node starts: an anchor or a tag before the bracket (`&a [`) is stepped over.
struct OpenBracket {
  YAML::Mark at;
  char bracket;
};

std::optional<OpenBracket> unclosed_bracket(const DocumentScan& scan, const std::string& message,
                                            std::string_view text) {
  bool sequence = message == YAML::ErrorMsg::END_OF_SEQ_FLOW;
  if (!sequence && message != YAML::ErrorMsg::END_OF_MAP_FLOW) return std::nullopt;
  const char bracket = sequence ? '[' : '{';
  if (text.starts_with("\xef\xbb\xbf")) text.remove_prefix(3);  // marks do not count a BOM
  for (auto open = scan.open.rbegin(); open != scan.open.rend(); ++open) {
    if (!open->flow || open->sequence != sequence || open->at.pos < 0) continue;
    YAML::Mark at = open->at;
    auto pos = static_cast<std::size_t>(at.pos);
    auto step = [&] { ++pos, ++at.column; };
    while (pos < text.size() && (text[pos] == '&' || text[pos] == '!')) {
      while (pos < text.size() && text[pos] != bracket && !std::strchr(" \t\r\n", text[pos]))
        step();
      while (pos < text.size() && (text[pos] == ' ' || text[pos] == '\t')) step();
    }
    // Not the bracket (a single-pair mapping inside "[…]" has none): an outer one is.
    if (pos >= text.size() || text[pos] != bracket) continue;
    at.pos = static_cast<int>(pos);
    return OpenBracket{at, bracket};
  }
  return std::nullopt;
}

// The first document of the stream, built, and what `scan` learns about all of them; throws
// YAML::Exception on a syntax error anywhere, as YAML::LoadAll would.
// YAML::LoadAll itself is not used: yaml-cpp 0.7 never consumes a stray ',' at the top of a
// document (",r:"), and LoadAll then appends empty documents forever until the memory runs
// out (yaml-cpp issue #1040). A document that starts where the previous one started has made
// no progress: that token is reported as a syntax error instead.
YAML::Node load_first_document(std::string_view text, DocumentScan& scan) {
  std::string copy(text);
  std::istringstream stream(copy);
  YAML::Parser parser(stream);
  while (parser.HandleNextDocument(scan)) {
    if (scan.stuck_at) {
      auto at = static_cast<std::size_t>(scan.stuck_at->pos);
      char c = at < text.size() ? text[at] : '\0';
      std::string what = c > ' ' && c < 0x7f ? std::string("\"") + c + "\"" : "text";
      throw YAML::ParserException(*scan.stuck_at, "unexpected " + what);
    }
  }
  // Only one parse builds nodes; the configuration is the first document (any other is an
  // error reported from `scan`).
  return scan.documents == 0 ? YAML::Node() : YAML::Load(copy);
}

// A tab in the indentation of the line an error is on is the likely cause.
bool tab_indented(std::string_view text, int line) {
  std::size_t start = 0;
  for (int i = 0; i < line && start != std::string_view::npos; ++i) {
    start = text.find('\n', start);
    if (start != std::string_view::npos) ++start;
  }
  if (start == std::string_view::npos) return false;
  for (std::size_t i = start; i < text.size() && (text[i] == ' ' || text[i] == '\t'); ++i)
    if (text[i] == '\t') return true;
  return false;
}

const char kTooLarge[] =
    "the file is larger than 16 MiB; a configuration is normally a few KiB (is this the right "
    "file?)";

// YAML is text: the first byte that is not valid UTF-8, or a control character other than
// tab, line feed and carriage return (as in binary files), is reported with its position
// instead of whatever the YAML parser would make of it.
std::optional<ConfigError> check_text(std::string_view text, const std::string& file_name) {
  int line = 1, column = 1;
  for (std::size_t i = 0; i < text.size();) {
    auto c = static_cast<unsigned char>(text[i]);
    std::size_t length = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
    bool valid = length != 0 && i + length <= text.size();
    for (std::size_t k = 1; valid && k < length; ++k)
      valid = (static_cast<unsigned char>(text[i + k]) & 0xc0) == 0x80;
    auto hex = [c] {
      char text[8];
      std::snprintf(text, sizeof text, "0x%02x", c);
      return std::string(text);
    };
    if (!valid)
      return file_error(file_name, line, column, "(top level)",
                        "byte " + hex() + " is not UTF-8 text (save the file as UTF-8; "
                        "is this the right file?)");
    if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f)
      return file_error(file_name, line, column, "(top level)",
                        "control character " + hex() + " is not allowed in YAML (is "
                        "this the right file?)");
    if (c == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
    i += length;
  }
  return std::nullopt;
}

}  // namespace

std::string ConfigError::to_string() const {
  if (line == 0) return file + ": " + message;
  return file + ":" + std::to_string(line) + ":" + std::to_string(column) + ": " + path + ": " +
         message;
}

const Program* Config::find(const std::string& name) const {
  for (const auto& program : programs)
    if (program.name == name) return &program;
  return nullptr;
}

LoadResult load_config_text(std::string_view text, const std::string& file_name,
                            const std::string& base_dir) {
  LoadResult failed;
  if (text.size() > kMaxConfigBytes) {
    failed.errors.push_back(file_error(file_name, 0, 0, "", kTooLarge));
    return failed;
  }
  if (auto error = check_text(text, file_name)) {
    failed.errors.push_back(*error);
    return failed;
  }
  YAML::Node document;
  DocumentScan scan;
  try {
    document = load_first_document(text, scan);
  } catch (const YAML::Exception& e) {
    if (auto open = unclosed_bracket(scan, e.msg, text)) {
      const char closing = open->bracket == '[' ? ']' : '}';
      failed.errors.push_back(file_error(
          file_name, open->at.line + 1, open->at.column + 1, "(yaml syntax)",
          std::string("\"") + open->bracket + "\" opened here is never closed (add the closing \"" +
              closing + "\"; the parser gave up at " + std::to_string(e.mark.line + 1) + ":" +
              std::to_string(e.mark.column + 1) + ": " + e.msg + ")"));
      return failed;
    }
    // yaml-cpp's messages can carry a byte of the file ("unknown escape character: \r").
    std::string message = printable(e.msg);
    if (message == "bad file" || message.find("depth") != std::string::npos)
      message = "nesting is too deep";
    message += tab_indented(text, e.mark.line) ? " (indent with spaces: YAML does not allow tabs)"
                                                : " (check indentation, brackets and quotes)";
    failed.errors.push_back(file_error(file_name, e.mark.line + 1, e.mark.column + 1,
                                       "(yaml syntax)", message));
    return failed;
  }
  if (auto open = unterminated_quote(scan.last_scalar, text)) {
    failed.errors.push_back(file_error(file_name, open->at.line + 1, open->at.column + 1,
                                       "(yaml syntax)",
                                       std::string("this quoted string is never closed (add the "
                                                   "closing ") + open->quote + ")"));
    return failed;
  }
  if (scan.documents > 1) {
    const YAML::Mark at = scan.second_root.value_or(YAML::Mark());
    failed.errors.push_back(file_error(file_name, at.line + 1, at.column + 1, "(top level)",
                                       "the file holds more than one YAML document (remove the "
                                       "second \"---\" and what follows)"));
    return failed;
  }
  return ConfigReader(file_name, base_dir).read(document);
}

LoadResult load_config_file(const std::string& path) {
  auto text = read_file(path, kMaxConfigBytes + 1);
  if (!text) {
    LoadResult failed;
    std::string message = text.error().code == EFBIG
                              ? std::string(kTooLarge)
                              : "cannot read the configuration: " +
                                    std::string(std::strerror(text.error().code));
    failed.errors.push_back(file_error(path, 0, 0, "", message));
    return failed;
  }
  std::string base_dir = fs::absolute(fs::path(path)).parent_path().lexically_normal().string();
  return load_config_text(*text, path, base_dir);
}

}  // namespace climits::config
