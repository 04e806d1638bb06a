#include "config/units.h"

#include <csignal>
#include <cstdio>

#include "util/text.h"

namespace climits::config {

std::optional<ByteLimit> parse_size(std::string_view text) {
  if (text == "max") return ByteLimit{};
  if (text.empty()) return std::nullopt;
  unsigned shift = 0;
  switch (text.back()) {
    case 'K':
    case 'k':
      shift = 10;
      break;
    case 'M':
    case 'm':
      shift = 20;
      break;
    case 'G':
    case 'g':
      shift = 30;
      break;
    case 'T':
    case 't':
      shift = 40;
      break;
    default:
      break;
  }
  if (shift != 0) text.remove_suffix(1);
  auto number = parse_u64(text);
  if (!number) return std::nullopt;
  constexpr std::uint64_t kLimit = static_cast<std::uint64_t>(INT64_MAX);
  if (*number > (kLimit >> shift)) return std::nullopt;
  return ByteLimit{*number << shift};
}

std::optional<Duration> parse_duration(std::string_view text) {
  if (text == "0") return Duration{0};
  std::uint64_t scale;
  if (text.ends_with("ms")) {
    scale = 1;
    text.remove_suffix(2);
  } else if (text.ends_with("s")) {
    scale = 1000;
    text.remove_suffix(1);
  } else if (text.ends_with("m")) {
    scale = 60'000;
    text.remove_suffix(1);
  } else if (text.ends_with("h")) {
    scale = 3'600'000;
    text.remove_suffix(1);
  } else {
    return std::nullopt;
  }
  auto number = parse_u64(text);
  constexpr std::uint64_t kOneYearMs = 365ull * 24 * 3'600'000;
  if (!number || *number > kOneYearMs / scale) return std::nullopt;
  return Duration{static_cast<Duration::rep>(*number * scale)};
}

namespace {
struct SignalName {
  const char* name;
  int number;
};
constexpr SignalName kSignals[] = {
    {"HUP", SIGHUP},   {"INT", SIGINT},   {"QUIT", SIGQUIT}, {"KILL", SIGKILL},
    {"USR1", SIGUSR1}, {"USR2", SIGUSR2}, {"TERM", SIGTERM}, {"ABRT", SIGABRT},
    {"ALRM", SIGALRM}, {"CONT", SIGCONT}, {"STOP", SIGSTOP}, {"WINCH", SIGWINCH},
    {"PWR", SIGPWR},   {"SEGV", SIGSEGV}, {"BUS", SIGBUS},   {"FPE", SIGFPE},
    {"ILL", SIGILL},   {"PIPE", SIGPIPE}, {"TRAP", SIGTRAP}, {"SYS", SIGSYS},
    {"XCPU", SIGXCPU}, {"XFSZ", SIGXFSZ}, {"TTIN", SIGTTIN}, {"TTOU", SIGTTOU},
    {"TSTP", SIGTSTP}, {"URG", SIGURG},   {"PROF", SIGPROF}, {"VTALRM", SIGVTALRM},
};
// Named for climits-ctl signal and in its replies, never a stop signal: ignored by default.
constexpr SignalName kOtherSignals[] = {
    {"CHLD", SIGCHLD}, {"STKFLT", SIGSTKFLT}, {"IO", SIGIO}, {"POLL", SIGIO}};
// Signals that cannot be a stop signal: STOP/TSTP/TTIN/TTOU suspend instead of ending, CONT
// and WINCH/URG are ignored by default, so the program would only ever die at the timeout.
constexpr int kNotForStopping[] = {SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU, SIGCONT, SIGWINCH, SIGURG};
}  // namespace

std::optional<int> parse_signal(std::string_view text) {
  std::string upper;
  for (char c : text) upper.push_back(static_cast<char>(c >= 'a' && c <= 'z' ? c - 32 : c));
  std::string_view name = upper;
  if (name.starts_with("SIG")) name.remove_prefix(3);
  for (const auto& entry : kSignals) {
    if (name != entry.name) continue;
    for (int excluded : kNotForStopping)
      if (entry.number == excluded) return std::nullopt;
    return entry.number;
  }
  return std::nullopt;
}

std::string signal_name(int signal) {
  for (const auto& entry : kSignals)
    if (entry.number == signal) return std::string("SIG") + entry.name;
  for (const auto& entry : kOtherSignals)
    if (entry.number == signal) return std::string("SIG") + entry.name;
  if (signal == SIGRTMIN) return "SIGRTMIN";
  if (signal == SIGRTMAX) return "SIGRTMAX";
  if (signal > SIGRTMIN && signal < SIGRTMAX)
    return "SIGRTMIN+" + std::to_string(signal - SIGRTMIN);
  return "SIG" + std::to_string(signal);
}

std::optional<int> parse_any_signal(std::string_view text) {
  if (auto number = parse_u64(text)) {
    if (*number < 1 || *number > static_cast<std::uint64_t>(SIGRTMAX)) return std::nullopt;
    return static_cast<int>(*number);
  }
  std::string upper;
  for (char c : text) upper.push_back(static_cast<char>(c >= 'a' && c <= 'z' ? c - 32 : c));
  std::string_view name = upper;
  if (name.starts_with("SIG")) name.remove_prefix(3);
  for (const auto& entry : kSignals)
    if (name == entry.name) return entry.number;
  for (const auto& entry : kOtherSignals)
    if (name == entry.name) return entry.number;
  // Real-time signals by their place from either end: RTMIN+2, RTMAX-1.
  auto real_time = [&](std::string_view base, int from, int direction) -> std::optional<int> {
    if (!name.starts_with(base)) return std::nullopt;
    std::string_view rest = name.substr(base.size());
    if (rest.empty()) return from;
    if (rest[0] != (direction > 0 ? '+' : '-')) return std::nullopt;
    auto offset = parse_u64(rest.substr(1));
    if (!offset || *offset > static_cast<std::uint64_t>(SIGRTMAX - SIGRTMIN)) return std::nullopt;
    return from + direction * static_cast<int>(*offset);
  };
  if (auto rt = real_time("RTMIN", SIGRTMIN, +1)) return rt;
  return real_time("RTMAX", SIGRTMAX, -1);
}

bool is_valid_program_name(std::string_view name) {
  if (name.empty() || name.size() > 64 || name == "." || name == "..") return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-';
    if (!ok) return false;
  }
  return true;
}

