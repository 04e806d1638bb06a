#include "supervisor/reload_plan.h"

#include <string_view>
#include <unordered_map>

namespace climits::supervisor {

namespace {
bool output_runs_differently(const config::OutputSettings& a, const config::OutputSettings& b) {
  return a.target != b.target || a.path != b.path;
}
}  // namespace

bool runs_differently(const config::Program& a, const config::Program& b) {
  return a.command != b.command || a.directory != b.directory ||
         a.environment != b.environment || a.user != b.user || a.group != b.group ||
         a.umask != b.umask || output_runs_differently(a.stdout_output, b.stdout_output) ||
         output_runs_differently(a.stderr_output, b.stderr_output);
}

bool limits_differ(const config::Program& a, const config::Program& b) {
  return !(a.memory == b.memory) || a.pids_max != b.pids_max;
}

std::vector<ProgramChange> plan_reload(const config::Config& running,
                                       const config::Config& next) {
  // Maps, not Config::find: a reload of thousands of programs must stay linear.
  std::unordered_map<std::string_view, const config::Program*> before, after;
  for (const auto& program : running.programs) before.emplace(program.name, &program);
  for (const auto& program : next.programs) after.emplace(program.name, &program);
  std::vector<ProgramChange> changes;
  for (const auto& program : next.programs) {
    ProgramChange change{program.name};
    auto found = before.find(program.name);
    const config::Program* old = found == before.end() ? nullptr : found->second;
    if (old == nullptr) {
      change.added = true;
    } else if (!(*old == program)) {
      change.restart = runs_differently(*old, program);
      change.limits = limits_differ(*old, program);
      // Whatever else differs is a setting read at the next event.
      config::Program same_runs = program;
      same_runs.command = old->command;
      same_runs.directory = old->directory;
      same_runs.environment = old->environment;
      same_runs.user = old->user;
      same_runs.group = old->group;
      same_runs.umask = old->umask;
      same_runs.stdout_output.target = old->stdout_output.target;
      same_runs.stdout_output.path = old->stdout_output.path;
      same_runs.stdout_output.automatic = old->stdout_output.automatic;
      same_runs.stderr_output.target = old->stderr_output.target;
      same_runs.stderr_output.path = old->stderr_output.path;
      same_runs.stderr_output.automatic = old->stderr_output.automatic;
      same_runs.memory = old->memory;
      same_runs.pids_max = old->pids_max;
      change.settings = !(same_runs == *old);
    }
    changes.push_back(change);
  }
  for (const auto& program : running.programs) {
    if (!after.count(program.name)) {
      ProgramChange change{program.name};
      change.removed = true;
      changes.push_back(change);
    }
  }
  return changes;
}

}  // namespace climits::supervisor
