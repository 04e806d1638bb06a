"""Program output and service notification.

- output lands in <log_dir>/<name>.stdout.log / .stderr.log (file: auto), in an explicit path,
  merged into stdout (stderr: {file: stdout}), or nowhere (null); never in the manager's log;
- rotation keeps sizes and counts bounded under a flood (.1 the newest);
- SIGUSR1 after a rename (logrotate) makes a fresh file;
- the control socket answers status requests while a neighbour floods its output;
- a full log filesystem: output dropped with one warning, the manager and a quiet program fine;
- a symbolic link planted where a log file goes is not followed (the manager writes as root);
- sd_notify: READY=1 after the start, RELOADING=1 then READY=1 around a reload, STOPPING=1 at
  shutdown, STATUS= lines; to a path and to an abstract socket.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2e  # noqa: E402


def sh(script, **extra):
    program = {"command": ["sh", "-c", script], "start": {"settle": "100ms"}}
    program.update(extra)
    return program


class LogsTest(e2e.DaemonTest):

    def test_output_targets(self):
        logs = os.path.join(self.dir, "logs")
        explicit = os.path.join(self.dir, "out", "explicit.log")
        programs = {
            "auto": sh("echo to-stdout; echo to-stderr >&2; sleep 1000"),
            "merged": sh("echo m-out; echo m-err >&2; sleep 1000",
                         stdout={"file": explicit}, stderr={"file": "stdout"}),
            "quiet": sh("echo nothing-to-see; echo nothing-here >&2; sleep 1000",
                        stdout={"file": "null"}, stderr={"file": "null"}),
        }
        daemon = self.daemon(self.write_config(programs))
        self.wait_running(daemon, programs)
        e2e.wait_until(lambda: os.path.exists(explicit) and
                       open(explicit).read().count("\n") >= 2, 10, "merged output")
        e2e.wait_until(lambda: os.path.exists(os.path.join(logs, "auto.stderr.log")) and
                       open(os.path.join(logs, "auto.stderr.log")).read(), 10, "stderr output")
        self.assertEqual(open(os.path.join(logs, "auto.stdout.log")).read(), "to-stdout\n")
        self.assertEqual(open(os.path.join(logs, "auto.stderr.log")).read(), "to-stderr\n")
        self.assertEqual(sorted(open(explicit).read().splitlines()), ["m-err", "m-out"])
        self.assertFalse(os.path.exists(os.path.join(logs, "quiet.stdout.log")))
        self.assertFalse(os.path.exists(os.path.join(logs, "merged.stdout.log")))
        status, _ = daemon.stop()
        self.assertEqual(status, 0, daemon.tail())
        manager_log = open(daemon.log_path).read()
        for text in ("to-stdout", "to-stderr", "m-out", "nothing-to-see", "nothing-here"):
            self.assertNotIn(text, manager_log)

    def test_rotation_under_flood_and_reopen(self):
        logs = os.path.join(self.dir, "logs")
        programs = {
            # Numbered lines, as fast as sh can: the order of the rotated files shows in them.
            "flood": sh("i=0; while :; do i=$((i+1)); echo \"line $i of the flood\"; done",
                        stdout={"file": "auto", "max_size": "64K", "keep": 3}),
            "calm": sh("while :; do echo tick; sleep 0.05; done"),
        }
        daemon = self.daemon(self.write_config(programs))
        self.wait_running(daemon, programs)
        path = os.path.join(logs, "flood.stdout.log")
        e2e.wait_until(lambda: os.path.exists(path + ".3"), 30, "three rotations")
        expected = {"flood.stdout.log", "flood.stdout.log.1", "flood.stdout.log.2",
                    "flood.stdout.log.3"}
        # Looked at while rotations go on: a file may be mid-rename, never more or bigger.
        for _ in range(20):
            names = {n for n in os.listdir(logs) if n.startswith("flood.stdout")}
            self.assertLessEqual(names, expected)
            for name in names:
                try:
                    size = os.path.getsize(os.path.join(logs, name))
                except FileNotFoundError:
                    continue
                self.assertLessEqual(size, 64 * 1024, name)
            time.sleep(0.02)
        # logrotate's convention: rename, then SIGUSR1; a fresh file appears.
        calm = os.path.join(logs, "calm.stdout.log")
        os.rename(calm, calm + ".old")
        daemon.send(signal.SIGUSR1)
        e2e.wait_until(lambda: os.path.exists(calm) and os.path.getsize(calm) > 0, 10,
                       "a fresh calm.stdout.log after SIGUSR1")
        daemon.wait_for(r"SIGUSR1 received: reopening program output files")
        status, _ = daemon.stop()
        self.assertEqual(status, 0, daemon.tail())
        # At rest: exactly the file and three rotated ones, .1 the newest, no line lost
        # between them.
        self.assertEqual({n for n in os.listdir(logs) if n.startswith("flood.stdout")}, expected)
        first_last = []
        for suffix in (".3", ".2", ".1", ""):
            lines = open(path + suffix).read().splitlines()
            self.assertTrue(lines, suffix)
            first_last.append((int(lines[0].split()[1]), int(lines[-1].split()[1])))
        for older, newer in zip(first_last, first_last[1:]):
            self.assertEqual(newer[0], older[1] + 1, first_last)

    def test_status_answers_beside_a_flood(self):
        """A neighbour flooding its output (the manager reading and rotating it without
        pause) does not keep the control socket from answering: every request gets a
        correct answer while the flood goes on. How fast is bench/'s business (the latency
        bar is a performance figure, not a property to test on a shared machine); the
        timeout is only a guard against a hang."""
        ctl = os.path.join(os.path.dirname(e2e.MANAGER), "climits-ctl")
        programs = {
            "flood": sh("yes 'flooding as fast as it can'",
                        stdout={"file": "auto", "max_size": "1M", "keep": 2}),
            "quiet": sh("sleep 1000", stdout={"file": "null"}),
        }
        daemon = self.daemon(self.write_config(programs))
        self.wait_running(daemon, programs)
        socket_path = os.path.join(self.dir, "control.sock")
        e2e.wait_until(lambda: os.path.exists(os.path.join(self.dir, "logs",
                                                           "flood.stdout.log.1")),
                       20, "the flood rotating")
        [yes] = e2e.wait_until(lambda: [p for p in self.cgroups.live_procs("flood")
                                        if (e2e.cmdline(p) or [""])[0] == "yes"], 10,
                               "flood's yes")

        def written():
            """Bytes `yes` has written so far: they grow only while the manager reads."""
            with open("/proc/%d/io" % yes) as f:
                return int([l for l in f if l.startswith("wchar:")][0].split()[1])
        before = written()
        for _ in range(20):
            result = subprocess.run([ctl, "-s", socket_path, "status", "--json"],
                                    capture_output=True, text=True, timeout=30)
            self.assertEqual(result.returncode, 0, result.stderr)
            states = {p["name"]: p["state"] for p in json.loads(result.stdout)["programs"]}
            self.assertEqual(states, {"flood": "running", "quiet": "running"})
        # The flood was still flowing: the manager kept reading it.
        e2e.wait_until(lambda: written() > before, 10, "more output from flood")
        self.assertEqual(daemon.stop()[0], 0)

    def test_full_log_filesystem(self):
        logs = os.path.join(self.dir, "logs")
        os.makedirs(logs)
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", logs], check=True)
        self.addCleanup(subprocess.run, ["umount", "-l", logs])
        programs = {
            "flood": sh("yes 'filling the disk'", stdout={"file": "auto", "max_size": "1G"}),
            "quiet": sh("sleep 1000", stdout={"file": "null"}),
        }
        daemon = self.daemon(self.write_config(programs))
        pids = self.wait_running(daemon, programs)
        daemon.wait_for(r"flood: cannot write its output to .*No space left on device", timeout=20)
        time.sleep(2.0)  # keep flooding into the full disk
        warnings = daemon.find(r"flood: cannot write its output")
        self.assertEqual(len(warnings), 1, "one warning a minute at most")
        self.assertTrue(daemon.running())
        self.assertEqual(self.cgroups.live_procs("quiet"), pids["quiet"])
        daemon.send(signal.SIGHUP)  # the manager still answers
        daemon.wait_for(r"reload: 0 added, 0 removed, 0 restarted, 0 updated live, 2 unchanged")
        status, _ = daemon.stop()
        self.assertEqual(status, 0, daemon.tail())

    def test_symlink_in_place_of_a_log_file_is_not_followed(self):
        logs = os.path.join(self.dir, "logs")
        os.makedirs(logs)
        victim = os.path.join(self.dir, "victim")
        with open(victim, "w") as f:
            f.write("precious\n")
        os.symlink(victim, os.path.join(logs, "talk.stdout.log"))
        programs = {"talk": sh("while :; do echo chatter; sleep 0.05; done")}
        daemon = self.daemon(self.write_config(programs))
        self.wait_running(daemon, programs)
        daemon.wait_for(r"talk: cannot write its output to .*talk\.stdout\.log: it is a symbolic "
                        r"link, which is refused", timeout=20)
        time.sleep(1.0)  # it keeps talking
        self.assertEqual(len(daemon.find(r"talk: cannot write its output")), 1)
        with open(victim) as f:
            self.assertEqual(f.read(), "precious\n")
        self.assertTrue(os.path.islink(os.path.join(logs, "talk.stdout.log")))
        status, _ = daemon.stop()
        self.assertEqual(status, 0, daemon.tail())


class NotifyTest(e2e.DaemonTest):

    def run_with_notify(self, address, bind_to):
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        listener.bind(bind_to)
        listener.settimeout(20)
        self.addCleanup(listener.close)
        programs = {"p": sh("sleep 1000")}
        config = self.write_config(programs)
        os.environ["NOTIFY_SOCKET"] = address
        try:
            daemon = self.daemon(config)
        finally:
            del os.environ["NOTIFY_SOCKET"]
        messages = []

        def receive_until(marker):
            while True:
                data = listener.recv(4096).decode()
                messages.append(data)
                if marker in data.split("\n"):
                    return

        receive_until("READY=1")
        self.wait_running(daemon, programs)
        daemon.send(signal.SIGHUP)
        receive_until("RELOADING=1")
        receive_until("READY=1")
        daemon.send(signal.SIGTERM)
        receive_until("STOPPING=1")
        self.assertEqual(daemon.wait_exit(), 0)
        states = [line for m in messages for line in m.split("\n")
                  if line in ("READY=1", "RELOADING=1", "STOPPING=1")]
        self.assertEqual(states, ["READY=1", "RELOADING=1", "READY=1", "STOPPING=1"])
        status_lines = [line for m in messages for line in m.split("\n")
                        if line.startswith("STATUS=")]
        self.assertTrue(any(" fatal" in line for line in status_lines), status_lines)
        return messages

    def test_notify_path_socket(self):
        path = os.path.join(self.dir, "notify.sock")
        self.run_with_notify(path, path)

    def test_notify_abstract_socket(self):
        name = "climits-test-notify-%d" % os.getpid()
        self.run_with_notify("@" + name, "\0" + name)

    def test_programs_do_not_inherit_notify_socket(self):
        path = os.path.join(self.dir, "notify.sock")
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        listener.bind(path)
        self.addCleanup(listener.close)
        out = os.path.join(self.dir, "env.out")
        programs = {"p": sh("env > %s; sleep 1000" % out)}
        config = self.write_config(programs)
        os.environ["NOTIFY_SOCKET"] = path
        try:
            daemon = self.daemon(config)
        finally:
            del os.environ["NOTIFY_SOCKET"]
        self.wait_running(daemon, programs)
        e2e.wait_until(lambda: os.path.exists(out) and os.path.getsize(out) > 0, 10, "env dump")
        self.assertNotIn("NOTIFY_SOCKET", open(out).read())
        self.assertEqual(daemon.stop()[0], 0)


if __name__ == "__main__":
    e2e.main()
