#include "supervisor/reload_plan.h"

#include <string_view>
#include <tuple>
#include <unordered_map>

namespace climits::supervisor {

namespace {

// Each part as a tuple of references, compared whole.
auto runs(const config::Program& p) {
  // The identity too: a user whose passwd entry changed (its uid, groups or home) runs
  // differently under the same name.
  return std::tie(p.command, p.directory, p.environment, p.user, p.group, p.identity, p.umask);
}
auto outputs(const config::Program& p) {
  return std::tie(p.stdout_output.target, p.stdout_output.automatic, p.stdout_output.path,
                  p.stderr_output.target, p.stderr_output.automatic, p.stderr_output.path);
}
auto limits(const config::Program& p) {
  return std::tie(p.memory, p.pids_max, p.cpu, p.io);
}
auto policy(const config::Program& p) {
  return std::tie(p.autostart, p.restart, p.start_settle, p.stop, p.depends_on);
}
auto rotation(const config::Program& p) {
  return std::tie(p.stdout_output.max_size, p.stdout_output.keep, p.stderr_output.max_size,
                  p.stderr_output.keep);
}

// Every field is in exactly one part above (the name is the program's identity): these
// bindings name all of them, so a field added to Program or OutputSettings stops the build
// here until it is given a part.
[[maybe_unused]] void every_field_has_a_part(const config::Program& program) {
  [[maybe_unused]] const auto& [name, command, directory, environment, user, group, identity, umask,
                                autostart, memory, pids_max, cpu, io, restart, start_settle, stop,
                                stdout_output, stderr_output, depends_on] = program;
  [[maybe_unused]] const auto& [target, automatic, path, max_size, keep] = stdout_output;
}

}  // namespace

Parts Parts::all() {
  Parts parts;
  for (Part part : {Part::runs, Part::outputs, Part::limits, Part::policy, Part::rotation})
    parts.add(part);
  return parts;
}

Parts differing_parts(const config::Program& a, const config::Program& b) {
  Parts parts;
  if (runs(a) != runs(b)) parts.add(Part::runs);
  if (outputs(a) != outputs(b)) parts.add(Part::outputs);
  if (limits(a) != limits(b)) parts.add(Part::limits);
  if (policy(a) != policy(b)) parts.add(Part::policy);
  if (rotation(a) != rotation(b)) parts.add(Part::rotation);
  return parts;
}

cgroup::Limits desired_limits(const config::Program& program) {
  const config::MemorySettings& memory = program.memory;
  cgroup::Limits limits{
      cgroup::MemoryLimits{memory.max, memory.high, memory.swap_max, memory.swappiness,
                           memory.oom_policy == config::OomPolicy::kill, std::nullopt},
      program.pids_max, cgroup::CpuLimits{program.cpu.max_quota_micros, program.cpu.weight},
      cgroup::IoLimits{program.io.weight, {}}};
  if (memory.pressure) {
    auto window = static_cast<std::uint64_t>(memory.pressure->window.count()) * 1000;
    limits.memory.pressure = cgroup::PressureTrigger{
        window * static_cast<std::uint64_t>(memory.pressure->threshold_percent) / 100, window};
  }
  for (const auto& device : program.io.max)
    limits.io.devices.push_back(cgroup::IoDeviceLimits{device.major, device.minor, device.read_bps,
                                                       device.write_bps, device.read_iops,
                                                       device.write_iops});
  return limits;
}

std::vector<ProgramChange> plan_reload(const config::Config& running, const config::Config& next) {
  // Maps, not Config::find: a reload of thousands of programs must stay linear.
  std::unordered_map<std::string_view, const config::Program*> before, after;
  for (const auto& program : running.programs) before.emplace(program.name, &program);
  for (const auto& program : next.programs) after.emplace(program.name, &program);
  std::vector<ProgramChange> changes;
  changes.reserve(next.programs.size());
  for (const auto& program : next.programs) {
    ProgramChange change;
    change.name = program.name;
    auto found = before.find(program.name);
    if (found == before.end())
      change.added = true;
    else
      change.parts = differing_parts(*found->second, program);
    changes.push_back(std::move(change));
  }
  for (const auto& program : running.programs) {
    if (!after.count(program.name)) {
      ProgramChange change;
      change.name = program.name;
      change.removed = true;
      changes.push_back(std::move(change));
    }
  }
  return changes;
}

}  // namespace climits::supervisor
