"""`events`: {"cmd": "events"} turns a connection into a stream of JSON lines, and
`climits-ctl events` prints them. A start, stop and restart show exactly the transitions the
manager's log shows, in order, with their causes; an OOM kill shows an `oom` event; a reload,
applied or refused, a `reload` event. A listener that stops reading while a program flaps is
dropped, and the manager keeps answering. 200 streams opened and closed leave no descriptor
behind, and streams count against the 256 connections."""

import json
import os
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import wait_until  # noqa: E402

# demo/leaky, named by tests/control/CMakeLists.txt.
LEAKY = os.path.abspath(os.environ["CLIMITS_LEAKY"]) if os.environ.get("CLIMITS_LEAKY") \
    else ""


def sleeper(autostart=True):
    return {"command": ["sleep", "88%d" % os.getpid()], "start": {"settle": "100ms"},
            "autostart": autostart}


class EventReader:
    """A raw events connection read by a thread: every event, in order."""

    def __init__(self, test):
        self.conn = test.connect()
        first = self.conn.request({"cmd": "events"})
        test.assertEqual(first, {"ok": True, "stream": "events"})
        self.conn.sock.settimeout(None)
        self.events = []
        self.ended = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while True:
            line = self.conn.read_line()
            if line is None:
                self.ended = True
                return
            self.events.append(json.loads(line))

    def of(self, kind, name=None):
        return [e for e in list(self.events)
                if e["event"] == kind and (name is None or e.get("name") == name)]

    def close(self):
        self.conn.close()


