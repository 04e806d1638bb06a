"""An explicit manager.cgroup_root that the manager made (mkdir -p, in the memory hierarchy and
its pids mirror) is removed again at a clean shutdown, with the directories made on the way to
it; a root that existed before is left alone (in each hierarchy on its own)."""

import os
import re
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2e  # noqa: E402


class CgroupRootTest(e2e.DaemonTest):

    def setUp(self):
        super().setUp()
        # The test's private roots exist; the manager's root goes below them.
        for root in self.cgroups.roots():
            os.makedirs(root)

    def below(self, *parts):
        """{hierarchy: path} of a place below the private roots."""
        found = {"memory": os.path.join(self.cgroups.memory, *parts)}
        if self.cgroups.pids:
            found["pids"] = os.path.join(self.cgroups.pids, *parts)
        return found

    def run_and_stop(self, root):
        marker = e2e.unique_marker()
        programs = {"one": {"command": ["sleep", marker], "start": {"settle": "200ms"}}}
        daemon = self.daemon(self.write_config(programs, cgroup_root=root))
        daemon.wait_for(r"^one: \w+ -> running ", timeout=20)
        for hierarchy, place in self.below().items():
            rel = os.path.relpath(root, self.cgroups.memory)
            program = os.path.join(place, rel, "program-one")
            e2e.wait_until(lambda: os.path.isdir(program), 10, "%s made" % program)
        status, _ = daemon.stop(signal.SIGTERM, timeout=30)
        self.assertEqual(status, 0, daemon.tail())
        daemon.wait_for(r"^clean shutdown$", timeout=1, allow_exit=True)
        daemon.poll_log()
        self.assertEqual(
            [l for l in daemon.lines if re.match(r"\S+ \S+ (warning|error|critical)", l)], [],
            daemon.tail())

    def test_a_root_it_made_is_removed(self):
        made = self.below("made")
        root = self.below("made", "root")
        self.assertFalse(any(os.path.exists(p) for p in made.values()))
        self.run_and_stop(root["memory"])
        for hierarchy, path in root.items():
            self.assertFalse(os.path.exists(path), "%s root left behind" % hierarchy)
            # mkdir -p made its parent too: gone as well; the test's own root stays.
            self.assertFalse(os.path.exists(made[hierarchy]),
                             "%s parent left behind" % hierarchy)
        for private in self.cgroups.roots():
            self.assertTrue(os.path.isdir(private), private)

    def test_a_root_that_existed_is_left_alone(self):
        root = self.below("existing")
        for path in root.values():
            os.mkdir(path)
        self.run_and_stop(root["memory"])
        for hierarchy, path in root.items():
            self.assertTrue(os.path.isdir(path), "%s root removed" % hierarchy)
            self.assertEqual([d for d in os.listdir(path) if d.startswith("program-")], [])

    def test_only_the_pids_mirror_it_made_is_removed(self):
        if not self.cgroups.pids:
            self.skipTest("no pids hierarchy")
        root = self.below("half")
        os.mkdir(root["memory"])
        self.run_and_stop(root["memory"])
        self.assertTrue(os.path.isdir(root["memory"]), "the memory root was removed")
        self.assertFalse(os.path.exists(root["pids"]), "the pids mirror was left behind")


if __name__ == "__main__":
    e2e.main()
