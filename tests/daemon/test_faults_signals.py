"""Faults: SIGHUP, SIGUSR1 and SIGTERM arriving together.

- the three sent back to back, in each of the six orders, twice: the manager ends with exit
  0, every program stopped, no cgroup left (also of a program the reload removed and that is
  still stopping), no process left; the reload is either applied whole (its summary line) or
  refused because the shutdown came first, never half;
- bursts of SIGHUP and SIGUSR1 without SIGTERM, while the file changes between them: the
  manager ends up with the last file, exactly one process in each program's cgroup, output
  files reopened, the unchanged program untouched, and the control socket answering.
"""

import itertools
import json
import os
import re
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2e  # noqa: E402

SIGNALS = {"HUP": signal.SIGHUP, "USR1": signal.SIGUSR1, "TERM": signal.SIGTERM}


class SignalFaultsTest(e2e.DaemonTest):

    def setUp(self):
        super().setUp()
        self.markers = {name: e2e.unique_marker() for name in ("keep", "change", "changed",
                                                               "gone", "new")}

    def sleeper(self, marker, **extra):
        program = {"command": ["sh", "-c", 'echo started; exec sleep %s' % self.markers[marker]],
                   "start": {"settle": "100ms"}, "stop": {"timeout": "2s"}}
        program.update(extra)
        return program

    def write_atomically(self, programs):
        """The configuration, replaced by a rename: a reload never reads half a file."""
        self.write_config(programs, name="next.yaml")
        path = os.path.join(self.dir, "programs.yaml")
        os.rename(os.path.join(self.dir, "next.yaml"), path)
        return path

    def config_a(self):
        return self.write_atomically({
            "keep": self.sleeper("keep"),
            "change": self.sleeper("change"),
            # Ignores SIGTERM: removed by a reload, it is still stopping for 1 s.
            "gone": {"command": ["sh", "-c", 'trap "" TERM; echo started; exec sleep %s'
                                 % self.markers["gone"]],
                     "start": {"settle": "100ms"}, "stop": {"timeout": "1s"}},
        })

    def config_b(self):
        return self.write_atomically({
            "keep": self.sleeper("keep"),
            "change": self.sleeper("changed"),
            "new": self.sleeper("new"),
        })

    def one_each(self, expected):
        """{name: [pid]} once each program's cgroup holds exactly one process, running the
        program's own sleep (expected: {name: marker name}); else None."""
        found = {name: self.cgroups.live_procs(name) for name in expected}
        for name, marker in expected.items():
            if [e2e.cmdline(p) for p in found[name]] != [["sleep", self.markers[marker]]]:
                return None
        return found

    def leftovers(self):
        """Processes of any program, anywhere."""
        found = []
        for marker in self.markers.values():
            found += e2e.pids_with_cmdline(["sleep", marker])
        return sorted(found)

    def test_term_together_with_hup_and_usr1_in_every_order(self):
        for round_ in range(2):
            for order in itertools.permutations(["HUP", "USR1", "TERM"]):
                with self.subTest(order=order, round=round_):
                    self.run_order(order)

    def run_order(self, order):
        logs = os.path.join(self.dir, "logs")
        config = self.config_a()
        daemon = self.daemon(config, tag="manager-%s" % "-".join(order))
        self.wait_running(daemon, ["keep", "change", "gone"])
        self.config_b()
        for name in order:
            daemon.send(SIGNALS[name])
        status = daemon.wait_exit(timeout=30)
        self.assertEqual(status, 0, daemon.tail())

        text = [e2e.line_message(l) for l in daemon.lines]
        self.assertEqual([l for l in daemon.lines
                          if re.match(r"\S+ \S+ (error|critical)", l)], [], daemon.tail())
        hup = text.index("SIGHUP received: reloading %s" % config)
        term = text.index("SIGTERM received")
        reloads = [t for t in text if t.startswith("reload: ")]
        usr1 = text.index("SIGUSR1 received: reopening program output files")
        handled = sorted([(hup, "HUP"), (usr1, "USR1"), (term, "TERM")])
        print("sent %s, handled %s" % (" ".join(order), " ".join(n for _, n in handled)))
        if hup < term:
            # Applied whole before the shutdown began.
            self.assertEqual(reloads, ["reload: 1 added, 1 removed, 1 restarted, 0 updated "
                                       "live, 1 unchanged"], daemon.tail())
            stopped = {"keep", "change", "new", "gone"}
        else:
            self.assertEqual(reloads, [], daemon.tail())
            stopped = {"keep", "change", "gone"}
        self.assertIn("clean shutdown", text)
        self.assertEqual(text[-1], "clean shutdown")
        # Each program's last word is that it is down (or, removed, that it is gone).
        for name in stopped:
            last = [t for t in text if t.startswith(name + ": ")][-1]
            self.assertRegex(last, r"^%s: (\w+ -> stopped |removed \(no longer in the "
                                   r"configuration\)$)" % name, daemon.tail())
        self.assertEqual(self.cgroups.program_dirs(), [])
        self.assertEqual(self.leftovers(), [])
        self.assertFalse(os.path.exists(os.path.join(self.dir, "control.sock")))
        for entry in os.listdir(logs):
            os.unlink(os.path.join(logs, entry))

    def test_hup_and_usr1_during_the_whole_shutdown(self):
        # logrotate and reloads do not wait for a shutdown to end: signals keep coming, as
        # fast as they can be sent, until the very last moment, after the manager stopped
        # handling them (for 3 s at most, longer than every stop timeout). Such a flood once
        # overfilled libuv's signal pipe, which then dropped the SIGCHLD of a program being
        # stopped, and the manager waited for that exit forever: the manager's own signals
        # now reach the loop coalesced (app/coalesced_signals.h).
        for round_ in range(3):
            with self.subTest(round=round_):
                daemon = self.daemon(self.config_a(), tag="manager-%d" % round_)
                self.wait_running(daemon, ["keep", "change", "gone"])
                daemon.send(signal.SIGTERM)
                sent = 0
                flood_ends = time.monotonic() + 3.0
                while daemon.proc.poll() is None and time.monotonic() < flood_ends:
                    try:
                        daemon.send(signal.SIGHUP if sent % 2 else signal.SIGUSR1)
                    except ProcessLookupError:
                        break
                    sent += 1
                status = daemon.wait_exit()
                print("%d signals sent during the shutdown" % sent)
                self.assertEqual(status, 0, daemon.tail())
                self.assertEqual(e2e.line_message(daemon.lines[-1]), "clean shutdown")
                text = [e2e.line_message(l) for l in daemon.lines]
                term = text.index("SIGTERM received")
                self.assertEqual([t for t in text[term:] if t.startswith("reload: ")], [])
                self.assertEqual(self.cgroups.program_dirs(), [])
                self.assertEqual(self.leftovers(), [])

    def test_hup_and_usr1_bursts_converge(self):
        logs = os.path.join(self.dir, "logs")
        config = self.config_a()
        daemon = self.daemon(config)
        pids = self.wait_running(daemon, ["keep", "change", "gone"])
        keep = e2e.identity(pids["keep"][0])

        def burst(order, repeat=5):
            for _ in range(repeat):
                for name in order:
                    daemon.send(SIGNALS[name])
                time.sleep(0.01)  # the stimulus's pace: signals a little apart, not one batch

        def settle_on(expected):
            """One more SIGHUP after the bursts: whatever was pending, the manager must end up
            on the file as it is now. Signals of the bursts may still be pending when it is
            sent (the kernel merges them): a reload line after it is there either way, and
            the end state is what is waited for, each program with exactly one live process,
            its own."""
            daemon.poll_log()
            since = len(daemon.lines)
            daemon.send(signal.SIGHUP)
            daemon.wait_for(r"^reload: \d+ added", since=since, timeout=20)
            return e2e.wait_until(lambda: self.one_each(expected), 30,
                                  lambda: "one process per program: %s"
                                  % {n: self.cgroups.live_procs(n) for n in expected})

        # The file changes between bursts; the last one is B.
        for i, order in enumerate([("HUP", "USR1"), ("USR1", "HUP"), ("HUP", "HUP", "USR1")]):
            (self.config_b if i % 2 == 0 else self.config_a)()
            burst(order)
            time.sleep(0.05)  # the stimulus's pace: the file changes while signals are handled
        self.config_b()
        os.rename(os.path.join(logs, "keep.stdout.log"), os.path.join(logs, "keep.stdout.log.old"))
        burst(("USR1", "HUP"))
        found = settle_on({"keep": "keep", "change": "changed", "new": "new"})
        self.assertTrue(daemon.running(), daemon.tail())
        self.assertEqual(found["keep"], [keep[0]], "keep was restarted")
        self.assertTrue(e2e.alive(keep))
        e2e.wait_until(lambda: not os.path.exists(self.cgroups.program("gone")), 20,
                       "gone's cgroup removed")
        self.assertEqual(sorted(os.path.basename(d) for d in self.cgroups.program_dirs()),
                         sorted(["program-change", "program-keep", "program-new"] * 2))
        self.assertEqual(e2e.pids_with_cmdline(["sleep", self.markers["change"]]), [])
        # Reopened: a fresh keep.stdout.log after the rename, although keep wrote nothing since
        # (the last burst's SIGUSR1s may be handled after the last reload: waited for).
        e2e.wait_until(lambda: os.path.exists(os.path.join(logs, "keep.stdout.log")), 10,
                       "a fresh keep.stdout.log after SIGUSR1")
        self.assertEqual(open(os.path.join(logs, "keep.stdout.log.old")).read(), "started\n")
        result = self.ctl("status", "--json")
        self.assertEqual(result.returncode, 0, result.stderr)
        states = {p["name"]: p["state"] for p in json.loads(result.stdout)["programs"]}
        self.assertEqual(states, {"keep": "running", "change": "running", "new": "running"})
        self.assertEqual([l for l in daemon.lines
                          if re.match(r"\S+ \S+ (error|critical)", l)], [])

        # Back to A the same way; then a clean stop.
        self.config_a()
        burst(("HUP", "USR1"))
        found = settle_on({"keep": "keep", "change": "change", "gone": "gone"})
        self.assertEqual(found["keep"], [keep[0]])
        e2e.wait_until(lambda: not os.path.exists(self.cgroups.program("new")), 20,
                       "new's cgroup removed")
        status, _ = daemon.stop()
        self.assertEqual(status, 0, daemon.tail())
        self.assertEqual(self.cgroups.program_dirs(), [])
        self.assertEqual(self.leftovers(), [])


if __name__ == "__main__":
    e2e.main()
