"""A program's `user:` on the real daemon (docs/configuration.md):

- it gets HOME, USER, LOGNAME and SHELL from that user's passwd entry, as systemd sets them,
  unless its `environment` sets them; a program without `user:` keeps the manager's own;
- a user that does not exist is refused at a reload, located, and the running configuration
  stays (at start and by --check: test_config_errors.py).
"""

import os
import pwd
import re
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2e  # noqa: E402

LOGIN_VARIABLES = ("HOME", "USER", "LOGNAME", "SHELL")


class AccountTest(e2e.DaemonTest):

    def env_printer(self, name, **extra):
        """A program that prints its environment to its stdout file, then a marker, then
        sleeps; `/` as its directory, which any user may enter."""
        end = e2e.unique_marker()
        program = {"command": ["sh", "-c", "env; echo %s; exec sleep 1000" % end],
                   "directory": "/", "start": {"settle": "50ms"},
                   "stdout": {"file": os.path.join(self.dir, name + ".env")}}
        program.update(extra)
        return program, end

    def environment_of(self, name, end):
        path = os.path.join(self.dir, name + ".env")

        def complete():
            try:
                text = open(path).read()
            except FileNotFoundError:
                return None
            return text if end + "\n" in text else None

        text = e2e.wait_until(complete, 20, "%s's environment in %s" % (name, path))
        variables = {}
        for line in text.splitlines():
            key, sep, value = line.partition("=")
            if sep:
                variables[key] = value
        return variables

    def test_login_variables_come_from_the_users_passwd_entry(self):
        nobody = pwd.getpwnam("nobody")  # what `getent passwd nobody` says
        programs, ends = {}, {}
        programs["as_nobody"], ends["as_nobody"] = self.env_printer("as_nobody", user="nobody")
        programs["own_home"], ends["own_home"] = self.env_printer(
            "own_home", user="nobody", environment={"HOME": "/srv/elsewhere"})
        programs["as_manager"], ends["as_manager"] = self.env_printer("as_manager")
        daemon = self.daemon(self.write_config(programs))
        self.wait_running(daemon, programs)

        seen = self.environment_of("as_nobody", ends["as_nobody"])
        self.assertEqual({k: seen.get(k) for k in LOGIN_VARIABLES},
                         {"HOME": nobody.pw_dir, "USER": "nobody", "LOGNAME": "nobody",
                          "SHELL": nobody.pw_shell})

        seen = self.environment_of("own_home", ends["own_home"])
        self.assertEqual({k: seen.get(k) for k in LOGIN_VARIABLES},
                         {"HOME": "/srv/elsewhere", "USER": "nobody", "LOGNAME": "nobody",
                          "SHELL": nobody.pw_shell})

        # Without user: the manager's own environment, as before (the manager inherited ours).
        seen = self.environment_of("as_manager", ends["as_manager"])
        self.assertEqual({k: seen.get(k) for k in LOGIN_VARIABLES},
                         {k: os.environ.get(k) for k in LOGIN_VARIABLES})
        self.assertEqual(daemon.stop()[0], 0)

    def test_a_reload_naming_an_unknown_user_keeps_the_running_configuration(self):
        marker = e2e.unique_marker()
        program = {"command": ["sleep", marker], "start": {"settle": "50ms"},
                   "stdout": {"file": "null"}}
        config = self.write_config({"web": program})
        daemon = self.daemon(config)
        [pid] = self.wait_running(daemon, ["web"])["web"]

        self.write_config({"web": dict(program, user="no_such_user_xyz"),
                           "extra": dict(program)})
        daemon.send(signal.SIGHUP)
        daemon.wait_for(r"reload: configuration not valid \(1 error\); the running "
                        r"configuration stays")
        [error] = daemon.wait_for(r"programs\.web\.user: ")
        self.assertRegex(e2e.line_message(error),
                         r'^%s:\d+:\d+: programs\.web\.user: user "no_such_user_xyz" does not '
                         r'exist \(create it with `useradd --system no_such_user_xyz`, or name '
                         r'an existing user\)$' % re.escape(config))
        # The same through climits-ctl: the request fails and says why.
        reply = self.ctl("reload")
        self.assertEqual(reply.returncode, 1, reply.stdout + reply.stderr)
        self.assertIn('user "no_such_user_xyz" does not exist', reply.stdout + reply.stderr)

        # Nothing changed: the same process, no new program, no restart.
        self.assertEqual(self.cgroups.live_procs("web"), [pid])
        self.assertFalse(os.path.exists(self.cgroups.program("extra")))
        self.assertEqual(len(daemon.find(r"^web: ")), 2, daemon.tail())  # -> starting, -> running
        self.assertEqual(daemon.stop()[0], 0)


if __name__ == "__main__":
    e2e.main()
