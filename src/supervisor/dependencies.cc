#include "supervisor/dependencies.h"

namespace climits::supervisor {

void Dependencies::index(const std::vector<std::unique_ptr<ProgramRunner>>& runners,
                         const std::unordered_map<std::string, ProgramRunner*>& by_name) {
  by_name_ = &by_name;
  dependents_.clear();
  for (const auto& runner : runners)
    for (const auto& dependency : runner->program().depends_on)
      dependents_[dependency.name].push_back({runner.get(), dependency});
}

bool Dependencies::holds(const config::Dependency& dependency, const ProgramRunner& runner) {
  State state = runner.state();
  switch (dependency.condition) {
    case config::DependencyCondition::started:
      return state == State::starting || state == State::running;
    case config::DependencyCondition::ready:
      return state == State::running;
    case config::DependencyCondition::succeeded: {
      const auto& last = runner.last_exit();
      return state == State::exited && last && last->kind == ExitKind::exited && last->code == 0;
    }
  }
  return false;
}

std::vector<std::string> Dependencies::unmet(const config::Program& program) const {
  std::vector<std::string> names;
  for (const auto& dependency : program.depends_on) {
    const ProgramRunner* runner = find(dependency.name);
    if (runner == nullptr || !holds(dependency, *runner)) names.push_back(dependency.name);
  }
  return names;
}

const std::vector<Dependencies::Dependent>& Dependencies::dependents_of(
    const std::string& name) const {
  static const std::vector<Dependent> kNone;
  auto found = dependents_.find(name);
  return found == dependents_.end() ? kNone : found->second;
}

ProgramRunner* Dependencies::find(const std::string& name) const {
  if (by_name_ == nullptr) return nullptr;
  auto found = by_name_->find(name);
  return found == by_name_->end() ? nullptr : found->second;
}

bool stops_with_dependency(const config::Dependency& terms) {
  return terms.condition != config::DependencyCondition::succeeded;
}

}  // namespace climits::supervisor
