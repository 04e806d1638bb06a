#include "supervisor/identity.h"

namespace climits::supervisor {

std::vector<std::string> identity_arguments(const config::Identity& identity) {
  std::vector<std::string> args;
  if (identity.uid) args.insert(args.end(), {"--uid", std::to_string(*identity.uid)});
  args.insert(args.end(), {"--gid", std::to_string(identity.gid)});
  std::string groups;
  for (gid_t gid : identity.groups) {
    if (!groups.empty()) groups += ',';
    groups += std::to_string(gid);
  }
  args.insert(args.end(), {"--groups", groups});
  return args;
}

std::map<std::string, std::string> program_environment(const config::Program& program) {
  std::map<std::string, std::string> environment = program.environment;
  if (!program.identity || !program.identity->user_entry) return environment;
  // Without these the program would see the manager's HOME=/root and no USER at all
  // (postgres, ssh-agent and shells read them). emplace keeps what `environment` set.
  const config::UserEntry& entry = *program.identity->user_entry;
  environment.emplace("HOME", entry.home);
  environment.emplace("USER", entry.name);
  environment.emplace("LOGNAME", entry.name);
  environment.emplace("SHELL", entry.shell);
  return environment;
}

}  // namespace climits::supervisor