std::optional<mode_t> parse_umask(std::string_view text) {
  if (text.starts_with("0o")) text.remove_prefix(2);
  if (text.empty() || text.size() > 4) return std::nullopt;
  mode_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '7') return std::nullopt;
    value = value * 8 + static_cast<mode_t>(c - '0');
  }
  if (value > 0777) return std::nullopt;
  return value;
}

std::string format_duration(Duration duration) {
  auto ms = duration.count();
  if (ms % 3'600'000 == 0 && ms != 0) return std::to_string(ms / 3'600'000) + "h";
  if (ms % 60'000 == 0 && ms != 0) return std::to_string(ms / 60'000) + "m";
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  if (ms > 1000) {
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%.3gs", static_cast<double>(ms) / 1000.0);
    return buffer;
  }
  return std::to_string(ms) + "ms";
}

const char* output_target_name(OutputTarget target) {
  switch (target) {
    case OutputTarget::file:
      return "file";
    case OutputTarget::inherit:
      return "inherit";
    case OutputTarget::discard:
      return "null";
    case OutputTarget::merge:
      return "stdout";
  }
  return "?";
}

const char* oom_policy_name(OomPolicy policy) {
  return kOomPolicyNames[static_cast<std::size_t>(policy)];
}

const char* dependency_condition_name(DependencyCondition condition) {
  return kDependencyConditionNames[static_cast<std::size_t>(condition)];
}

const char* restart_policy_name(RestartPolicy policy) {
  return kRestartPolicyNames[static_cast<std::size_t>(policy)];
}

const char* log_level_name(LogLevel level) {
  return kLogLevelNames[static_cast<std::size_t>(level)];
}

std::optional<LogLevel> parse_log_level(std::string_view text) {
  for (std::size_t i = 0; i < kLogLevelNames.size(); ++i)
    if (text == kLogLevelNames[i]) return static_cast<LogLevel>(i);
  return std::nullopt;
}

}  // namespace climits::config
