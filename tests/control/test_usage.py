"""climits-ctl's usage errors through the binary: an unknown command, no command, missing
names or signal, an unknown option, an unexpected argument, a bad or missing value — each is
exactly one line "climits-ctl: …" and a hint line to --help, nothing on stdout, exit 2 —
while --help still exits 0 and a request that fails still exits 1."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

COMMANDS = "status, start, stop, restart, reload, version, signal, logs or events"

# argv after `-s SOCKET` → (the one line, the subcommand the hint names or None).
CASES = [
    (["frobnicate"], 'unknown command "frobnicate" (use %s)' % COMMANDS, None),
    (["frobnicate", "web"], 'unknown command "frobnicate" (use %s)' % COMMANDS, None),
    ([], "no command given (use %s)" % COMMANDS, None),
    (["stop"], "stop needs program names, or all", "stop"),
    (["start", "--timeout", "5"], "start needs program names, or all", "start"),
    (["signal"], "signal needs a signal, by name (HUP, SIGUSR1, …) or number", "signal"),
    (["signal", "HUP"], "signal needs program names, or all", "signal"),
    (["signal", "BOGUS", "web"], 'signal: unknown signal "BOGUS" (use a name such as HUP, '
                                 'USR1 or SIGTERM, or a number from 1 to 64)', "signal"),
    (["signal", "", "web"], 'signal: unknown signal "" (use a name such as HUP, USR1 or '
                            'SIGTERM, or a number from 1 to 64)', "signal"),
    (["status", "--frob"], "status: unknown option --frob", "status"),
    (["--frob", "status"], "unknown option --frob", None),
    (["--frob=1", "status"], "unknown option --frob", None),
    (["--frob"], "unknown option --frob", None),
    (["reload", "web"], 'reload: unexpected argument "web"', "reload"),
    (["version", "a", "b"], 'version: unexpected argument "a"', "version"),
    (["stop", "--timeout", "abc", "web"], 'stop: invalid value "abc" for --timeout', "stop"),
    (["stop", "web", "--timeout"], "stop: --timeout needs a value", "stop"),
]


class UsageTest(harness.ControlTest):

    def test_every_usage_error_is_one_line_and_a_hint(self):
        for args, message, sub in CASES:
            with self.subTest(args=args):
                result = self.ctl(*args)
                self.assertEqual(result.returncode, 2, result)
                self.assertEqual(result.stdout, "")
                hint = "climits-ctl: try 'climits-ctl %s--help'" % (sub + " " if sub else "")
                self.assertEqual(result.stderr.splitlines(), ["climits-ctl: " + message, hint])
                self.assertTrue(result.stderr.endswith("\n"))

    def test_help_and_failed_requests(self):
        for args in (["--help"], ["signal", "--help"], ["status", "--help"]):
            result = self.ctl(*args)
            self.assertEqual(result.returncode, 0, result)
            self.assertEqual(result.stderr, "")
            self.assertIn("--socket" if args == ["--help"] else "--help", result.stdout)
        self.assertIn("signal", self.ctl("--help").stdout)
        self.assertIn("--all-processes", self.ctl("signal", "--help").stdout)
        # No manager on the socket: a failed request, not a usage error.
        for args in (["stop", "web"], ["signal", "HUP", "web"], ["status", "web"]):
            result = self.ctl(*args)
            self.assertEqual(result.returncode, 1, result)
            self.assertEqual(result.stderr.count("\n"), 1, result.stderr)
            self.assertTrue(result.stderr.startswith("climits-ctl: the manager is not running"),
                            result.stderr)


if __name__ == "__main__":
    harness.main()
