#pragma once
// depends_on at run time (docs/health.md): whether a program's dependencies hold, and who
// depends on whom. The manager decides with it when a program waits, when it starts, and in
// which order programs stop; the conditions are read from the runners' states, never kept
// beside them.
#include <string>
#include <unordered_map>
#include <vector>

#include "config/model.h"
#include "supervisor/program_runner.h"

namespace climits::supervisor {

class Dependencies {
 public:
  // Rebuilt whenever the set of runners or their configuration changes (start, reload);
  // `by_name` is the manager's own index, kept by reference.
  void index(const std::vector<std::unique_ptr<ProgramRunner>>& runners,
             const std::unordered_map<std::string, ProgramRunner*>& by_name);

  // Whether `dependency`'s condition holds for its program's runner: started (a live process,
  // not on its way down), ready (running), succeeded (down after an exit 0 since its last
  // start).
  static bool holds(const config::Dependency& dependency, const ProgramRunner& runner);

  // The dependencies of `program` that do not hold, by name (status' waiting_for).
  std::vector<std::string> unmet(const config::Program& program) const;

  // A dependent of a program: who, and on which terms (a copy: a reload replaces the
  // runner's configuration before the index is rebuilt, and transitions happen meanwhile).
  struct Dependent {
    ProgramRunner* runner;
    config::Dependency terms;
  };
  // The programs that name `name` in their depends_on.
  const std::vector<Dependent>& dependents_of(const std::string& name) const;
  ProgramRunner* find(const std::string& name) const;

 private:
  const std::unordered_map<std::string, ProgramRunner*>* by_name_ = nullptr;
  std::unordered_map<std::string, std::vector<Dependent>> dependents_;
};

// Whether stopping a dependency stops this dependent first: it needs the dependency alive
// (started, ready); one that waited for a job to succeed does not.
bool stops_with_dependency(const config::Dependency& terms);

}  // namespace climits::supervisor
