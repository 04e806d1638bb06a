#include "config/accounts.h"

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>

namespace climits::config {

namespace {

std::optional<unsigned long> as_number(const std::string& text) {
  unsigned long value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

// Calls a getpw*_r/getgr*_r function with a buffer that grows until the entry fits. Returns
// its error number (0 with *found == nullptr: no such entry).
template <typename Entry, typename Call>
int lookup(Call call, Entry& entry, Entry*& found, std::vector<char>& buffer) {
  buffer.resize(1024);
  for (;;) {
    int rc = call(&entry, buffer.data(), buffer.size(), &found);
    if (rc != ERANGE || buffer.size() > (1u << 20)) return rc;
    buffer.resize(buffer.size() * 4);
  }
}

Error unknown(const char* what, const std::string& name, int rc) {
  // NSS reports "no such entry" as 0, ENOENT, ESRCH, EBADF or EPERM by source (getpwnam(3)).
  if (rc == 0 || rc == ENOENT || rc == ESRCH || rc == EBADF || rc == EPERM)
    return Error{ENOENT, std::string(what) + " \"" + name + "\" does not exist (create it with `" +
                             (what[0] == 'u' ? "useradd" : "groupadd") + " --system " + name +
                             "`, or name an existing " + what + ")"};
  return Error{rc, "looking up " + std::string(what) + " \"" + name +
                       "\" failed: " + std::strerror(rc) + " (see /etc/nsswitch.conf)"};
}

// A missing entry is what the passwd format means by an empty field (passwd(5)): the root
// directory, and /bin/sh.
UserEntry entry_of(const passwd& found) {
  UserEntry entry;
  entry.name = found.pw_name;
  entry.gid = found.pw_gid;
  entry.home = found.pw_dir != nullptr && *found.pw_dir != '\0' ? found.pw_dir : "/";
  entry.shell = found.pw_shell != nullptr && *found.pw_shell != '\0' ? found.pw_shell : "/bin/sh";
  return entry;
}

}  // namespace

Result<AccountLookup::User> AccountLookup::user(const std::string& name_or_id) {
  if (auto known = users_.find(name_or_id); known != users_.end()) return known->second;
  passwd entry{}, *found = nullptr;
  std::vector<char> buffer;
  auto number = as_number(name_or_id);
  int rc = lookup(
      [&](passwd* e, char* b, size_t n, passwd** r) {
        return number ? ::getpwuid_r(static_cast<uid_t>(*number), e, b, n, r)
                      : ::getpwnam_r(name_or_id.c_str(), e, b, n, r);
      },
      entry, found, buffer);
  Result<User> result = Error{};
  if (found != nullptr)
    result = User{found->pw_uid, entry_of(*found)};
  else if (number)
    result = User{static_cast<uid_t>(*number), std::nullopt};  // a numeric uid need not exist
  else
    result = unknown("user", name_or_id, rc);
  return users_.emplace(name_or_id, std::move(result)).first->second;
}

Result<gid_t> AccountLookup::group(const std::string& name_or_id) {
  if (auto known = groups_.find(name_or_id); known != groups_.end()) return known->second;
  struct group entry {
  }, *found = nullptr;
  std::vector<char> buffer;
  auto number = as_number(name_or_id);
  int rc = lookup(
      [&](struct group* e, char* b, size_t n, struct group** r) {
        return number ? ::getgrgid_r(static_cast<gid_t>(*number), e, b, n, r)
                      : ::getgrnam_r(name_or_id.c_str(), e, b, n, r);
      },
      entry, found, buffer);
  Result<gid_t> result = Error{};
  if (found != nullptr)
    result = found->gr_gid;
  else if (number)
    result = static_cast<gid_t>(*number);
  else
    result = unknown("group", name_or_id, rc);
  return groups_.emplace(name_or_id, std::move(result)).first->second;
}

Result<std::vector<gid_t>> AccountLookup::groups_of(const std::string& user_name, gid_t gid) {
  auto key = std::make_pair(user_name, gid);
  if (auto known = lists_.find(key); known != lists_.end()) return known->second;
  std::vector<gid_t> groups;
  int count = 32;
  Result<std::vector<gid_t>> result = Error{};
  for (;;) {
    groups.resize(static_cast<std::size_t>(count));
    int wanted = count;
    if (::getgrouplist(user_name.c_str(), gid, groups.data(), &wanted) >= 0) {
      groups.resize(static_cast<std::size_t>(wanted));
      result = std::move(groups);
      break;
    }
    count = wanted > count ? wanted : count * 2;  // glibc reports the size it needs; be safe if not
    if (count > 65536) {
      result = Error{E2BIG, "user \"" + user_name + "\" is in too many groups (more than 65536)"};
      break;
    }
  }
  return lists_.emplace(key, std::move(result)).first->second;
}

std::optional<IdentityError> resolve_identity(AccountLookup& accounts, Program& program) {
  program.identity.reset();
  if (!program.user && !program.group) return std::nullopt;
  Identity identity;
  identity.gid = ::getgid();
  if (program.user) {
    auto user = accounts.user(*program.user);
    if (!user) return IdentityError{"user", user.error().message};
    identity.uid = user->uid;
    identity.user_entry = user->entry;
    if (user->entry) identity.gid = user->entry->gid;
  }
  if (program.group) {
    auto gid = accounts.group(*program.group);
    if (!gid) return IdentityError{"group", gid.error().message};
    identity.gid = *gid;
  }
  // A user with an entry gets its groups from the group database, as initgroups(3) would;
  // otherwise the one gid.
  identity.groups = {identity.gid};
  if (identity.user_entry) {
    auto groups = accounts.groups_of(identity.user_entry->name, identity.gid);
    if (!groups) return IdentityError{"user", groups.error().message};
    identity.groups = *groups;
  }
  program.identity = std::move(identity);
  return std::nullopt;
}

}  // namespace climits::config
