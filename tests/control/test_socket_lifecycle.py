"""The socket file over the manager's life: its directory is created (0755) if missing; it is
removed at a clean exit; a stale one left by a dead manager is replaced (a bare socket file, and
the file of a manager killed with SIGKILL); a live manager on it makes a second one exit 2 with
a message naming the socket, leaving the first one, its programs and its socket untouched; a
path that is not a socket is refused with exit 2 and left alone."""

import os
import signal
import socket
import stat
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402


def programs(marker):
    return {"web": {"command": ["sleep", marker], "start": {"settle": "100ms"}}}


class SocketLifecycleTest(harness.ControlTest):

    def marker(self):
        return "88%d%03d" % (os.getpid(), int(time.monotonic() * 1000) % 1000)

    def test_created_in_a_new_directory_and_removed_at_exit(self):
        self.socket = os.path.join(self.dir, "run", "climits-manager", "control.sock")
        daemon = self.daemon(self.write_config(programs(self.marker())))
        for directory in (os.path.join(self.dir, "run"), os.path.dirname(self.socket)):
            self.assertEqual(stat.S_IMODE(os.stat(directory).st_mode), 0o755, directory)
        self.assertTrue(stat.S_ISSOCK(os.stat(self.socket).st_mode))
        daemon.wait_for(r"control socket: %s$" % self.socket)
        self.assert_ctl_ok(self.ctl("status"))
        conn = self.connect()  # a client still connected at exit is closed, not a problem
        self.assertEqual(daemon.stop(), 0, daemon.tail())
        self.assertFalse(os.path.exists(self.socket), "the socket file is left after exit")
        self.assertTrue(conn.at_eof())
        conn.close()
        self.assertIn("clean shutdown", daemon.log())
        for sig in (signal.SIGINT,):
            daemon = self.daemon(self.write_config(programs(self.marker())))
            daemon.proc.send_signal(sig)
            self.assertEqual(daemon.wait_exit(), 0)
            self.assertFalse(os.path.exists(self.socket))

    def test_stale_socket_replaced(self):
        # A socket file nobody listens on.
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(self.socket)
        s.close()
        self.assertTrue(os.path.exists(self.socket))
        daemon = self.daemon(self.write_config(programs(self.marker())))
        daemon.wait_for(r"control socket: replaced %s, left by a manager that did not shut down "
                        r"cleanly" % self.socket)
        self.assert_ctl_ok(self.ctl("status"))

        # The file of a manager that was killed.
        daemon.proc.send_signal(signal.SIGKILL)
        daemon.wait_exit()
        self.assertTrue(os.path.exists(self.socket))
        result = self.ctl("status")
        self.assertEqual(result.returncode, 1)
        self.assertIn("the manager is not running on %s" % self.socket, result.stderr)
        second = self.daemon(self.write_config(programs(self.marker())))
        second.wait_for(r"control socket: replaced ")
        second.wait_for(r"web: starting -> running ")
        self.assertEqual(self.status()["web"]["state"], "running")
        self.assertEqual(second.stop(), 0)
        self.assertFalse(os.path.exists(self.socket))

    def test_second_manager_on_the_same_socket_refused(self):
        marker = self.marker()
        first = self.daemon(self.write_config(programs(marker)))
        first.wait_for(r"web: starting -> running ")
        web = self.status()["web"]["pid"]
        inode = os.stat(self.socket).st_ino

        # Same socket, same cgroup root: it must stop before it touches any cgroup.
        config = self.write_config(programs(marker), name="second.yaml")
        second = self.daemon(config, tag="second", wait=False)
        status = second.wait_exit(timeout=20)
        self.assertEqual(status, 2, second.tail())
        log = second.log()
        self.assertIn("another climits-manager is already running on the control socket %s"
                      % self.socket, log)
        self.assertNotIn("removed cgroup", log)
        self.assertNotIn("web:", log)

        self.assertTrue(first.running())
        self.assertTrue(harness.pid_alive(web))
        self.assertEqual(self.status()["web"]["pid"], web)
        self.assertEqual(os.stat(self.socket).st_ino, inode)
        self.assert_ctl_ok(self.ctl("status"))
        self.assertEqual(first.stop(), 0)
        self.assertFalse(os.path.exists(self.socket))

    def test_path_that_is_not_a_socket(self):
        with open(self.socket, "w") as f:
            f.write("precious\n")
        daemon = self.daemon(self.write_config(programs(self.marker())), wait=False)
        self.assertEqual(daemon.wait_exit(timeout=20), 2, daemon.tail())
        self.assertIn("%s exists and is not a socket" % self.socket, daemon.log())
        with open(self.socket) as f:
            self.assertEqual(f.read(), "precious\n")


if __name__ == "__main__":
    harness.main()
