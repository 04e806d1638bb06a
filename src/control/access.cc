#include "control/access.h"

#include <grp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>

#include "util/file_io.h"
#include "util/text.h"

namespace climits::control {

Result<AccessRule> make_access_rule(const std::optional<std::string>& control_group) {
  AccessRule rule;
  rule.owner_uid = ::geteuid();
  if (!control_group) return rule;
  rule.group_name = *control_group;
  if (const group* entry = ::getgrnam(control_group->c_str())) {
    rule.group = entry->gr_gid;
  } else if (auto number = parse_u64(*control_group);
             number && ::getgrgid(static_cast<gid_t>(*number))) {
    rule.group = static_cast<gid_t>(*number);
  } else {
    return Error{ENOENT, "manager.control_group: group \"" + *control_group +
                             "\" does not exist (create it with `groupadd --system " +
                             *control_group + "`, or remove control_group to allow root only)"};
  }
  return rule;
}

std::vector<gid_t> parse_status_groups(std::string_view status_text) {
  std::vector<gid_t> groups;
  std::size_t at = 0;
  while (at < status_text.size()) {
    std::size_t end = status_text.find('\n', at);
    if (end == std::string_view::npos) end = status_text.size();
    std::string_view line = status_text.substr(at, end - at);
    at = end + 1;
    if (!line.starts_with("Groups:")) continue;
    for (const auto& word : split_words(line.substr(7)))
      if (auto number = parse_u64(word)) groups.push_back(static_cast<gid_t>(*number));
    break;
  }
  return groups;
}

Result<Peer> peer_of(int fd) {
  ucred credentials{};
  socklen_t length = sizeof credentials;
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &length) != 0)
    return Error::from_errno(errno, "reading the peer's credentials (SO_PEERCRED)");
  Peer peer;
  peer.pid = credentials.pid;
  peer.uid = credentials.uid;
  peer.gid = credentials.gid;
  // The peer is alive while it holds the connection; if it already went away, its groups are
  // simply not known and only its primary group counts.
  if (peer.pid > 0) {
    if (auto status = read_file("/proc/" + std::to_string(peer.pid) + "/status", 64 * 1024))
      peer.groups = parse_status_groups(*status);
  }
  return peer;
}

std::optional<std::string> refusal(const AccessRule& rule, const Peer& peer) {
  if (peer.uid == 0 || peer.uid == rule.owner_uid) return std::nullopt;
  if (rule.group) {
    if (peer.gid == *rule.group ||
        std::find(peer.groups.begin(), peer.groups.end(), *rule.group) != peer.groups.end())
      return std::nullopt;
    return "permission denied: uid " + std::to_string(peer.uid) +
           " is not root and not a member of group " + rule.group_name +
           " (the manager's control_group)";
  }
  return "permission denied: uid " + std::to_string(peer.uid) +
         " is not root, and manager.control_group is not set (only root may use this socket)";
}

}  // namespace climits::control
