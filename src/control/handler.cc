#include "control/handler.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "build_info.h"
#include "config/units.h"
#include "control/log_stream.h"
#include "control/status_detail.h"
#include "control/status_line.h"

namespace climits::control {

namespace {

using Method = Json (Handler::*)(const Request&, const Peer&);

// "control: stop by uid 0 (pid 4242)": the cause in the program's transition log line.
std::string cause_of(const Request& request, const Peer& peer) {
  return std::string("control: ") + command_name(request.command) + " by uid " +
         std::to_string(peer.uid) + " (pid " + std::to_string(peer.pid) + ")";
}

std::string shutting_down_error(const Request& request) {
  return std::string("the manager is shutting down: ") + command_name(request.command) + " refused";
}

}  // namespace

Handler::Handler(supervisor::Manager& manager, std::function<Json()> reload)
    : manager_(manager), reload_(std::move(reload)), event_streams_(manager.events()) {}

Answer Handler::respond(std::string_view line, const Peer& peer) {
  auto request = parse_request(line);
  if (!request) {
    spdlog::debug("control: uid {} (pid {}): bad request: {}", peer.uid, peer.pid,
                  request.error().message);
    return {to_line(error_response(request.error().message)), nullptr};
  }
  if (request->command == Command::logs) return logs(*request, peer);
  if (request->command == Command::events) return events(*request, peer);
  // Written straight into its line: a status of thousands of programs is the largest answer.
  if (request->command == Command::status) return {status_line(*request, peer), nullptr};
  return {to_line(handle(*request, peer)), nullptr};
}

Json Handler::handle(const Request& request, const Peer& peer) {
  // One method per row of kCommands (protocol.h), in its order.
  static constexpr Method kMethods[] = {
      &Handler::status,  &Handler::start,        &Handler::stop,
      &Handler::restart, &Handler::reload,       &Handler::version,
      &Handler::signal,  &Handler::streams_only, &Handler::streams_only};
  static_assert(std::size(kMethods) == std::size(kCommands));
  spdlog::debug("control: uid {} (pid {}): {}", peer.uid, peer.pid, command_name(request.command));
  for (std::size_t i = 0; i < std::size(kCommands); ++i)
    if (kCommands[i].command == request.command) return (this->*kMethods[i])(request, peer);
  return error_response("unknown command");
}

Result<std::vector<supervisor::ProgramRunner*>> Handler::select(const Request& request) {
  std::vector<supervisor::ProgramRunner*> selected;
  std::vector<std::string> unknown;
  for (const auto& name : request.names) {
    if (name == kAllPrograms) continue;
    if (auto* runner = manager_.find(name))
      selected.push_back(runner);
    else
      unknown.push_back(name);
  }
  if (!unknown.empty()) {
    // Named back to the client, but not a 64 KiB name, nor thousands of them.
    constexpr std::size_t kShownNames = 10, kShownBytes = 64;
    std::string list;
    for (std::size_t i = 0; i < unknown.size() && i < kShownNames; ++i) {
      const auto& name = unknown[i];
      list += (list.empty() ? "\"" : ", \"") +
              (name.size() <= kShownBytes ? name : name.substr(0, kShownBytes) + "…") + "\"";
    }
    if (unknown.size() > kShownNames)
      list += " and " + std::to_string(unknown.size() - kShownNames) + " more";
    return Error{0, (unknown.size() == 1 ? "unknown program " : "unknown programs ") + list +
                        "; nothing done"};
  }
  if (request.all()) {
    selected.clear();
    for (const auto& runner : manager_.runners()) selected.push_back(runner.get());
  }
  return selected;
}

std::string Handler::status_line(const Request& request, const Peer& peer) {
  spdlog::debug("control: uid {} (pid {}): status", peer.uid, peer.pid);
  if (request.names.empty()) return control::status_line(manager_.status());
  auto selected = select(request);
  if (!selected) return to_line(error_response(selected.error().message));
  // One program by name: its detail (history, limits, outputs); a status of many stays small.
  if (selected->size() == 1 && !request.all()) {
    auto detail = selected->front()->detail();
    detail.status.waiting_for = manager_.waiting_for(*selected->front());
    return to_line(Json{{"ok", true}, {"programs", Json::array({detail_json(detail)})}});
  }
  std::vector<supervisor::ProgramStatus> statuses;
  statuses.reserve(selected->size());
  for (auto* runner : *selected) statuses.push_back(manager_.status_of(*runner));
  return control::status_line(statuses);
}

// handle()'s row for status; respond() answers a status with status_line() directly.
Json Handler::status(const Request& request, const Peer& peer) {
  return Json::parse(status_line(request, peer));
}

Json Handler::act(const Request& request, const Peer& peer, const Action& action) {
  auto selected = select(request);
  if (!selected) return error_response(selected.error().message);
  std::string cause = cause_of(request, peer);
  // The programs named, and those acted on for them (dependencies started, dependents
  // stopped), each once: the reply names them all.
  std::vector<supervisor::ProgramRunner*> acted_on;
  for (auto* runner : *selected) {
    for (auto* other : action(*runner, cause))
      if (std::find(acted_on.begin(), acted_on.end(), other) == acted_on.end())
        acted_on.push_back(other);
    if (std::find(acted_on.begin(), acted_on.end(), runner) == acted_on.end())
      acted_on.push_back(runner);
  }
  std::vector<ActionResult> results;
  results.reserve(acted_on.size());
  for (auto* runner : acted_on) {
    const auto& program = runner->program();
    ActionResult result;
    result.name = program.name;
    result.state = supervisor::public_state(runner->state());
    if (supervisor::has_process(result.state)) result.pid = runner->status().pid;
    result.settle_seconds = static_cast<double>(program.start_settle.count()) / 1000.0;
    result.stop_timeout_seconds = static_cast<double>(program.stop.timeout.count()) / 1000.0;
    results.push_back(std::move(result));
  }
  return action_response(results);
}

Json Handler::start(const Request& request, const Peer& peer) {
  if (manager_.shutting_down()) return error_response(shutting_down_error(request));
  // A stop in progress is not interrupted: the table starts it again once it is down.
  return act(request, peer, [this](supervisor::ProgramRunner& runner, const std::string& cause) {
    return manager_.start_program(runner, cause);
  });
}

Json Handler::stop(const Request& request, const Peer& peer) {
  return act(request, peer, [this](supervisor::ProgramRunner& runner, const std::string& cause) {
    return manager_.stop_program(runner, cause);
  });
}

Json Handler::restart(const Request& request, const Peer& peer) {
  if (manager_.shutting_down()) return error_response(shutting_down_error(request));
  return act(request, peer, [this](supervisor::ProgramRunner& runner, const std::string& cause) {
    // From rest, a restart is a start: through the dependencies.
    if (runner.at_rest()) return manager_.start_program(runner, cause);
    runner.restart(cause);
    return std::vector<supervisor::ProgramRunner*>{};
  });
}

Json Handler::reload(const Request&, const Peer& peer) {
  spdlog::info("control: reload requested by uid {} (pid {})", peer.uid, peer.pid);
  return reload_();
}

Json Handler::signal(const Request& request, const Peer& peer) {
  auto selected = select(request);
  if (!selected) return error_response(selected.error().message);
  std::string cause = cause_of(request, peer);
  std::string signal = config::signal_name(request.signal);
  std::vector<SignalResult> results;
  results.reserve(selected->size());
  for (auto* runner : *selected) {
    SignalResult result{runner->program().name, {}, {}};
    if (auto sent = runner->send_signal(request.signal, request.all_processes)) {
      result.pids = std::move(*sent);
      std::string pids;
      for (pid_t pid : result.pids) pids += (pids.empty() ? "" : ", ") + std::to_string(pid);
      spdlog::info("{}: {} sent to {} {} ({})", result.name, signal,
                   result.pids.size() == 1 ? "pid" : "pids", pids.empty() ? "none" : pids, cause);
    } else {
      result.error = sent.error().message;
      spdlog::info("{}: {} not sent: {} ({})", result.name, signal, *result.error, cause);
    }
    results.push_back(std::move(result));
  }
  return signal_response(request.signal, results);
}

Json Handler::version(const Request&, const Peer&) {
  return version_response(CLIMITS_VERSION);
}

// logs and events are answered by respond(), which can start a stream.
Json Handler::streams_only(const Request& request, const Peer&) {
  return error_response(std::string(command_name(request.command)) + " is a stream");
}

Answer Handler::logs(const Request& request, const Peer& peer) {
  auto selected = select(request);
  if (!selected) return {to_line(error_response(selected.error().message)), nullptr};
  const LogsOptions& options = request.logs;
  bool want_stdout = options.streams != LogStreams::stderr_only;
  bool want_stderr = options.streams != LogStreams::stdout_only;
  std::vector<LogStream::Source> sources;
  std::vector<LogSource> described;
  std::string not_files;  // "web (stdout: inherit, stderr: null), …"
  for (auto* runner : *selected) {
    const auto& program = runner->program();
    std::size_t before = sources.size();
    auto add = [&](const char* stream, const std::shared_ptr<supervisor::LogFile>& file) {
      sources.push_back({program.name, stream, file});
      described.push_back({program.name, stream, file->path()});
    };
    if (want_stdout && runner->stdout_log()) add("stdout", runner->stdout_log());
    if (want_stderr && runner->stderr_log()) add("stderr", runner->stderr_log());
    // A stderr merged into stdout is in stdout's file: --stderr shows that file.
    if (want_stderr && !want_stdout && runner->stdout_log() &&
        program.stderr_output.target == config::OutputTarget::merge)
      add("stdout", runner->stdout_log());
    if (sources.size() > before || request.all()) continue;  // `all`: those with files
    std::string targets;
    if (want_stdout)
      targets += std::string("stdout: ") + config::output_target_name(program.stdout_output.target);
    if (want_stderr)
      targets += std::string(targets.empty() ? "" : ", ") +
                 "stderr: " + config::output_target_name(program.stderr_output.target);
    not_files += (not_files.empty() ? "" : ", ") + program.name + " (" + targets + ")";
  }
  if (!not_files.empty())
    return {to_line(error_response("not written to a file: " + not_files + "; nothing to show")),
            nullptr};
  if (sources.empty())
    return {to_line(error_response("no program writes its output to a file; nothing to show")),
            nullptr};
  spdlog::debug("control: uid {} (pid {}): logs of {} file{}{}", peer.uid, peer.pid, sources.size(),
                sources.size() == 1 ? "" : "s", options.follow ? ", following" : "");
  return {to_line(logs_started(options.follow, described)),
          std::make_unique<LogStream>(std::move(sources), options)};
}

Answer Handler::events(const Request&, const Peer& peer) {
  spdlog::debug("control: uid {} (pid {}) follows the events", peer.uid, peer.pid);
  return {to_line(events_started()), event_streams_.open()};
}

}  // namespace climits::control
