#include "supervisor/identity.h"

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>

namespace climits::supervisor {

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
  bool absent = rc == 0 || rc == ENOENT || rc == ESRCH || rc == EBADF || rc == EPERM;
  std::string message = std::string("unknown ") + what + " " + name;
  if (absent)
    message += std::string(" (no such entry in the ") + what +
               " database: create it, or change the program's `" + what + ":`)";
  else
    message += std::string(": ") + std::strerror(rc) + " (looking it up in the " + what +
               " database: see /etc/nsswitch.conf)";
  return Error{absent ? ENOENT : rc, message};
}

}  // namespace

Result<std::optional<Identity>> resolve_identity(const std::optional<std::string>& user,
                                                 const std::optional<std::string>& group) {
  if (!user && !group) return std::optional<Identity>();
  Identity identity;
  identity.gid = ::getgid();
  std::optional<std::string> user_name;  // set when the user has an entry: initgroups' list
  std::vector<char> buffer;
  if (user) {
    passwd entry{}, *found = nullptr;
    auto number = as_number(*user);
    int rc = lookup(
        [&](passwd* e, char* b, size_t n, passwd** r) {
          return number ? ::getpwuid_r(static_cast<uid_t>(*number), e, b, n, r)
                        : ::getpwnam_r(user->c_str(), e, b, n, r);
        },
        entry, found, buffer);
    if (found != nullptr) {
      identity.uid = found->pw_uid;
      identity.gid = found->pw_gid;
      user_name = found->pw_name;
    } else if (number) {
      identity.uid = static_cast<uid_t>(*number);  // a numeric uid need not exist
    } else {
      return unknown("user", *user, rc);
    }
  }
  if (group) {
    struct group entry {
    }, *found = nullptr;
    auto number = as_number(*group);
    int rc = lookup(
        [&](struct group* e, char* b, size_t n, struct group** r) {
          return number ? ::getgrgid_r(static_cast<gid_t>(*number), e, b, n, r)
                        : ::getgrnam_r(group->c_str(), e, b, n, r);
        },
        entry, found, buffer);
    if (found != nullptr)
      identity.gid = found->gr_gid;
    else if (number)
      identity.gid = static_cast<gid_t>(*number);
    else
      return unknown("group", *group, rc);
  }
  // A user with an entry gets its groups from the group database, as initgroups(3) would;
  // otherwise the one gid.
  identity.groups = {identity.gid};
  if (user_name) {
    int count = 32;
    for (;;) {
      identity.groups.resize(static_cast<std::size_t>(count));
      int wanted = count;
      if (::getgrouplist(user_name->c_str(), identity.gid, identity.groups.data(), &wanted) >= 0) {
        identity.groups.resize(static_cast<std::size_t>(wanted));
        break;
      }
      if (wanted <= count)
        count *= 2;  // glibc reports the size it needs; be safe if not
      else
        count = wanted;
      if (count > 65536)
        return Error{E2BIG, "setting supplementary groups for " + *user_name + ": too many groups"};
    }
  }
  return std::optional<Identity>(std::move(identity));
}

std::vector<std::string> identity_arguments(const Identity& identity) {
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

}  // namespace climits::supervisor
