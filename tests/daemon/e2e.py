"""Shared harness for the daemon's black-box end-to-end tests.

Every test file is run as
    /usr/bin/python3 tests/daemon/<file>.py PATH/TO/climits-manager PATH/TO/leaky
and uses only the standard library. The harness gives each test:

- a fresh temporary directory with its own YAML config, control socket path and log_dir;
- a private cgroup root under the test process's own memory cgroup
  (<memory mount><own path>/climits-e2e-<pid>-<n>, and the same relative place under the pids
  mount, which is where the manager puts its pids cgroups for an explicit root), removed at
  teardown together with everything left in it, even when the test fails;
- a Daemon object that runs the manager in the foreground, collects its log (stderr) and
  waits for log lines with generous timeouts.

Observation is through the log, /proc and the cgroup filesystem (there is no control socket
yet). Timeouts are generous because the suite runs on loaded 2-core machines; the assertions
themselves are strict. No assertion bounds how fast the manager is (that is bench/'s): a test
waits for the condition it needs, a timeout only guards against a hang, and a delay the
product promises (a backoff, a stop timeout) is checked from below (never earlier), with at
most an upper bound seconds wide that only a timer gone wrong can reach.
"""

import datetime
import errno
import itertools
import json
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

MANAGER = None  # path of climits-manager (argv[1])
LEAKY = None  # path of the demo's leaking program (argv[2])

MEMORY_MOUNT = "/sys/fs/cgroup/memory"
PIDS_MOUNT = "/sys/fs/cgroup/pids"

_counter = itertools.count(1)


def manager_is_sanitized(binary=None):
    """Whether MANAGER was built with AddressSanitizer (-DCLIMITS_SANITIZE=ON). ASan reserves
    terabytes of address space for its shadow memory and keeps freed blocks in quarantine, so
    RLIMIT_AS caps and RSS bounds meant for the normal build do not apply to it."""
    with open(binary or MANAGER, "rb") as f:
        return b"__asan_init" in f.read()


# ---------------------------------------------------------------------------------------------
# /proc helpers


def own_cgroup(controller):
    """This process's path in the v1 hierarchy that holds `controller`."""
    with open("/proc/self/cgroup") as f:
        for line in f:
            parts = line.rstrip("\n").split(":", 2)
            if len(parts) == 3 and controller in parts[1].split(","):
                return parts[2]
    raise RuntimeError("no %s line in /proc/self/cgroup" % controller)


def proc_stat(pid):
    """(state, starttime) of a pid, or None when it does not exist."""
    rest = proc_stat_fields(pid)
    if rest is None:
        return None
    return rest[0], int(rest[19])  # field 3 (state) and field 22 (starttime)


def identity(pid):
    """A (pid, starttime) pair that survives pid reuse, or None when the pid is gone."""
    stat = proc_stat(pid)
    if stat is None or stat[0] in "ZX":
        return None
    return (pid, stat[1])


def alive(ident):
    """Whether the process named by identity() still runs (zombies count as dead: PID 1
    on this kind of host does not always reap orphans)."""
    if ident is None:
        return False
    stat = proc_stat(ident[0])
    return stat is not None and stat[0] not in "ZX" and stat[1] == ident[1]


def ppid(pid):
    stat = proc_stat_fields(pid)
    return int(stat[1]) if stat else None


def proc_stat_fields(pid):
    """Fields 3.. of /proc/PID/stat (state first), or None."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            text = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return text[text.rindex(")") + 2:].split()


def cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            data = f.read()
    except OSError:
        return None
    return [part.decode(errors="replace") for part in data.split(b"\0")[:-1]]


def pids_with_cmdline(argv):
    """Live (non-zombie) processes anywhere on the system whose argv is exactly `argv`."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        pid = int(entry)
        if cmdline(pid) == list(argv) and identity(pid) is not None:
            found.append(pid)
    return sorted(found)


