#pragma once
// The identity a program runs as, resolved by the manager at each start from the `user` and
// `group` settings. The manager resolves names (through glibc's NSS, so LDAP and sssd users
// work) and hands the helper plain numbers: the helper links no NSS and starts in
// microseconds (see climits_exec.c).
#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "util/result.h"

namespace climits::supervisor {

struct Identity {
  std::optional<uid_t> uid;  // unset: only the group changes
  gid_t gid = 0;
  std::vector<gid_t> groups;  // supplementary groups, set before the gid and the uid
};

// Nothing to change when neither is set. A name that does not exist is "unknown user NAME"
// (or group); a number need not exist (its gid is then the manager's own, unless `group`
// names one, and it has only that group).
Result<std::optional<Identity>> resolve_identity(const std::optional<std::string>& user,
                                                 const std::optional<std::string>& group);

// The helper's arguments for it: --uid N --gid N --groups N,N,...
std::vector<std::string> identity_arguments(const Identity& identity);

}  // namespace climits::supervisor
