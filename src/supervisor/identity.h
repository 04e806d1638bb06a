#pragma once
// What a program's identity (config::Identity, resolved when the configuration was loaded)
// means at its start: the helper's arguments, plain numbers, so the helper links no NSS and
// starts in microseconds (see climits_exec.c); and the variables a login would set.
#include <map>
#include <string>
#include <vector>

#include "config/model.h"

namespace climits::supervisor {

// The helper's arguments for it: --uid N --gid N --groups N,N,...
std::vector<std::string> identity_arguments(const config::Identity& identity);

// The program's `environment` plus HOME, USER, LOGNAME and SHELL from its user's passwd entry,
// as systemd sets them, each unless `environment` sets it. A program without a user (or with a
// numeric one that has no entry) gets only its `environment`.
std::map<std::string, std::string> program_environment(const config::Program& program);

}  // namespace climits::supervisor