def fd_count(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def unique_marker():
    """A number to put in a `sleep N` command line that no other test or run uses."""
    return "9%d%03d" % (os.getpid(), next(_counter) % 1000)


def cpu_seconds(pid):
    """utime + stime of a process (all its threads), in seconds."""
    fields = proc_stat_fields(pid)
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class SpinMeter:
    """Whether a process busy-loops over an interval. `share()` is the CPU time it used since
    the meter started, as a share of one core over that interval; a test asserts it stays
    below 0.9, a bound so loose that only a true busy loop reaches it (how much CPU the
    manager uses is bench/'s). On a busy machine a spinning process may get less than that
    and pass: the bound can miss a spin there, it cannot fail a process that waits."""

    def __init__(self, pid):
        self.pid = pid
        self.began = time.monotonic()
        self.start = cpu_seconds(pid)

    def share(self):
        used = cpu_seconds(self.pid) - self.start
        return used / (time.monotonic() - self.began)


# ---------------------------------------------------------------------------------------------
# cgroups


def read_pids(procs_file):
    try:
        with open(procs_file) as f:
            return [int(x) for x in f.read().split()]
    except FileNotFoundError:
        return []


def live_pids(procs_file):
    return [p for p in read_pids(procs_file) if identity(p) is not None]


def read_keyed(path, key):
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) == 2 and parts[0] == key:
                return int(parts[1])
    raise KeyError("%s has no %s" % (path, key))


def remove_cgroup_tree(path):
    """Kill everything in a cgroup directory and its children and remove them all."""
    if not os.path.isdir(path):
        return
    for entry in os.scandir(path):
        if entry.is_dir(follow_symlinks=False):
            remove_cgroup_tree(entry.path)
    deadline = time.monotonic() + 10
    while True:
        pids = read_pids(os.path.join(path, "cgroup.procs"))
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            os.rmdir(path)
            return
        except FileNotFoundError:
            return
        except OSError as e:
            if e.errno != errno.EBUSY or time.monotonic() > deadline:
                sys.stderr.write("e2e teardown: cannot remove %s: %s\n" % (path, e))
                return
        time.sleep(0.02)


class Cgroups:
    """A private cgroup root for one test (memory, and the same place under pids)."""

    def __init__(self, prefix="climits-e2e"):
        # Below our own cgroup, never beside it: nothing a test does can reach the host's or
        # another test's cgroups.
        relative = own_cgroup("memory").rstrip("/")
        name = "%s-%d-%d" % (prefix, os.getpid(), next(_counter))
        self.memory = "%s%s/%s" % (MEMORY_MOUNT, relative, name)
        self.pids = "%s%s/%s" % (PIDS_MOUNT, relative, name) if os.path.isdir(PIDS_MOUNT) else None

    def roots(self):
        return [r for r in (self.memory, self.pids) if r]

    def program(self, name, hierarchy="memory"):
        root = self.memory if hierarchy == "memory" else self.pids
        return "%s/program-%s" % (root, name)

    def procs(self, name, hierarchy="memory"):
        return read_pids(self.program(name, hierarchy) + "/cgroup.procs")

    def live_procs(self, name, hierarchy="memory"):
        return live_pids(self.program(name, hierarchy) + "/cgroup.procs")

    def program_dirs(self):
        """Every program-* directory left under either root."""
        left = []
        for root in self.roots():
            if os.path.isdir(root):
                left += [os.path.join(root, d) for d in os.listdir(root)
                         if d.startswith("program-") and os.path.isdir(os.path.join(root, d))]
        return sorted(left)

    def cleanup(self):
        for root in self.roots():
            remove_cgroup_tree(root)


# ---------------------------------------------------------------------------------------------
# the daemon

LINE_RE = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}) (\w+)\s+(.*)$")
TRANSITION_RE = re.compile(r"^(\S+): (\w+) -> (\w+) \((.*)\)$")


def line_time(line):
    """The timestamp of a log line, in seconds (float)."""
    m = LINE_RE.match(line)
    if not m:
        raise ValueError("not a log line: %r" % line)
    return datetime.datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S.%f").timestamp()


def line_message(line):
    m = LINE_RE.match(line)
    return m.group(3) if m else line


def transition(line):
    """(name, from, to, cause) of a transition line, or None."""
    m = TRANSITION_RE.match(line_message(line))
    return m.groups() if m else None


def parse_duration(text):
    """A duration as the manager prints it (e.g. 100ms, 1.5s, 1m, 0ms) in milliseconds."""
    total = 0.0
    for number, unit in re.findall(r"([0-9.]+)(ms|s|m|h)", text):
        total += float(number) * {"ms": 1, "s": 1000, "m": 60000, "h": 3600000}[unit]
    return total


class DaemonExited(AssertionError):
    pass


