"""Shared harness for the control socket's end-to-end tests.

Every test file is run as
    /usr/bin/python3 tests/control/<file>.py PATH/TO/climits-manager PATH/TO/climits-ctl
and uses only the standard library. Each test gets:

- a fresh temporary directory (mode 0755, so that an unprivileged client can reach the socket
  in it) with its own YAML config, control socket and log_dir;
- a private cgroup root under the test process's own memory cgroup
  (/sys/fs/cgroup/memory<own path>/climits-ctl-<pid>-<n>, and the same place under pids),
  emptied and removed at teardown even when the test fails;
- managers started in the foreground whose log (stderr) is collected, and helpers to run
  climits-ctl (optionally as another user through setpriv) and to speak the protocol raw.

The tests need root (cgroups, other users); they pass with a notice when not run as root.
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import unittest

MANAGER = None  # argv[1]
CTL = None  # argv[2]

# The private-cgroup helpers are the daemon suite's (tests/daemon/e2e.py).
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "daemon"))
import e2e  # noqa: E402
from e2e import own_cgroup, read_pids, wait_until  # noqa: E402,F401


class Cgroups(e2e.Cgroups):
    """A private cgroup root for one test, named climits-ctl-<pid>-<n>."""

    def __init__(self):
        super().__init__(prefix="climits-ctl")


def pid_alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        return state not in "ZX"
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False


class Daemon(e2e.Daemon):
    """The daemon suite's manager run (e2e.Daemon: log = stderr, matched per line). The
    control tests also read the whole log at once, and want stop()'s exit status alone."""

    def log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def stop(self, timeout=30.0):
        status, _took = super().stop(timeout=timeout)
        return status


class Connection:
    """A raw protocol connection: bytes out, lines in."""

    def __init__(self, path, timeout=10.0):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.buffer = b""

    def send(self, data):
        self.sock.sendall(data)

    def read_line(self):
        """The next line (without '\\n'), or None at end of stream."""
        while b"\n" not in self.buffer:
            try:
                chunk = self.sock.recv(65536)
            except ConnectionResetError:
                chunk = b""
            if not chunk:
                return None
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return line

    def request(self, obj_or_bytes):
        data = obj_or_bytes if isinstance(obj_or_bytes, bytes) else \
            json.dumps(obj_or_bytes).encode()
        self.send(data + b"\n")
        line = self.read_line()
        if line is None:
            raise AssertionError("connection closed without an answer to %r" % data[:100])
        return json.loads(line)

    def at_eof(self, timeout=5.0):
        """Whether the server closed the connection (after any lines already read)."""
        self.sock.settimeout(timeout)
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return True
                self.buffer += chunk
        except ConnectionResetError:
            return True
        except socket.timeout:
            return False

    def close(self):
        self.sock.close()


class ControlTest(unittest.TestCase):
    """Base class: a temp dir, a private cgroup root, managers that are always cleaned up."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="climits-ctl-")
        os.chmod(self.dir, 0o755)
        self.socket = os.path.join(self.dir, "control.sock")
        self.cgroups = Cgroups()
        self.daemons = []
        self.addCleanup(self._cleanup)

    def _cleanup(self):
        for d in self.daemons:
            d.kill()
        self.cgroups.cleanup()
        if os.environ.get("CLIMITS_E2E_KEEP"):
            sys.stderr.write("kept %s\n" % self.dir)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)

    def write_config(self, programs, name="programs.yaml", **manager):
        """Write a config (JSON is YAML) and return its path."""
        section = {
            "cgroup_root": self.cgroups.memory,
            "control_socket": self.socket,
            "log_dir": os.path.join(self.dir, "logs"),
            "log_level": "info",
        }
        section.update(manager)
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            json.dump({"version": 1, "manager": section, "programs": programs}, f, indent=1)
        return path

    def daemon(self, config_path, tag="manager", wait=True):
        d = Daemon(self.dir, config_path, "%s-%d" % (tag, len(self.daemons)))
        self.daemons.append(d)
        d.start()
        if wait:
            d.wait_for(r"control socket: ", timeout=20)
        return d

    def ctl(self, *args, user=None, groups=None, socket_path=None, timeout=120):
        """Run climits-ctl; as `user` (with only `groups`, a list of gids) through setpriv."""
        argv = [CTL, "-s", socket_path or self.socket, *args]
        if user is not None:
            group_args = (["--groups=" + ",".join(str(g) for g in groups)] if groups
                          else ["--clear-groups"])
            argv = ["setpriv", "--reuid=" + user, "--regid=nogroup", *group_args, *argv]
        return subprocess.run(argv, capture_output=True, text=True, timeout=timeout)

    def assert_ctl_ok(self, result):
        self.assertEqual(result.returncode, 0,
                         "climits-ctl failed (%d):\n%s%s" % (result.returncode, result.stdout,
                                                            result.stderr))
        return result

    def connect(self, timeout=10.0):
        return Connection(self.socket, timeout)

    def status(self, *names):
        conn = self.connect()
        try:
            response = conn.request({"cmd": "status", "names": list(names)} if names
                                    else {"cmd": "status"})
        finally:
            conn.close()
        self.assertTrue(response["ok"], response)
        return {p["name"]: p for p in response["programs"]}


def main():
    global MANAGER, CTL
    if len(sys.argv) < 3:
        sys.stderr.write("usage: %s PATH/TO/climits-manager PATH/TO/climits-ctl [tests]\n"
                         % sys.argv[0])
        sys.exit(2)
    MANAGER = os.path.abspath(sys.argv[1])
    e2e.MANAGER = MANAGER  # e2e.Daemon starts it
    CTL = os.path.abspath(sys.argv[2])
    # 77: ctest's SKIP_RETURN_CODE for these tests (a skip is never counted as a pass).
    if os.geteuid() != 0:
        print("skipped: these tests need root (cgroups, other users); 0 passed, 0 failed")
        sys.exit(77)
    e2e.run_tests(sys.argv[3:])
