"""SIGTERM and SIGINT: a graceful shutdown that exits 0 without waiting for any stop timeout
(every program dies on TERM: no cgroup is killed), leaves no program process and no program
cgroup (memory and pids) behind, and says "clean shutdown"."""

import os
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2e  # noqa: E402


class ShutdownTest(e2e.DaemonTest):

    def run_and_stop(self, sig):
        one, two, child = e2e.unique_marker(), e2e.unique_marker(), e2e.unique_marker()
        programs = {
            "one": {"command": ["sleep", one], "memory": {"max": "32M"},
                    "start": {"settle": "200ms"}},
            "two": {"command": ["sleep", two], "memory": {"max": "32M", "swap_max": 0},
                    "pids_max": 16, "start": {"settle": "200ms"}},
            # A shell with a child of its own: both are program processes.
            "parent": {"command": ["sh", "-c", "sleep %s & wait" % child],
                       "start": {"settle": "200ms"}},
        }
        daemon = self.daemon(self.write_config(programs))
        self.wait_running(daemon, programs)
        e2e.wait_until(lambda: len(self.cgroups.live_procs("parent")) == 2, 10,
                       "the shell and its child in program-parent")

        # Every program process, found both through the cgroups and by command line.
        idents = set()
        for name in programs:
            memory = self.cgroups.live_procs(name, "memory")
            pids = self.cgroups.live_procs(name, "pids")
            self.assertTrue(memory, "no process in the memory cgroup of %s" % name)
            self.assertEqual(sorted(memory), sorted(pids),
                             "%s: memory and pids cgroups hold different processes" % name)
            idents |= {e2e.identity(p) for p in memory}
        for marker in (one, two, child):
            found = e2e.pids_with_cmdline(["sleep", marker])
            self.assertEqual(len(found), 1, "sleep %s: %s" % (marker, found))
            self.assertIn(e2e.identity(found[0]), idents)
        self.assertEqual(len(idents), 4)
        self.assertEqual(len(self.cgroups.program_dirs()), 6)  # 3 programs x (memory, pids)

        # No bound on how long the shutdown takes (machine speed): that it did not wait for a
        # stop timeout (10 s by default) is the absence of "killing its cgroup", below. The
        # timeout only guards against a hang.
        status, seconds = daemon.stop(sig, timeout=30)
        print("%s: exit %s after %.2fs" % (signal.Signals(sig).name, status, seconds))
        self.assertEqual(status, 0, daemon.tail())
        # Zombies of reparented children may take a moment to be reaped (alive() counts a
        # zombie as dead); wait until every one is gone.
        e2e.wait_until(lambda: not [i for i in idents if e2e.alive(i)], 10,
                       lambda: "program processes to be gone: %s"
                       % [i[0] for i in idents if e2e.alive(i)])
        for marker in (one, two, child):
            self.assertEqual(e2e.pids_with_cmdline(["sleep", marker]), [])
        self.assertEqual(self.cgroups.program_dirs(), [])
        name = "SIGTERM" if sig == signal.SIGTERM else "SIGINT"
        daemon.wait_for(r"^%s received$" % name, timeout=1, allow_exit=True)
        daemon.wait_for(r"^clean shutdown$", timeout=1, allow_exit=True)
        for program in programs:
            lines = daemon.find(r"^%s: \w+ -> stopped " % program)
            self.assertEqual(len(lines), 1, "%s: %s" % (program, lines))
        self.assertEqual(daemon.find(r"killing its cgroup"), [],
                         "a program that dies on TERM needed the kill")

    def test_sigterm(self):
        self.run_and_stop(signal.SIGTERM)

    def test_sigint(self):
        self.run_and_stop(signal.SIGINT)


if __name__ == "__main__":
    e2e.main()
