#pragma once
// Who may use the control socket: root, the manager's own user, and members of
// `manager.control_group` (by primary group or a supplementary one). The peer is identified
// by SO_PEERCRED; its supplementary groups are read from /proc/<pid>/status. The decision
// itself is pure and unit-tested.
#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace climits::control {

struct AccessRule {
  uid_t owner_uid = 0;         // the manager's own effective uid
  std::optional<gid_t> group;  // control_group, when set
  std::string group_name;      // as configured, for messages
};

// Resolves control_group (a name or a numeric gid); unset means root (and the owner) only.
Result<AccessRule> make_access_rule(const std::optional<std::string>& control_group);

struct Peer {
  pid_t pid = 0;  // 0 when the peer is in another pid namespace
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;  // supplementary groups, when they could be read
};

// SO_PEERCRED of a connected Unix socket, and the supplementary groups from /proc/<pid>/status
// (left empty when they cannot be read: the primary group still counts).
Result<Peer> peer_of(int fd);

// The `Groups:` line of a /proc/<pid>/status text.
std::vector<gid_t> parse_status_groups(std::string_view status_text);

// nullopt when the peer may use the socket; otherwise the message it is refused with.
std::optional<std::string> refusal(const AccessRule& rule, const Peer& peer);

}  // namespace climits::control