class Daemon:
    """One run of climits-manager on a config file; the log is its stderr."""

    def __init__(self, workdir, config_path, tag="manager"):
        self.workdir = workdir
        self.config_path = config_path
        self.log_path = os.path.join(workdir, tag + ".log")
        self.proc = None
        self.lines = []
        self._buffer = b""
        self._offset = 0
        self.started_at = None

    def start(self, extra_args=(), address_space=None):
        """Run the manager. `address_space` (bytes) caps RLIMIT_AS for it and its programs:
        a safety net for tests whose programs leak memory, should a program ever run outside
        its limited cgroup (it then fails to allocate instead of eating the host's memory)."""
        if address_space and manager_is_sanitized():
            address_space = None  # ASan could not map its shadow; the cgroup limit still holds
        def limit():
            if address_space:
                resource.setrlimit(resource.RLIMIT_AS, (address_space, address_space))
        log = open(self.log_path, "wb")
        out = open(os.path.join(self.workdir, "manager.stdout"), "ab")
        self.started_at = time.monotonic()
        self.proc = subprocess.Popen([MANAGER, "-c", self.config_path, *extra_args],
                                     stdin=subprocess.DEVNULL, stdout=out, stderr=log,
                                     cwd=self.workdir, start_new_session=True,
                                     preexec_fn=limit if address_space else None)
        log.close()
        out.close()
        return self

    @property
    def pid(self):
        return self.proc.pid

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def poll_log(self):
        """Read what the manager has written since the last call; return the new lines."""
        with open(self.log_path, "rb") as f:
            f.seek(self._offset)
            data = f.read()
        self._offset += len(data)
        data = self._buffer + data
        *complete, self._buffer = data.split(b"\n")
        new = [c.decode(errors="replace") for c in complete]
        self.lines += new
        return new

    def tail(self, n=40):
        self.poll_log()
        return "\n".join(self.lines[-n:] + ([self._buffer.decode(errors="replace")]
                                            if self._buffer else []))

    def find(self, pattern, since=0):
        """Lines (from index `since`) whose message matches the regex `pattern`."""
        self.poll_log()
        rx = re.compile(pattern)
        return [l for l in self.lines[since:] if rx.search(line_message(l))]

    def wait_for(self, pattern, timeout=20.0, count=1, since=0, allow_exit=False):
        """Wait until `count` lines from index `since` match; return those lines."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            self.poll_log()
            found = [l for l in self.lines[since:] if rx.search(line_message(l))]
            if len(found) >= count:
                return found
            if not allow_exit and not self.running():
                self.poll_log()
                found = [l for l in self.lines[since:] if rx.search(line_message(l))]
                if len(found) >= count:
                    return found
                raise DaemonExited("the manager exited (status %s) while waiting for %d x %r; "
                                   "log tail:\n%s" % (self.proc.returncode, count, pattern,
                                                      self.tail()))
            if time.monotonic() > deadline:
                raise AssertionError("timed out after %.0fs waiting for %d x %r (found %d); "
                                     "log tail:\n%s" % (timeout, count, pattern, len(found),
                                                        self.tail()))
            time.sleep(0.02)

    def send(self, sig):
        self.proc.send_signal(sig)

    def wait_exit(self, timeout=30.0):
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError("the manager did not exit within %.0fs; log tail:\n%s"
                                 % (timeout, self.tail()))
        finally:
            self.poll_log()

    def stop(self, sig=signal.SIGTERM, timeout=30.0):
        """Signal the manager and wait for it; return (exit status, seconds taken)."""
        began = time.monotonic()
        self.send(sig)
        status = self.wait_exit(timeout)
        return status, time.monotonic() - began

    def kill(self):
        if self.running():
            self.proc.kill()
            self.proc.wait()


def wait_until(predicate, timeout, what, interval=0.02):
    """Poll `predicate` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %.0fs waiting for %s"
                                 % (timeout, what() if callable(what) else what))
        time.sleep(interval)


