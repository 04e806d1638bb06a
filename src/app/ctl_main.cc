// climits-ctl: drives a running climits-manager over its control socket
// (docs/control-protocol.md). Each subcommand is a row of kCommands; every failure is one
// line on stderr and a non-zero exit.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <csignal>
#include <iomanip>
#include <iostream>
#include <optional>
#include <thread>

#include "app/ctl_signal.h"
#include "app/ctl_streams.h"
#include "app/ctl_usage.h"
#include "build_info.h"
#include "config/units.h"
#include "control/client.h"
#include "control/detail_view.h"
#include "control/protocol.h"
#include "control/status_reader.h"
#include "control/table.h"

namespace {

using climits::control::Client;
using climits::control::Command;
using climits::control::Json;

constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;
using climits::ctl::kExitUsage;
constexpr auto kPollInterval = std::chrono::milliseconds(50);

struct Options {
  std::string socket = "/run/climits-manager/control.sock";
  std::vector<std::string> names;
  bool json = false;
  double timeout_seconds = 0;  // 0: long enough for the programs' own settle and stop times
  std::string signal;          // signal: as given; checked after parsing
  int signal_number = 0;
  bool all_processes = false;
  climits::control::LogsOptions logs;
  bool only_stdout = false, only_stderr = false;  // logs --stdout, --stderr
};

void fail(const std::string& message) {
  std::cerr << "climits-ctl: " << message << '\n';
}

std::string string_field(const Json& object, const char* key, const char* otherwise = "?") {
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : otherwise;
}

double number_field(const Json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_number() ? it->get<double>() : 0.0;
}

// A response; an error (transport, or "ok": false) is printed and gives nullopt.
std::optional<Json> checked(climits::Result<Json> response) {
  if (!response) {
    fail(response.error().message);
    return std::nullopt;
  }
  if (!(*response)["ok"].get<bool>()) {
    fail(string_field(*response, "error"));
    return std::nullopt;
  }
  return std::move(*response);
}

// One request on an open connection, checked as above.
std::optional<Json> call(Client& client, const Json& request) {
  return checked(client.request(request));
}

std::optional<Client> connect(const Options& options) {
  auto client = Client::connect(options.socket);
  if (!client) {
    fail(client.error().message);
    return std::nullopt;
  }
  return std::move(*client);
}

int run_status(const Options& options) {
  auto client = connect(options);
  if (!client) return kExitFailed;
  Json request = climits::control::make_request(Command::status, options.names);
  // One program by name: the manager sent its detail (history, limits, output).
  bool one = options.names.size() == 1 && options.names[0] != climits::control::kAllPrograms;
  std::optional<Json> response;
  if (!one && !options.json) {
    // The table is read from the line without its JSON tree (status_reader.h); a line that
    // reader does not take (an error, say) is parsed as usual.
    auto line = client->request_line(request);
    if (!line) {
      fail(line.error().message);
      return kExitFailed;
    }
    auto now = std::chrono::system_clock::now();
    if (auto rows = climits::control::read_status_rows(*line, now)) {
      std::cout << climits::control::format_status_rows(*rows);
      return kExitOk;
    }
    response = checked(climits::control::parse_response(*line));
  } else {
    response = call(*client, request);
  }
  if (!response) return kExitFailed;
  Json& programs = (*response)["programs"];
  if (one && !options.json && programs.is_array() && programs.size() == 1) {
    std::cout << climits::control::format_detail_view(programs[0],
                                                      std::chrono::system_clock::now());
  } else if (options.json) {
    // Moved, not copied, and printed through the stream: no second tree, no string of the
    // whole output (what dump(2) prints; the parsed strings are valid UTF-8, so the
    // stream's strict printer never meets what dump's replace handler is for).
    Json out = Json::object();
    out["programs"] = std::move(programs);
    std::cout << std::setw(2) << out << '\n';
  } else {
    std::cout << climits::control::format_status_table(programs, std::chrono::system_clock::now());
  }
  return kExitOk;
}

// What a start, stop or restart waits for, and which states mean it will not get there.
struct Goal {
  const char* verb;  // "start": "web: failed to start: …"
  const char* state;
  std::vector<std::string> failures;
};

Goal goal_of(Command command) {
  if (command == Command::stop) return {"stop", "stopped", {}};
  // A program that ends up waiting to be restarted, given up on or left down did not start;
  // one that is stopped was stopped by someone else meanwhile.
  return {command == Command::start ? "start" : "restart",
          "running",
          {"backoff", "fatal", "exited", "stopped"}};
}

// Sends the request, then polls the status every 50 ms until each program is where it was
// asked to be, has failed, or the time is up.
int run_action(Command command, const Options& options) {
  auto client = connect(options);
  if (!client) return kExitFailed;
  auto response = call(*client, climits::control::make_request(command, options.names));
  if (!response) return kExitFailed;

  Goal goal = goal_of(command);
  std::vector<std::string> pending;
  double wait_seconds = options.timeout_seconds;
  for (const auto& program : (*response)["programs"]) {
    pending.push_back(string_field(program, "name"));
    if (options.timeout_seconds <= 0)
      wait_seconds = std::max({wait_seconds, 60.0,
                               number_field(program, "stop_timeout_seconds") +
                                   number_field(program, "settle_seconds") + 10.0});
  }
  auto deadline = std::chrono::steady_clock::now() +
                  std::chrono::milliseconds(static_cast<long long>(wait_seconds * 1000));
  int exit_code = kExitOk;
  while (!pending.empty()) {
    auto status = call(*client, climits::control::make_request(Command::status, pending));
    if (!status) return kExitFailed;
    auto now = std::chrono::system_clock::now();
    bool late = std::chrono::steady_clock::now() > deadline;
    std::vector<std::string> still;
    for (const auto& program : (*status)["programs"]) {
      std::string name = string_field(program, "name");
      std::string state = string_field(program, "state");
      if (state == goal.state) {
        std::cout << name << ": " << state;
        if (auto pid = program.find("pid"); pid != program.end() && pid->is_number_integer())
          std::cout << " (pid " << pid->get<long long>() << ")";
        std::cout << std::endl;
      } else if (std::find(goal.failures.begin(), goal.failures.end(), state) !=
                 goal.failures.end()) {
        const Json& last_exit = program.contains("last_exit") ? program["last_exit"] : Json();
        fail(name + ": failed to " + goal.verb + ": " + state +
             "; last exit: " + climits::control::last_exit_text(last_exit, now));
        exit_code = kExitFailed;
      } else if (late) {
        fail(name + ": still " + state + " after " +
             std::to_string(static_cast<long long>(wait_seconds)) + "s (wanted " + goal.state +
             ")");
        exit_code = kExitFailed;
      } else {
        still.push_back(name);
      }
    }
    pending = std::move(still);
    if (!pending.empty()) std::this_thread::sleep_for(kPollInterval);
  }
  return exit_code;
}

int run_start(const Options& options) {
  return run_action(Command::start, options);
}
int run_stop(const Options& options) {
  return run_action(Command::stop, options);
}
int run_restart(const Options& options) {
  return run_action(Command::restart, options);
}

// "  restarted: web, api" for a non-empty group of a reload reply.
void print_names(const Json& response, const char* key, const char* label) {
  auto names = response.find(key);
  if (names == response.end() || !names->is_array() || names->empty()) return;
  std::string line;
  for (const auto& name : *names)
    if (name.is_string()) line += (line.empty() ? "" : ", ") + name.get<std::string>();
  std::cout << "  " << label << ": " << line << '\n';
}

int run_reload(const Options& options) {
  auto client = connect(options);
  if (!client) return kExitFailed;
  auto response =
      client->request(climits::control::make_request(Command::reload), std::chrono::seconds(120));
  if (!response) {
    fail(response.error().message);
    return kExitFailed;
  }
  bool ok = (*response)["ok"].get<bool>();
  if (options.json) {
    std::cout << response->dump(2) << '\n';
    return ok ? kExitOk : kExitFailed;
  }
  if (response->contains("summary")) {
    // Applied: every program named in the one group it is in.
    std::cout << "reloaded: " << string_field(*response, "summary") << '\n';
    print_names(*response, "restarted", "restarted");
    print_names(*response, "updated", "updated live");
    print_names(*response, "added", "added");
    print_names(*response, "removed", "removed");
    if (auto failed = response->find("failed"); failed != response->end() && failed->is_array())
      for (const auto& failure : *failed)
        std::cout << "  failed: " << string_field(failure, "name") << ": "
                  << string_field(failure, "error") << '\n';
    if (ok) return kExitOk;
  } else if (auto errors = response->find("errors");
             errors != response->end() && errors->is_array()) {
    for (const auto& error : *errors)
      if (error.is_string()) std::cerr << error.get<std::string>() << '\n';
  }
  fail("reload failed: " + string_field(*response, "error"));
  return kExitFailed;
}

int run_version(const Options& options) {
  std::cout << "climits-ctl " << CLIMITS_VERSION << std::endl;
  auto client = connect(options);
  if (!client) return kExitFailed;
  auto response = call(*client, climits::control::make_request(Command::version));
  if (!response) return kExitFailed;
  std::cout << "climits-manager " << string_field(*response, "version") << " on " << options.socket
            << " (protocol " << number_field(*response, "protocol") << ")\n";
  return kExitOk;
}

int run_signal(const Options& options) {
  return climits::ctl::run_signal(options.socket, options.signal_number, options.names,
                                  options.all_processes);
}

int run_logs(const Options& options) {
  auto logs = options.logs;
  using climits::control::LogStreams;
  logs.streams = options.only_stdout   ? LogStreams::stdout_only
                 : options.only_stderr ? LogStreams::stderr_only
                                       : LogStreams::both;
  return climits::app::run_logs(options.socket, options.names, logs);
}

int run_events(const Options& options) {
  return climits::app::run_events(options.socket, options.json);
}

void add_logs_options(CLI::App* sub, Options& options) {
  sub->add_flag("-f,--follow", options.logs.follow,
                "Then print new lines as they come, until interrupted");
  sub->add_option("-n,--lines", options.logs.lines, "How many of the last lines to print")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{0}, climits::control::kMaxLogLines));
  auto* out = sub->add_flag("--stdout", options.only_stdout, "Only the standard output's file");
  auto* err = sub->add_flag("--stderr", options.only_stderr, "Only the standard error's file");
  out->excludes(err);
}

