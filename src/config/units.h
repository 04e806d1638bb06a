#pragma once
// The value languages of the configuration file: sizes, durations, signal names, program
// names, restart policies and log levels. Each parser returns nullopt on bad input; the loader
// turns that into a located error that shows a correct example.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "config/model.h"

namespace climits::config {

// "max" → ByteLimit{} (unlimited); "512", "64K", "60M", "2G", "1T" (powers of 1024;
// lower-case suffixes accepted). Overflow past 2^63-1 is rejected.
std::optional<ByteLimit> parse_size(std::string_view text);

// "0", "500ms", "10s", "5m", "1h"; at most one year.
std::optional<Duration> parse_duration(std::string_view text);

// "TERM", "SIGTERM", "term", "sigterm" → 15. Only signals that make sense for stopping.
std::optional<int> parse_signal(std::string_view text);
std::string signal_name(int signal);  // 15 → "SIGTERM", 36 → "SIGRTMIN+2"; unknown → "SIG<n>"

// Any signal a process can be sent (climits-ctl signal): the names above in the same forms,
// the ones that pause or are ignored by default included (STOP, CONT, CHLD, …), RTMIN,
// RTMIN+N, RTMAX-N, RTMAX, or a number from 1 to SIGRTMAX.
std::optional<int> parse_any_signal(std::string_view text);

// [A-Za-z0-9_.-]{1,64}, not "." or "..".
bool is_valid_program_name(std::string_view name);

// "022", "0022", "0o22" → 022; at most 0777.
std::optional<mode_t> parse_umask(std::string_view text);

std::string format_duration(Duration duration);  // 1500ms → "1.5s", 60000 → "1m"

// The names the file gives restart policies and log levels, in enum order: the one table of
// each, used by the loader, the runner's log lines, --log-level and the logger.
inline constexpr std::array<const char*, 4> kRestartPolicyNames = {"always", "on-failure", "on-oom",
                                                                   "never"};
inline constexpr std::array<const char*, 3> kOomPolicyNames = {"continue", "stop", "kill"};
inline constexpr std::array<const char*, 3> kDependencyConditionNames = {"started", "ready",
                                                                         "succeeded"};
inline constexpr std::array<const char*, 5> kLogLevelNames = {"trace", "debug", "info", "warn",
                                                              "error"};
static_assert(static_cast<std::size_t>(RestartPolicy::never) + 1 == kRestartPolicyNames.size());
static_assert(static_cast<std::size_t>(LogLevel::error) + 1 == kLogLevelNames.size());
static_assert(static_cast<std::size_t>(OomPolicy::kill) + 1 == kOomPolicyNames.size());
static_assert(static_cast<std::size_t>(DependencyCondition::succeeded) + 1 ==
              kDependencyConditionNames.size());

const char* restart_policy_name(RestartPolicy policy);  // on_failure → "on-failure"
const char* log_level_name(LogLevel level);             // warn → "warn"
const char* oom_policy_name(OomPolicy policy);          // continue_ → "continue"
const char* dependency_condition_name(DependencyCondition condition);  // ready → "ready"
// An output's target in the file's words (stdout.file, stderr.file): "file", "inherit",
// "null", "stdout" (merged).
const char* output_target_name(OutputTarget target);
std::optional<LogLevel> parse_log_level(std::string_view text);  // "warn" → warn

}  // namespace climits::config
