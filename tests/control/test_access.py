"""Who may use the socket, with real users: without control_group the socket is root's (0600)
and nobody is refused; with a control_group (a system group made for the test) the socket is
0660 in that group, a user outside it is refused and a member (by supplementary or primary
group) is served. With the file opened to everyone (0666), the refusal comes from the
server's SO_PEERCRED check itself: one error line, then the connection is closed."""

import grp
import json
import os
import re
import stat
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

NOBODY = "nobody"

# Run as another user: connect, send one status request, read one line, report whether the
# server then closed the connection.
RAW_CLIENT = r"""
import json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(10)
s.connect(sys.argv[1])
try:
    s.sendall(b'{"cmd": "status"}\n')
except (BrokenPipeError, ConnectionResetError):
    pass
data = b""
while b"\n" not in data:
    try:
        chunk = s.recv(65536)
    except ConnectionResetError:
        chunk = b""
    if not chunk:
        break
    data += chunk
line, _, rest = data.partition(b"\n")
closed = False
try:
    s.sendall(b'{"cmd": "version"}\n')
    closed = s.recv(65536) == b""
except (BrokenPipeError, ConnectionResetError):
    closed = True
except socket.timeout:
    closed = False
print(json.dumps({"response": json.loads(line) if line else None, "closed": closed}))
"""


def programs():
    return {"web": {"command": ["sleep", "86%d" % os.getpid()], "start": {"settle": "100ms"}}}


class AccessTest(harness.ControlTest):

    def make_group(self):
        # Groups left by runs that were killed before their teardown.
        for entry in grp.getgrall():
            m = re.match(r"^climits-test-(\d+)$", entry.gr_name)
            if m and (int(m.group(1)) == os.getpid() or
                      not os.path.exists("/proc/%s" % m.group(1))):
                subprocess.run(["groupdel", entry.gr_name], capture_output=True)
        name = "climits-test-%d" % os.getpid()
        subprocess.run(["groupadd", "--system", name], check=True, capture_output=True)
        self.addCleanup(lambda: subprocess.run(["groupdel", name], capture_output=True))
        return name, grp.getgrnam(name).gr_gid

    def raw_as(self, user, regid="nogroup", groups=None):
        group_args = ["--groups=" + ",".join(map(str, groups))] if groups else ["--clear-groups"]
        result = subprocess.run(["setpriv", "--reuid=" + user, "--regid=" + str(regid),
                                 *group_args, "/usr/bin/python3", "-c", RAW_CLIENT, self.socket],
                                capture_output=True, text=True, timeout=30)
        self.assertEqual(result.returncode, 0, result.stderr)
        return json.loads(result.stdout)

    def test_root_only_without_control_group(self):
        daemon = self.daemon(self.write_config(programs()))
        daemon.wait_for(r"web: starting -> running ")  # settled before acting on it
        info = os.stat(self.socket)
        self.assertTrue(stat.S_ISSOCK(info.st_mode))
        self.assertEqual(stat.S_IMODE(info.st_mode), 0o600)
        self.assertEqual(info.st_uid, 0)
        self.assert_ctl_ok(self.ctl("status"))

        result = self.ctl("status", user=NOBODY)
        self.assertEqual(result.returncode, 1)
        self.assertEqual(result.stdout, "")
        self.assertEqual(result.stderr,
                         "climits-ctl: permission denied on %s: run as root or as a member of "
                         "the manager's control_group\n" % self.socket)

        # Past the file's mode, the server's own check refuses: one line, then closed.
        os.chmod(self.socket, 0o666)
        seen = self.raw_as(NOBODY)
        self.assertEqual(seen["response"]["ok"], False)
        self.assertRegex(seen["response"]["error"],
                         r"^permission denied: uid 65534 is not root, and "
                         r"manager\.control_group is not set")
        self.assertTrue(seen["closed"])
        result = self.ctl("stop", "web", user=NOBODY)
        self.assertEqual(result.returncode, 1)
        self.assertRegex(result.stderr, r"^climits-ctl: permission denied: uid 65534 .*\n$")
        self.assertEqual(self.status()["web"]["state"], "running")
        daemon.wait_for(r"control: refused a connection from uid 65534 ")

    def test_control_group_members_only(self):
        name, gid = self.make_group()
        daemon = self.daemon(self.write_config(programs(), control_group=name))
        daemon.wait_for(r"web: starting -> running ")  # settled before acting on it
        info = os.stat(self.socket)
        self.assertEqual(stat.S_IMODE(info.st_mode), 0o660)
        self.assertEqual(info.st_gid, gid)
        self.assertEqual(info.st_uid, 0)

        # Outside the group: the file's mode already stops it.
        result = self.ctl("status", user=NOBODY)
        self.assertEqual(result.returncode, 1)
        self.assertIn("permission denied on %s" % self.socket, result.stderr)

        # A member through a supplementary group, and through its primary group.
        result = self.assert_ctl_ok(self.ctl("status", user=NOBODY, groups=[gid]))
        self.assertIn("web", result.stdout)
        seen = self.raw_as(NOBODY, regid=gid)
        self.assertTrue(seen["response"]["ok"], seen)
        self.assertFalse(seen["closed"])

        # A member may act; the log names who did it.
        result = self.assert_ctl_ok(self.ctl("stop", "web", user=NOBODY, groups=[gid]))
        self.assertEqual(result.stdout, "web: stopped\n")
        daemon.wait_for(r"web: running -> stopping \(control: stop by uid 65534 \(pid \d+\)\)")
        self.assert_ctl_ok(self.ctl("start", "web", user=NOBODY, groups=[gid]))

        # With the file open to all, the server tells members from the rest by itself,
        # reading the supplementary groups from /proc.
        os.chmod(self.socket, 0o666)
        seen = self.raw_as(NOBODY)
        self.assertFalse(seen["response"]["ok"])
        self.assertEqual(seen["response"]["error"],
                         "permission denied: uid 65534 is not root and not a member of group "
                         "%s (the manager's control_group)" % name)
        self.assertTrue(seen["closed"])
        seen = self.raw_as(NOBODY, groups=[gid])
        self.assertTrue(seen["response"]["ok"], seen)
        self.assertEqual([p["name"] for p in seen["response"]["programs"]], ["web"])
        self.assertFalse(seen["closed"])
        seen = self.raw_as(NOBODY, groups=[gid + 1, gid])  # among other groups
        self.assertTrue(seen["response"]["ok"], seen)

        self.assertEqual(daemon.stop(), 0, daemon.tail())
        self.assertFalse(os.path.exists(self.socket))


if __name__ == "__main__":
    harness.main()