using climits::control::Names;

// A subcommand per command of the protocol; its name and whether it takes program names come
// from the protocol's table (command_info).
struct CtlCommand {
  Command command;
  const char* help;
  bool json_flag;
  bool timeout_option;
  int (*run)(const Options&);
};

constexpr CtlCommand kCommands[] = {
    {Command::status, "Show the programs: a table, or JSON with --json", true, false, run_status},
    {Command::start, "Start programs (NAME... or all) and wait until they run", false, true,
     run_start},
    {Command::stop, "Stop programs (NAME... or all) and wait until they are stopped", false, true,
     run_stop},
    {Command::restart, "Restart programs (NAME... or all) and wait until they run again", false,
     true, run_restart},
    {Command::reload,
     "Re-read the configuration file and apply what changed (like SIGHUP); print "
     "the result or every configuration error",
     true, false, run_reload},
    {Command::version, "Print the versions of climits-ctl and of the running manager", false, false,
     run_version},
    {Command::signal,
     "Send a signal (name or number) to programs' main processes, or with --all-processes to "
     "every process in their cgroups",
     false, false, run_signal},
    {Command::logs,
     "Print the last lines of the programs' output files (NAME... or all), and with -f follow "
     "them",
     false, false, run_logs},
    {Command::events,
     "Print the manager's events as they happen (state changes, OOM kills, reloads) until "
     "interrupted",
     true, false, run_events},
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App cli{"climits-ctl: control a running climits-manager through its control socket"};
  cli.set_version_flag("--version", "climits-ctl " CLIMITS_VERSION);
  cli.footer(
      "Exit status: 0 on success, 1 when the request failed (or the manager is not running), "
      "2 for a usage error.");
  Options options;
  cli.add_option("-s,--socket", options.socket, "Control socket of the manager")
      ->capture_default_str();
  cli.require_subcommand(1);
  cli.fallthrough();
  std::vector<std::pair<const CtlCommand*, CLI::App*>> subcommands;
  for (const auto& command : kCommands) {
    const auto& info = climits::control::command_info(command.command);
    CLI::App* sub = cli.add_subcommand(info.name, command.help);
    // The signal comes before the names: positionals are filled in the order they are added.
    if (command.command == Command::signal) {
      sub->add_option("signal", options.signal, "A signal, by name (HUP, SIGUSR1, …) or number")
          ->required();
      sub->add_flag("--all-processes", options.all_processes,
                    "Signal every process in each program's cgroup, not only the main one");
    }
    if (info.names != Names::none) {
      auto* names = sub->add_option(
          "names", options.names,
          info.names == Names::required ? "Program names, or all" : "Program names (default: all)");
      if (info.names == Names::required) names->required();
    }
    if (command.json_flag) sub->add_flag("--json", options.json, "Print the manager's JSON reply");
    if (command.timeout_option)
      sub->add_option("--timeout", options.timeout_seconds,
                      "Seconds to wait for the programs (default: 60, or longer when their "
                      "stop timeout needs it)");
    if (command.command == Command::logs) add_logs_options(sub, options);
    subcommands.emplace_back(&command, sub);
  }
  if (auto unknown = climits::ctl::early_usage_error(cli, {argv + 1, argv + argc}))
    return climits::ctl::usage_error(*unknown, cli);
  try {
    cli.parse(argc, argv);
  } catch (const CLI::Success& e) {
    return cli.exit(e);  // --help, --version
  } catch (const CLI::ParseError& e) {
    return climits::ctl::usage_error(climits::ctl::usage_message(e, cli), cli);
  }
  if (cli.got_subcommand(climits::control::command_name(Command::signal))) {
    auto number = climits::config::parse_any_signal(options.signal);
    if (!number)
      return climits::ctl::usage_error(
          "signal: unknown signal \"" + options.signal +
              "\" (use a name such as HUP, USR1 or SIGTERM, or a number from 1 to " +
              std::to_string(SIGRTMAX) + ")",
          cli);
    options.signal_number = *number;
  }
  for (const auto& [command, sub] : subcommands)
    if (sub->parsed()) return command->run(options);
  return kExitUsage;
}
