#pragma once
// climits-ctl's usage errors (docs/control-protocol.md, climits-ctl): whatever was wrong on
// the command line — an unknown command, a missing name, an unknown option, a bad value — is
// one line "climits-ctl: …" followed by a hint to --help, and exit status 2. CLI11's own
// messages are reworded here, for every subcommand alike, so that a subcommand added to the
// table gets the same treatment without code of its own.
#include <CLI/CLI.hpp>
#include <optional>
#include <string>
#include <vector>

namespace climits::ctl {

inline constexpr int kExitUsage = 2;

// What is wrong before the command, which CLI11 would report as "A subcommand is required":
// the first word of `args` (argv without argv[0]) that is not an option of `cli` itself or its
// value names no subcommand ("unknown command "frobnicate" (use status, …)"), or an option
// before it is not one of climits-ctl's own ("unknown option --frob").
std::optional<std::string> early_usage_error(const CLI::App& cli,
                                             const std::vector<std::string>& args);

// A parse error of `cli` as one line, without the "climits-ctl: " prefix.
std::string usage_message(const CLI::ParseError& error, const CLI::App& cli);

// Prints the message and the hint (to the subcommand's --help when one was given) on stderr;
// returns kExitUsage.
int usage_error(const std::string& message, const CLI::App& cli);

}  // namespace climits::ctl
