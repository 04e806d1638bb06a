// libFuzzer target for the configuration loader: any bytes as the text of a programs.yaml.
//
// Besides "no crash, no leak, no hang, no undefined behaviour", it checks what the rest of
// the manager relies on (docs/errors.md, docs/configuration.md):
// - the loader never throws (YAML exceptions are caught at its edge);
// - a refused file has errors, each one line of the form FILE:LINE:COL: path: message with a
//   line and column inside the text, sorted by position;
// - an accepted file has no errors and its model keeps the documented ranges and rules.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>
#include <string_view>
#include <tuple>

#include "config/loader.h"
#include "config/units.h"

using namespace climits::config;

namespace {

constexpr char kFileName[] = "fuzz.yaml";
constexpr char kBaseDir[] = "/srv/fuzz";

[[noreturn]] void fail(const std::string& what, const std::string& detail) {
  std::fprintf(stderr, "config_fuzz: invariant broken: %s\n  %s\n", what.c_str(), detail.c_str());
  std::abort();
}

#define CHECK_THAT(condition, detail)           \
  do {                                          \
    if (!(condition)) fail(#condition, detail); \
  } while (0)

bool has_control_byte(std::string_view text) {
  for (unsigned char c : text)
    if (c < 0x20 || c == 0x7f) return true;
  return false;
}

bool is_absolute(const std::string& path) {
  return !path.empty() && path.front() == '/';
}

void check_errors(const LoadResult& result, std::string_view text) {
  CHECK_THAT(!result.config.has_value(), "a config together with errors");
  // Lines of the text as the loader counts them: '\n' ends a line (a trailing "\r" is part
  // of it); an error may point one line past the last (at the end of the file).
  std::size_t lines = 1;
  for (char c : text) lines += c == '\n';
  const ConfigError* previous = nullptr;
  for (const auto& error : result.errors) {
    const std::string line = error.to_string();
    CHECK_THAT(error.file == kFileName, line);
    CHECK_THAT(error.line >= 1 && error.column >= 1, line);
    CHECK_THAT(static_cast<std::size_t>(error.line) <= lines + 1, line);
    CHECK_THAT(!error.path.empty(), line);
    CHECK_THAT(!error.message.empty(), line);
    CHECK_THAT(line.starts_with(std::string(kFileName) + ":" + std::to_string(error.line) + ":" +
                                std::to_string(error.column) + ": "),
               line);
    // One error, one line of output: nothing the user wrote may break it.
    CHECK_THAT(!has_control_byte(line), line);
    if (previous != nullptr)
      CHECK_THAT(std::tie(previous->line, previous->column) <= std::tie(error.line, error.column),
                 previous->to_string() + " before " + line);
    previous = &error;
  }
}

void check_model(const Config& config) {
  CHECK_THAT(config.source_path == kFileName, config.source_path);
  const ManagerSettings& m = config.manager;
  CHECK_THAT(m.cgroup_root == "auto" || is_absolute(m.cgroup_root), m.cgroup_root);
  CHECK_THAT(is_absolute(m.control_socket) && m.control_socket.size() <= 107, m.control_socket);
  CHECK_THAT(is_absolute(m.log_dir), m.log_dir);

  std::set<std::string> names, files;
  for (const Program& p : config.programs) {
    CHECK_THAT(is_valid_program_name(p.name), p.name);
    CHECK_THAT(names.insert(p.name).second, "duplicate program " + p.name);
    CHECK_THAT(!p.command.empty() && !p.command.front().empty(), p.name);
    for (const auto& word : p.command)
      CHECK_THAT(word.find('\0') == std::string::npos, p.name + ": NUL in the command");
    CHECK_THAT(p.command.front().find('/') == std::string::npos || is_absolute(p.command.front()),
               p.command.front());
    CHECK_THAT(is_absolute(p.directory), p.directory);
    if (p.umask) CHECK_THAT(*p.umask <= 0777, p.name);
    if (p.memory.swappiness)
      CHECK_THAT(*p.memory.swappiness >= 0 && *p.memory.swappiness <= 100, p.name);
    if (p.pids_max) CHECK_THAT(*p.pids_max >= 1 && *p.pids_max <= 4194304, p.name);

    const RestartSettings& r = p.restart;
    constexpr Duration kYear{365ll * 24 * 3'600'000};
    for (Duration d : {r.backoff.initial, r.backoff.max, r.reset_after, r.limit.interval,
                       p.start_settle, p.stop.timeout})
      CHECK_THAT(d.count() >= 0 && d <= kYear, p.name + ": " + format_duration(d));
    CHECK_THAT(r.backoff.max >= r.backoff.initial, p.name);
    CHECK_THAT(r.backoff.factor >= 1 && r.backoff.factor <= 100, p.name);
    CHECK_THAT(r.backoff.jitter >= 0 && r.backoff.jitter <= 1, p.name);
    CHECK_THAT(r.limit.burst >= 1 && r.limit.burst <= 10000, p.name);
    CHECK_THAT(r.limit.interval.count() > 0, p.name);

    // The stop signal is one the configuration language can name, and names it back.
    auto name = signal_name(p.stop.signal);
    CHECK_THAT(parse_signal(name) == p.stop.signal, p.name + ": " + name);

    CHECK_THAT(p.stdout_output.target != OutputTarget::merge, p.name);
    for (const OutputSettings* out : {&p.stdout_output, &p.stderr_output}) {
      CHECK_THAT(out->keep >= 0 && out->keep <= 100, p.name);
      CHECK_THAT(out->max_size >= 1, p.name);
      if (out->target != OutputTarget::file) continue;
      CHECK_THAT(is_absolute(out->path), p.name + ": " + out->path);
      // Two writers of one file would interleave and rotate each other's output.
      CHECK_THAT(files.insert(out->path).second, p.name + ": shared file " + out->path);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  LoadResult result = load_config_text(text, kFileName, kBaseDir);
  if (result.errors.empty()) {
    CHECK_THAT(result.config.has_value(), "neither a config nor an error");
    check_model(*result.config);
  } else {
    check_errors(result, text);
  }
  return 0;
}
