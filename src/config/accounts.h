#pragma once
// The users and groups programs run as, looked up in the passwd and group databases (glibc's
// NSS, so LDAP and sssd users work) when the configuration is loaded, never when a program
// starts: a slow NSS source then delays a load or a reload, not the loop, and --check, the
// start and a reload refuse a name that does not exist. Each name is asked once per load.
#include <sys/types.h>

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "config/model.h"
#include "util/result.h"

namespace climits::config {

class AccountLookup {
 public:
  // A user name, or a uid. A uid need not exist: it then has no entry.
  struct User {
    uid_t uid = 0;
    std::optional<UserEntry> entry;
  };
  // Errors read as the rest of a configuration error: `user "bob" does not exist (…)`.
  Result<User> user(const std::string& name_or_id);
  // A group name, or a gid (which need not exist).
  Result<gid_t> group(const std::string& name_or_id);
  // The supplementary groups of a user with an entry, as initgroups(3) would set them.
  Result<std::vector<gid_t>> groups_of(const std::string& user_name, gid_t gid);

 private:
  std::map<std::string, Result<User>> users_;
  std::map<std::string, Result<gid_t>> groups_;
  std::map<std::pair<std::string, gid_t>, Result<std::vector<gid_t>>> lists_;
};

// Who `user` and `group` make a program (nothing when neither is set). `gid` without either
// an entry or `group` is the manager's own. Errors are those of AccountLookup, with the key
// that caused them ("user" or "group").
struct IdentityError {
  const char* key;
  std::string message;
};
std::optional<IdentityError> resolve_identity(AccountLookup& accounts, Program& program);

}  // namespace climits::config