class EventsTest(harness.ControlTest):

    def request(self, obj):
        conn = self.connect()
        try:
            return conn.request(obj)
        finally:
            conn.close()

    def reader(self):
        reader = EventReader(self)
        self.addCleanup(reader.close)
        return reader

    def test_transitions_as_the_log_shows_them(self):
        daemon = self.daemon(self.write_config({"web": sleeper(autostart=False)}))
        reader = self.reader()
        self.assert_ctl_ok(self.ctl("start", "web"))
        self.assert_ctl_ok(self.ctl("stop", "web"))
        self.assert_ctl_ok(self.ctl("restart", "web"))  # from stopped: a start
        self.assert_ctl_ok(self.ctl("restart", "web"))  # running: stop, then start
        expected = [("stopped", "starting"), ("starting", "running"),
                    ("running", "stopping"), ("stopping", "stopped"),
                    ("stopped", "starting"), ("starting", "running"),
                    ("running", "stopping"), ("stopping", "starting"), ("starting", "running")]
        wait_until(lambda: len(reader.of("state", "web")) >= len(expected), 30,
                   lambda: "the events: %s" % reader.events)
        events = reader.of("state", "web")
        self.assertEqual([(e["from"], e["to"]) for e in events], expected)
        for event in events:
            self.assertEqual(list(event), ["event", "time", "name", "from", "to", "cause"])
            self.assertRegex(event["time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
        self.assertEqual([e["time"] for e in events], sorted(e["time"] for e in events))
        self.assertRegex(events[0]["cause"], r"^control: start by uid 0 \(pid \d+\)$")
        self.assertEqual(events[1]["cause"], "alive after 100ms")
        self.assertRegex(events[2]["cause"], r"^control: stop by uid 0 \(pid \d+\)$")
        self.assertRegex(events[3]["cause"], r"^pid \d+ signal SIGTERM after ")
        self.assertRegex(events[6]["cause"], r"^control: restart by uid 0 \(pid \d+\)$")
        # Exactly what the log says, cause for cause.
        logged = [harness.e2e.transition(line) for line in daemon.find(r"^web: \w+ -> \w+ ")]
        self.assertEqual([(e["name"], e["from"], e["to"], e["cause"]) for e in events],
                         [tuple(t) for t in logged])
        self.assertEqual(reader.of("oom") + reader.of("reload"), [])

    def test_climits_ctl_events(self):
        daemon = self.daemon(self.write_config({"web": sleeper(autostart=False)},
                                               log_level="debug"))
        human = subprocess.Popen([harness.CTL, "-s", self.socket, "events"],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        raw = subprocess.Popen([harness.CTL, "-s", self.socket, "events", "--json"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for proc in (human, raw):
            self.addCleanup(proc.kill)
            daemon.wait_for(r"control: uid 0 \(pid %d\) follows the events" % proc.pid)
        self.assert_ctl_ok(self.ctl("start", "web"))
        self.assertRegex(human.stdout.readline(),
                         r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z web stopped -> starting "
                         r"\(control: start by uid 0 \(pid \d+\)\)\n$")
        self.assertRegex(human.stdout.readline(),
                         r"^\S+Z web starting -> running \(alive after 100ms\)\n$")
        first = json.loads(raw.stdout.readline())
        self.assertEqual((first["event"], first["name"], first["from"], first["to"]),
                         ("state", "web", "stopped", "starting"))
        for proc in (human, raw):
            proc.send_signal(signal.SIGINT)
            self.assertEqual(proc.wait(timeout=30), 0)
            self.assertEqual(proc.stderr.read(), "")

    def test_lost_connection_exits_1(self):
        daemon = self.daemon(self.write_config({"web": sleeper()}, log_level="debug"))
        daemon.wait_for(r"^web: starting -> running ")
        proc = subprocess.Popen([harness.CTL, "-s", self.socket, "events"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.addCleanup(proc.kill)
        daemon.wait_for(r"control: uid 0 \(pid %d\) follows the events" % proc.pid)
        self.assertEqual(daemon.stop(), 0, daemon.tail())
        self.assertEqual(proc.wait(timeout=30), 1)
        out, err = proc.communicate()
        self.assertRegex(out, r"Z web running -> stopping \(shutdown\)\n")
        self.assertEqual(err, "climits-ctl: the connection to the manager was lost (it stopped, "
                              "or dropped this reader for not keeping up)\n")

    def test_oom_kill_event(self):
        self.assertTrue(LEAKY, "CLIMITS_LEAKY must name demo/leaky (tests/control/CMakeLists.txt)")
        programs = {"leaky": {"command": [LEAKY, "8", "20"],
                              "memory": {"max": "32M", "swap_max": 0},
                              "restart": {"policy": "never"},
                              "stdout": {"file": "null"}, "autostart": False}}
        daemon = self.daemon(self.write_config(programs))
        reader = self.reader()
        started = self.ctl("start", "leaky")  # it does not live to be running
        self.assertEqual(started.returncode, 1, started.stdout + started.stderr)
        self.assertIn("oom-killed", started.stderr)
        wait_until(lambda: reader.of("oom", "leaky"), 60,
                   lambda: "an oom event; log:\n%s" % daemon.tail())
        oom = reader.of("oom", "leaky")[0]
        self.assertEqual(list(oom), ["event", "time", "name", "kills", "total"])
        self.assertGreaterEqual(oom["kills"], 1)
        self.assertEqual(oom["total"], oom["kills"])
        daemon.wait_for(r"^leaky: the kernel OOM-killed %d process" % oom["kills"])
        # The run ends as an OOM kill: the state event says so.
        wait_until(lambda: [e for e in reader.of("state", "leaky") if e["to"] == "exited"], 30,
                   lambda: "leaky exited: %s" % reader.events)
        ended = [e for e in reader.of("state", "leaky") if e["to"] == "exited"][0]
        self.assertIn("oom-killed", ended["cause"])

    def test_reload_events(self):
        config = self.write_config({"web": sleeper()})
        daemon = self.daemon(config)
        daemon.wait_for(r"^web: starting -> running ")
        reader = self.reader()
        self.write_config({"web": sleeper(), "new": sleeper(autostart=False)})
        self.assert_ctl_ok(self.ctl("reload"))
        wait_until(lambda: reader.of("reload"), 20, "a reload event")
        applied = reader.of("reload")[0]
        self.assertEqual(list(applied), ["event", "time", "ok", "summary", "restarted", "updated",
                                         "added", "removed", "failed", "unchanged"])
        self.assertEqual(applied["ok"], True)
        self.assertEqual(applied["added"], ["new"])
        self.assertEqual(applied["unchanged"], 1)
        self.assertEqual(applied["summary"],
                         "1 added, 0 removed, 0 restarted, 0 updated live, 1 unchanged")
        # A file that is not valid: refused, and said so (SIGHUP like climits-ctl reload).
        with open(config, "w") as f:
            f.write("programs: [\n")
        daemon.send(signal.SIGHUP)
        wait_until(lambda: len(reader.of("reload")) >= 2, 20, "a second reload event")
        refused = reader.of("reload")[1]
        self.assertEqual(list(refused), ["event", "time", "ok", "error", "errors"])
        self.assertEqual(refused["ok"], False)
        self.assertRegex(refused["error"], r"^configuration not valid \(\d+ errors?\)")
        self.assertTrue(refused["errors"])

    def test_a_listener_that_does_not_read_is_dropped(self):
        # Several programs failing at once, with long names: events pile up (a few hundred a
        # second; not as fast as forks allow, so that the listener that does read keeps up on
        # a loaded machine too).
        flappers = {("flap%d-" % i).ljust(64, "x"): {
            "command": ["false"], "start": {"settle": "1s"},
            "restart": {"policy": "always", "backoff": {"initial": "20ms", "max": "20ms",
                                                        "jitter": 0},
                        "limit": {"burst": 10000, "interval": "1s"}},
            "stdout": {"file": "null"}, "stderr": {"file": "null"}, "autostart": False}
            for i in range(4)}
        daemon = self.daemon(self.write_config(dict(flappers, web=sleeper())))
        daemon.wait_for(r"^web: starting -> running ")
        # The one that does not read: a small receive buffer, and never a recv() after the
        # first line.
        stuck = harness.Connection(self.socket)
        self.addCleanup(stuck.close)
        stuck.sock.setsockopt(harness.socket.SOL_SOCKET, harness.socket.SO_RCVBUF, 4096)
        self.assertEqual(stuck.request({"cmd": "events"}), {"ok": True, "stream": "events"})
        reader = self.reader()  # one that reads keeps its stream
        # Raw: climits-ctl would wait for them to run, which they never do.
        self.assertTrue(self.request({"cmd": "start", "names": list(flappers)})["ok"])
        daemon.wait_for(r"control: dropping a stream reader \(uid 0, pid %d\) that does not "
                        r"keep up \(\d+ bytes unsent\)" % os.getpid(), timeout=120)
        self.assertEqual(self.status()["web"]["state"], "running")
        self.assertTrue(self.request({"cmd": "stop", "names": list(flappers)})["ok"])
        self.assertTrue(stuck.at_eof(timeout=30), "the stuck listener was not closed")
        self.assertFalse(reader.ended)
        self.assertGreater(len(reader.of("state")), 100)
        self.assertEqual(len(daemon.find(r"dropping a stream reader")), 1)

    def test_closed_streams_leave_nothing_behind(self):
        daemon = self.daemon(self.write_config({"web": sleeper()}))
        daemon.wait_for(r"^web: starting -> running ")
        fd_dir = "/proc/%d/fd" % daemon.pid
        before = len(os.listdir(fd_dir))
        conns = []
        for i in range(200):
            conn = self.connect()
            request = {"cmd": "events"} if i % 2 == 0 else \
                {"cmd": "logs", "names": ["web"], "follow": True, "lines": 0}
            self.assertTrue(conn.request(request)["ok"])
            conns.append(conn)
        self.assertGreaterEqual(len(os.listdir(fd_dir)), before + 200)
        # Streams count as connections: 256 at most.
        for _ in range(56):
            conn = self.connect()
            self.assertTrue(conn.request({"cmd": "events"})["ok"])
            conns.append(conn)
        one_more = self.connect()
        refused = json.loads(one_more.read_line())
        one_more.close()
        self.assertEqual(refused, {"ok": False, "error": "too many control connections (256); "
                                                         "try again later"})
        for conn in conns:
            conn.close()
        wait_until(lambda: len(os.listdir(fd_dir)) <= before, 30,
                   lambda: "descriptors back to %d (now %d)" % (before, len(os.listdir(fd_dir))))
        # The manager still serves streams and requests after them.
        self.assertEqual(self.status()["web"]["state"], "running")
        reader = self.reader()
        self.assert_ctl_ok(self.ctl("restart", "web"))
        wait_until(lambda: len(reader.of("state", "web")) >= 3, 20, "restart events")


if __name__ == "__main__":
    harness.main()
