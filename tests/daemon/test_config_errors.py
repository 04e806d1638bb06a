"""A bad configuration: the daemon exits 1, prints every error located as FILE:LINE:COL on
stderr, and creates nothing (no cgroup root, no program cgroup, no log_dir, no process)."""

import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2e  # noqa: E402

# {root} {socket} {logs} are filled in; the expected errors give line:col in this text.
CASES = {
    "two_errors": ("""\
version: 1
manager:
  cgroup_root: {root}
  control_socket: {socket}
  log_dir: {logs}
programs:
  web:
    command: ["sleep", "{marker}"]
    memory:
      max: 60Q
  worker:
    command: ["sleep", "{marker}"]
    restart:
      polcy: always
""", [r'^{file}:10:12: programs\.web\.memory\.max: "60Q" is not a size \(use e\.g\. 512M\)$',
      r'^{file}:14:7: programs\.worker\.restart\.polcy: unknown key \(did you mean "policy"\?\)$']),
    "bad_name_and_group": ("""\
manager:
  cgroup_root: {root}
  control_socket: {socket}
  log_dir: {logs}
  control_group: no_such_group_xyz
programs:
  ok:
    command: ["sleep", "{marker}"]
  "bad name":
    command: ["sleep", "{marker}"]
""", [r'^{file}:5:18: manager\.control_group: group "no_such_group_xyz" does not exist',
      r'^{file}:9:3: programs: "bad name" is not a valid program name']),
    "unknown_user_and_group": ("""\
manager:
  cgroup_root: {root}
  control_socket: {socket}
  log_dir: {logs}
programs:
  db:
    command: ["sleep", "{marker}"]
    user: no_such_user_xyz
  web:
    command: ["sleep", "{marker}"]
    user: nobody
    group: no_such_group_xyz
""", [r'^{file}:8:11: programs\.db\.user: user "no_such_user_xyz" does not exist \(create it '
      r'with `useradd --system no_such_user_xyz`, or name an existing user\)$',
      r'^{file}:12:12: programs\.web\.group: group "no_such_group_xyz" does not exist']),
    "yaml_syntax": ("""\
manager:
  cgroup_root: {root}
  log_dir: {logs}
programs:
  web: {{command: ["sleep", "{marker}"]
""", [r"^{file}:\d+:\d+: \(yaml syntax\): "]),
}


class ConfigErrorTest(e2e.DaemonTest):

    def run_manager(self, *args):
        return subprocess.run([e2e.MANAGER, *args], cwd=self.dir, stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=30)

    def assert_nothing_created(self, logs):
        for root in self.cgroups.roots():
            self.assertFalse(os.path.exists(root), "%s was created" % root)
        self.assertFalse(os.path.exists(logs), "log_dir was created")
        self.assertFalse(os.path.exists(os.path.join(self.dir, "control.sock")))

    def check_case(self, case):
        text, patterns = CASES[case]
        logs = os.path.join(self.dir, "logs")
        marker = e2e.unique_marker()
        path = self.write_text(case + ".yaml", text.format(
            root=self.cgroups.memory, socket=os.path.join(self.dir, "control.sock"), logs=logs,
            marker=marker))
        result = self.run_manager("-c", path)
        print("%s: exit %d\n%s" % (case, result.returncode, result.stderr.rstrip()))
        self.assertEqual(result.returncode, 1, result.stderr)
        errors = result.stderr.splitlines()
        for pattern in patterns:
            rx = pattern.format(file=path.replace(".", r"\."))
            self.assertTrue([l for l in errors if re.search(rx, l)],
                            "no line matching %r in:\n%s" % (rx, result.stderr))
        self.assertRegex(errors[-1], r"is not valid \(%d errors?\); nothing was started$"
                         % len(patterns))
        self.assertEqual(len(errors), len(patterns) + 1, result.stderr)
        self.assertNotIn("starting with", result.stderr)
        self.assertEqual(e2e.pids_with_cmdline(["sleep", marker]), [])
        self.assert_nothing_created(logs)

        # --check reports the same errors, exits 1, and creates nothing either.
        checked = self.run_manager("--check", "-c", path)
        self.assertEqual(checked.returncode, 1, checked.stdout + checked.stderr)
        for line in errors[:-1]:
            self.assertIn(line, checked.stdout + checked.stderr)
        self.assert_nothing_created(logs)

    def test_two_errors_reported_at_once(self):
        self.check_case("two_errors")

    def test_bad_name_and_missing_group(self):
        self.check_case("bad_name_and_group")

    def test_unknown_user_and_group(self):
        self.check_case("unknown_user_and_group")

    def test_yaml_syntax_error(self):
        self.check_case("yaml_syntax")

    def test_missing_file(self):
        path = os.path.join(self.dir, "does-not-exist.yaml")
        result = self.run_manager("-c", path)
        self.assertEqual(result.returncode, 1, result.stderr)
        self.assertIn("%s: cannot read the configuration: No such file or directory" % path,
                      result.stderr)
        self.assertNotIn("starting with", result.stderr)

    def test_valid_config_checks_clean(self):
        """The counterpart: --check on a valid file exits 0 and still creates no cgroup."""
        path = self.write_config({"ok": {"command": ["sleep", e2e.unique_marker()]}})
        result = self.run_manager("--check", "-c", path)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertIn("configuration OK", result.stdout + result.stderr)
        for root in self.cgroups.roots():
            self.assertFalse(os.path.exists(root), "--check created %s" % root)


if __name__ == "__main__":
    e2e.main()
