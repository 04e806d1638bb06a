"""Bash completion for climits-ctl and climits-manager (packaging/bash-completion/), run in a
real bash with the completion sourced: COMP_WORDS and COMP_CWORD set as bash sets them, the
function called, COMPREPLY read. Subcommands (logs and events included), their options,
signal names, program names from a running manager on the socket given with -s, --socket or
--socket=, nothing (and no noise) without a manager; climits-manager's options and log
levels; and `cmake --install` puts both where bash-completion looks for them."""

import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

SOURCE = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                      "packaging", "bash-completion"))


def shell_words(words):
    return " ".join("'" + w.replace("'", "'\\''") + "'" for w in words)


class CompletionTest(harness.ControlTest):

    def complete(self, command, words, function):
        """COMPREPLY for the line `words` (the last one being completed), as a sorted list."""
        script = ("source %s\n"
                  "COMP_WORDS=(%s)\n"
                  "COMP_CWORD=%d\n"
                  "%s\n"
                  "printf '%%s\\n' \"${COMPREPLY[@]}\"\n"
                  % (shell_words([os.path.join(SOURCE, command)]), shell_words(words),
                     len(words) - 1, function))
        # The completion gives a stuck manager 2 s; a loaded test machine may need longer.
        env = dict(os.environ, CLIMITS_CTL_COMPLETION_TIMEOUT="120")
        result = subprocess.run(["bash", "--norc", "--noprofile", "-c", script],
                                capture_output=True, text=True, timeout=300, env=env)
        self.assertEqual(result.returncode, 0, result)
        self.assertEqual(result.stderr, "", "the completion printed on stderr")
        return sorted(line for line in result.stdout.splitlines() if line)

    def ctl_words(self, *words):
        return self.complete("climits-ctl", [harness.CTL, *words], "_climits_ctl")

    def test_climits_ctl(self):
        config = self.write_config({
            "web": {"command": ["sleep", "1000"], "start": {"settle": "100ms"}},
            "worker": {"command": ["sleep", "1000"], "start": {"settle": "100ms"}},
            "db": {"command": ["sleep", "1000"], "autostart": False},
        })
        self.daemon(config)
        commands = ["events", "logs", "reload", "restart", "signal", "start", "status", "stop",
                    "version"]
        self.assertEqual(self.ctl_words(""), commands)
        self.assertEqual(self.ctl_words("st"), ["start", "status", "stop"])
        self.assertEqual(self.ctl_words("-s", self.socket, "s"),
                         ["signal", "start", "status", "stop"])
        self.assertEqual(self.ctl_words("--"), ["--help", "--socket", "--version"])
        # Program names from the manager on the socket given, and `all`.
        names = ["all", "db", "web", "worker"]
        self.assertEqual(self.ctl_words("-s", self.socket, "stop", ""), names)
        self.assertEqual(self.ctl_words("--socket", self.socket, "restart", "w"), ["web", "worker"])
        self.assertEqual(self.ctl_words("--socket", "=", self.socket, "status", "web", "w"),
                         ["web", "worker"])
        self.assertEqual(self.ctl_words("-s", self.socket, "logs", "-n", "20", "d"), ["db"])
        self.assertEqual(self.ctl_words("-s", self.socket, "signal", "HUP", ""), names)
        self.assertEqual(self.ctl_words("-s", self.socket, "signal", "--all-processes", "TERM",
                                        "db"), ["db"])
        # No names where a command takes none, and none from a socket nobody listens on.
        self.assertEqual(self.ctl_words("-s", self.socket, "reload", ""), [])
        self.assertEqual(self.ctl_words("-s", os.path.join(self.dir, "nothing.sock"), "stop",
                                        ""), ["all"])
        # Signals: in the form begun.
        self.assertIn("HUP", self.ctl_words("signal", ""))
        self.assertIn("STOP", self.ctl_words("signal", ""))
        self.assertEqual(self.ctl_words("signal", "US"), ["USR1", "USR2"])
        self.assertEqual(self.ctl_words("signal", "SIGUS"), ["SIGUSR1", "SIGUSR2"])
        self.assertEqual(self.ctl_words("signal", "sigte"), ["sigterm"])
        # Options of each command.
        self.assertEqual(self.ctl_words("signal", "-"), ["--all-processes", "--help"])
        self.assertEqual(self.ctl_words("logs", "-"), ["--follow", "--help", "--lines", "--stderr",
                                                       "--stdout", "-f", "-n"])
        self.assertEqual(self.ctl_words("events", "--"), ["--help", "--json"])
        self.assertEqual(self.ctl_words("status", "--j"), ["--json"])
        self.assertEqual(self.ctl_words("stop", "--t"), ["--timeout"])
        self.assertEqual(self.ctl_words("stop", "--timeout", ""), [])
        # The socket's value is a file name.
        open(os.path.join(self.dir, "other.sock"), "w").close()
        self.assertEqual(self.ctl_words("-s", os.path.join(self.dir, "oth")),
                         [os.path.join(self.dir, "other.sock")])

    def test_climits_manager(self):
        def words(*line):
            return self.complete("climits-manager", ["climits-manager", *line],
                                 "_climits_manager")
        self.assertEqual(words("--"), ["--check", "--config", "--help", "--log-level",
                                       "--version"])
        self.assertEqual(words("--log-level", ""), ["debug", "error", "info", "trace", "warn"])
        self.assertEqual(words("--log-level", "w"), ["warn"])
        path = os.path.join(self.dir, "programs.yaml")
        open(path, "w").close()
        self.assertEqual(words("-c", os.path.join(self.dir, "prog")), [path])
        self.assertEqual(words("--config", "=", os.path.join(self.dir, "prog")), [path])

    def test_registered_and_installed(self):
        for command, function in (("climits-ctl", "_climits_ctl"),
                                  ("climits-manager", "_climits_manager")):
            result = subprocess.run(
                ["bash", "--norc", "-c", "source '%s' && complete -p %s"
                 % (os.path.join(SOURCE, command), command)],
                capture_output=True, text=True, timeout=60)
            self.assertEqual(result.stdout.strip(), "complete -F %s %s" % (function, command))
        # cmake --install of the build tree climits-ctl is in, into a staging directory
        # (DESTDIR): some destinations are absolute (the systemd unit's, /etc), and a
        # --prefix alone would install those into this machine itself (where a stray unit in
        # /usr/local/lib/systemd/system shadowed the package's in the systemd VM).
        build = os.path.dirname(harness.CTL)
        with tempfile.TemporaryDirectory() as stage:
            env = dict(os.environ, DESTDIR=stage)
            result = subprocess.run(["cmake", "--install", build, "--prefix", "/usr"],
                                    capture_output=True, text=True, timeout=300, env=env)
            self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
            self.assertNotIn(" /usr/local", result.stdout + result.stderr)
            for command in ("climits-ctl", "climits-manager"):
                installed = os.path.join(stage, "usr", "share", "bash-completion",
                                         "completions", command)
                with open(installed) as a, open(os.path.join(SOURCE, command)) as b:
                    self.assertEqual(a.read(), b.read())


if __name__ == "__main__":
    harness.main()
