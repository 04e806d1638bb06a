"""The manager's file descriptors do not grow with restarts: a program that fails at once is
restarted ~1000 times with no backoff; the manager's open fds after ~100 restarts and after
~1000 are the same (within 2).

With no backoff, restarts overlap with the asynchronous end of the previous run (its output
pipes close when the loop reads their EOF), so a snapshot taken in the middle of the storm
depends on timing. The program therefore has a pause switch: while the file PAUSE exists, a
new run waits instead of exiting. At each measuring point the test creates PAUSE, waits until
one run has been sitting still for a while (everything of the earlier runs is closed by then),
counts, and removes PAUSE to let the storm go on."""

import collections
import os
import re
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2e  # noqa: E402

EARLY, LATE = 100, 1000


def fd_kinds(pid):
    """How many fds of each kind (pipe, anon_inode:[eventfd], a file path, ...) are open."""
    kinds = collections.Counter()
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            target = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except OSError:
            continue
        kinds[re.sub(r"\[\d+\]$", "", target)] += 1
    return dict(sorted(kinds.items()))


class FdLeakTest(e2e.DaemonTest):

    def quiet_count(self, daemon, pause):
        """Pause the storm, count the manager's fds in the quiet state, resume; returns
        (count, kinds, starts so far)."""
        open(pause, "w").close()
        try:
            # One run sits in the pause loop: the same pid in the cgroup for 0.5 s.
            def settled():
                first = self.cgroups.live_procs("flap")
                if not first:
                    return False
                time.sleep(0.5)
                return self.cgroups.live_procs("flap")[:1] == first[:1]
            e2e.wait_until(settled, 30, "a paused run of flap")
            counts = [e2e.fd_count(daemon.pid) for _ in range(5)]
            kinds = fd_kinds(daemon.pid)
            starts = len(daemon.find(r"^flap: \w+ -> starting "))
        finally:
            os.unlink(pause)
        self.assertEqual(len(set(counts)), 1, "the count moves in the quiet state: %s" % counts)
        return counts[0], kinds, starts

    def test_fds_steady_over_restarts(self):
        pause = os.path.join(self.dir, "PAUSE")
        script = ('while [ -e %s ]; do sleep 0.02; done; echo out; echo err >&2; exit 1'
                  % pause)
        programs = {
            # Output to files through pipes, plus a neighbour that keeps running.
            "flap": {"command": ["sh", "-c", script],
                     "restart": {"policy": "always",
                                 "backoff": {"initial": 0, "max": 0, "jitter": 0},
                                 "limit": {"burst": 10000, "interval": "1s"}},
                     "start": {"settle": 0}},
            "steady": {"command": ["sleep", e2e.unique_marker()], "start": {"settle": 0}},
        }
        daemon = self.daemon(self.write_config(programs))
        began = time.monotonic()
        daemon.wait_for(r"^flap: \w+ -> starting ", count=EARLY, timeout=60)
        early, early_kinds, early_at = self.quiet_count(daemon, pause)
        daemon.wait_for(r"^flap: \w+ -> starting ", count=LATE, timeout=120)
        late, late_kinds, late_at = self.quiet_count(daemon, pause)
        took = time.monotonic() - began
        print("fds after %d starts: %d %s" % (early_at, early, early_kinds))
        print("fds after %d starts: %d %s" % (late_at, late, late_kinds))
        print("%d starts in %.1fs" % (late_at, took))
        self.assertTrue(daemon.running(), daemon.tail())
        self.assertLessEqual(abs(late - early), 2,
                             "fds went from %d to %d over %d restarts: %s -> %s"
                             % (early, late, late_at - early_at, early_kinds, late_kinds))
        self.assertEqual(daemon.find(r"-> fatal "), [])
        # Every run was a real run of the program, and its output reached the files.
        logs = os.path.join(self.dir, "logs")
        e2e.wait_until(lambda: open(os.path.join(logs, "flap.stdout.log")).read()
                       .count("out\n") >= LATE - 1, 10, "flap's output")
        e2e.wait_until(lambda: open(os.path.join(logs, "flap.stderr.log")).read()
                       .count("err\n") >= LATE - 1, 10, "flap's error output")

        status, _ = daemon.stop(signal.SIGTERM, timeout=30)
        self.assertEqual(status, 0, daemon.tail())
        self.assertEqual(self.cgroups.program_dirs(), [])


if __name__ == "__main__":
    e2e.main()