class DaemonTest(unittest.TestCase):
    """Base class: a temp dir, a private cgroup root, and daemons that are always cleaned up."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="climits-e2e-")
        self.cgroups = Cgroups()
        self.daemons = []
        self.addCleanup(self._cleanup)

    def _cleanup(self):
        for d in self.daemons:
            d.kill()
        self.cgroups.cleanup()
        if os.environ.get("CLIMITS_E2E_KEEP"):
            sys.stderr.write("kept %s\n" % self.dir)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)

    def ctl(self, *args, timeout=30):
        """climits-ctl (beside the manager binary) on this test's control socket."""
        ctl = os.path.join(os.path.dirname(MANAGER), "climits-ctl")
        return subprocess.run([ctl, "-s", os.path.join(self.dir, "control.sock"), *args],
                              capture_output=True, text=True, timeout=timeout)

    def manager_section(self, **extra):
        section = {
            "cgroup_root": self.cgroups.memory,
            "control_socket": os.path.join(self.dir, "control.sock"),
            "log_dir": os.path.join(self.dir, "logs"),
            "log_level": "info",
        }
        section.update(extra)
        return section

    def write_config(self, programs, name="programs.yaml", defaults=None, **manager):
        """Write a config (JSON is YAML) and return its path."""
        config = {"version": 1, "manager": self.manager_section(**manager), "programs": programs}
        if defaults is not None:
            config["defaults"] = defaults
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            json.dump(config, f, indent=1)
        return path

    def write_text(self, name, text, mode=None):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(text)
        if mode is not None:
            os.chmod(path, mode)
        return path

    def daemon(self, config_path, tag="manager", **options):
        d = Daemon(self.dir, config_path, tag=tag)
        self.daemons.append(d)
        return d.start(**options)

    def wait_running(self, daemon, names, timeout=20.0):
        """Wait until every named program logged `-> running` and its process really runs
        the program; return {name: its pids}.

        `running` only means alive for start.settle: on a loaded machine a short settle can
        pass before the helper (climits-exec) has even joined the cgroups and exec'd, so the
        cgroup is also watched until it holds a live process and none of them is the helper
        any more (the helper joins every hierarchy before it execs)."""
        for name in names:
            daemon.wait_for(r"^%s: \w+ -> running " % re.escape(name), timeout=timeout)
        found = {}
        for name in names:
            found[name] = wait_until(lambda: self.started_procs(name), timeout,
                                     "a process of %s in its cgroup" % name)
        return found

    def started_procs(self, name):
        """The live processes in a program's memory cgroup once it has exec'd, else []."""
        procs = self.cgroups.live_procs(name)
        for pid in procs:
            argv = cmdline(pid)
            if not argv or os.path.basename(argv[0]) == "climits-exec":
                return []
        return procs

    def assert_all_gone(self, idents, what="process"):
        still = [i[0] for i in idents if alive(i)]
        self.assertEqual(still, [], "%s(es) still alive" % what)


# ---------------------------------------------------------------------------------------------
# running a file's tests


class _TimedResult(unittest.TextTestResult):
    def startTest(self, test):
        self._began = time.monotonic()
        super().startTest(test)

    def stopTest(self, test):
        super().stopTest(test)
        self.durations = getattr(self, "durations", [])
        self.durations.append((test.id().split(".")[-1], time.monotonic() - self._began))


def main():
    global MANAGER, LEAKY
    if len(sys.argv) < 3:
        sys.stderr.write("usage: %s PATH/TO/climits-manager PATH/TO/leaky [unittest args]\n"
                         % sys.argv[0])
        sys.exit(2)
    MANAGER = os.path.abspath(sys.argv[1])
    LEAKY = os.path.abspath(sys.argv[2])
    # 77: ctest's SKIP_RETURN_CODE for these tests.
    if os.geteuid() != 0:
        print("skipped: these tests need root (they create cgroups); 0 passed, 0 failed")
        sys.exit(77)
    try:
        own_cgroup("memory")
        usable = os.path.isfile(MEMORY_MOUNT + "/cgroup.procs")
    except RuntimeError:
        usable = False
    if not usable:
        print("skipped: these tests need a cgroup v1 memory hierarchy at %s; "
              "0 passed, 0 failed" % MEMORY_MOUNT)
        sys.exit(77)
    run_tests(sys.argv[3:])


def run_tests(names):
    """Runs the named tests of __main__ (all of them without names), prints how long each
    took, and exits: 0 when none failed. Shared with the control suite's harness."""
    module = sys.modules["__main__"]
    loader = unittest.TestLoader()
    suite = loader.loadTestsFromNames(names, module) if names else loader.loadTestsFromModule(module)
    runner = unittest.TextTestRunner(verbosity=2, resultclass=_TimedResult, stream=sys.stdout)
    result = runner.run(suite)
    for name, seconds in getattr(result, "durations", []):
        print("time: %-45s %6.2fs" % (name, seconds))
    failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
    passed = result.testsRun - failed - len(result.skipped)
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(0 if failed == 0 else 1)
