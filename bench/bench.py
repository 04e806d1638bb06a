#!/usr/bin/python3
"""climits-manager benchmarks against supervisord and the bare floor (see bench/README.md).

Run through bench/run.sh, which builds what is needed and passes:
    bench.py --manager BUILD/climits-manager --floor BIN --oomer BIN --tag TAG [--quick] ...

Everything it creates carries TAG: the temporary folder /tmp/climits-bench-TAG, the cgroups
<own memory cgroup>/climits-bench-TAG (and the same place under the pids hierarchy), and the
`sleep 7TTTTTTTNNNN` argument of every program it starts. `bench.py --cleanup --tag TAG`
removes all of it, whatever state a run died in; run.sh calls it from its EXIT trap.

Only the Python standard library; the chart is drawn by gnuplot when it is installed.
"""

import argparse
import calendar
import datetime
import json
import os
import platform
import re
import select
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import traceback

MEMORY_MOUNT = "/sys/fs/cgroup/memory"
PIDS_MOUNT = "/sys/fs/cgroup/pids"
LIMIT = "64M"
LIMIT_BYTES = 64 << 20
CLK_TCK = os.sysconf("SC_CLK_TCK")


class BenchError(Exception):
    pass


class Interrupted(Exception):
    pass


def log(message):
    print("bench: " + message, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# /proc and cgroup helpers


def own_cgroup(controller):
    with open("/proc/self/cgroup") as f:
        for line in f:
            parts = line.rstrip("\n").split(":", 2)
            if len(parts) == 3 and controller in parts[1].split(","):
                return parts[2]
    return None


def read_text(path):
    try:
        with open(path) as f:
            return f.read()
    except (FileNotFoundError, ProcessLookupError):
        return None


def read_pids(procs_file):
    text = read_text(procs_file)
    return [int(x) for x in text.split()] if text else []


def comm(pid):
    text = read_text("/proc/%d/comm" % pid)
    return text.strip() if text else None


def cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            data = f.read()
    except OSError:
        return None
    return [part.decode(errors="replace") for part in data.split(b"\0")[:-1]]


def proc_stat(pid):
    """Fields 3.. of /proc/PID/stat (state first), or None."""
    text = read_text("/proc/%d/stat" % pid)
    if text is None:
        return None
    return text[text.rindex(")") + 2:].split()


def children_of(parent):
    """{pid: argv} of the live children of `parent` (a scan of /proc)."""
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        stat = proc_stat(int(entry))
        if stat and int(stat[1]) == parent and stat[0] not in "ZX":
            argv = cmdline(int(entry))
            if argv:
                found[int(entry)] = argv
    return found


def smaps_rollup(pid):
    """(RSS, PSS) in bytes."""
    values = {}
    for line in (read_text("/proc/%d/smaps_rollup" % pid) or "").splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0] in ("Rss:", "Pss:"):
            values[parts[0][:-1]] = int(parts[1]) * 1024
    if "Rss" not in values:
        raise BenchError("no smaps_rollup for pid %d" % pid)
    return values["Rss"], values.get("Pss", 0)


def activity(pid):
    """(context switches of all threads, CPU seconds of the process, thread count)."""
    switches = 0
    threads = 0
    for tid in os.listdir("/proc/%d/task" % pid):
        text = read_text("/proc/%d/task/%s/status" % (pid, tid)) or ""
        threads += 1
        for line in text.splitlines():
            if line.startswith(("voluntary_ctxt_switches:", "nonvoluntary_ctxt_switches:")):
                switches += int(line.split()[1])
    stat = proc_stat(pid)
    cpu = (int(stat[11]) + int(stat[12])) / CLK_TCK  # utime + stime (fields 14, 15)
    return switches, cpu, threads


def kill_quietly(pid, sig=signal.SIGKILL):
    try:
        os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def cgroup_tree(directory):
    """Every cgroup below `directory` and itself, deepest first."""
    order = []
    try:
        entries = os.listdir(directory)
    except FileNotFoundError:
        return order
    for entry in entries:
        path = os.path.join(directory, entry)
        if os.path.isdir(path):
            order.extend(cgroup_tree(path))
    order.append(directory)
    return order


def empty_and_remove(directory, patience=10.0):
    """SIGKILL everything in the cgroup tree and rmdir it; returns the leftovers."""
    deadline = time.monotonic() + patience
    tree = cgroup_tree(directory)
    while True:
        remaining = 0
        for cgroup in tree:
            for pid in read_pids(os.path.join(cgroup, "cgroup.procs")):
                remaining += 1
                kill_quietly(pid)
        if remaining == 0 or time.monotonic() > deadline:
            break
        time.sleep(0.01)
    left = []
    for cgroup in tree:
        while True:
            try:
                os.rmdir(cgroup)
                break
            except FileNotFoundError:
                break
            except OSError:
                if time.monotonic() > deadline:
                    left.append(cgroup)
                    break
                time.sleep(0.01)
    return left


# ---------------------------------------------------------------------------------------------
# Logs with timestamps: both daemons stamp their lines (ms) with the wall clock, in UTC here.

MANAGER_LINE = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)\.(\d{3}) (\S+)\s+(.*)$")
SUPERVISOR_LINE = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),(\d{3}) (\S+) (.*)$")


def parse_stamp(pattern, line):
    match = pattern.match(line)
    if not match:
        return None, line
    seconds = calendar.timegm(time.strptime(match.group(1), "%Y-%m-%d %H:%M:%S"))
    return seconds + int(match.group(2)) / 1000.0, match.group(4)


class Follower:
    """Reads a log file as it grows, parsing (timestamp, message) per line."""

    def __init__(self, path, pattern):
        self.path = path
        self.pattern = pattern
        self.file = None
        self.partial = b""
        self.lines = []

    def poll(self):
        if self.file is None:
            try:
                self.file = open(self.path, "rb")
            except FileNotFoundError:
                return []
        data = self.file.read()
        if not data:
            return []
        data = self.partial + data
        parts = data.split(b"\n")
        self.partial = parts.pop()
        new = [parse_stamp(self.pattern, p.decode(errors="replace")) for p in parts]
        self.lines.extend(new)
        return new

    def tail(self, count=15):
        self.poll()
        return "\n".join(message for _, message in self.lines[-count:])

    def close(self):
        if self.file:
            self.file.close()


def wait_until(condition, timeout, what, interval=0.02, process=None, follower=None):
    deadline = time.monotonic() + timeout
    while True:
        if follower is not None:
            follower.poll()
        value = condition()
        if value:
            return value
        if process is not None and process.poll() is not None:
            raise BenchError("%s: the process exited (%s) while waiting%s" % (
                what, process.returncode,
                (":\n" + follower.tail()) if follower else ""))
        if time.monotonic() > deadline:
            raise BenchError("timed out after %.0fs waiting for %s%s" % (
                timeout, what, (":\n" + follower.tail()) if follower else ""))
        time.sleep(interval)


def percentile(values, fraction):
    ordered = sorted(values)
    if not ordered:
        return None
    index = min(len(ordered) - 1, max(0, int(round(fraction * (len(ordered) - 1)))))
    return ordered[index]


# ---------------------------------------------------------------------------------------------
# The bench's own resources


class Resources:
    def __init__(self, tag):
        self.tag = tag
        self.tmp = "/tmp/climits-bench-%s" % tag
        own = own_cgroup("memory")
        if own is None:
            raise BenchError("no memory line in /proc/self/cgroup: this bench needs cgroup v1 "
                             "(memory hierarchy) as on this project's machines")
        self.own = own.rstrip("/")
        self.memory_root = MEMORY_MOUNT + self.own + "/climits-bench-%s" % tag
        self.pids_root = PIDS_MOUNT + self.own + "/climits-bench-%s" % tag
        # `sleep 7TTTTTTTNNNN`: a per-run marker, so that cleanup finds every sleeper.
        self.marker = "7%07d" % (int(tag) % 10000000)
        self.processes = []  # Popen objects of daemons we started
        self.created_pids_ancestors = []

    def sleep_arg(self, index, variant=""):
        return "%s%04d%s" % (self.marker, index, variant)

    def setup(self):
        os.makedirs(self.tmp, exist_ok=True)
        # The manager mirrors an explicit memory root into the pids hierarchy, creating missing
        # ancestors there: note which did not exist, to remove them again.
        path = PIDS_MOUNT
        for part in self.own.strip("/").split("/"):
            if not part:
                continue
            path = os.path.join(path, part)
            if not os.path.isdir(path):
                self.created_pids_ancestors.append(path)
        os.makedirs(self.memory_root, exist_ok=True)

    def track(self, process):
        self.processes.append(process)
        return process

    def cleanup(self):
        left = []
        for process in self.processes:
            if process.poll() is None:
                kill_quietly(process.pid)
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    left.append("pid %d did not die" % process.pid)
        # Orphans of a run that died: daemons whose command line names our folder, and every
        # program carrying the marker.
        for entry in os.listdir("/proc"):
            if not entry.isdigit() or int(entry) == os.getpid():
                continue
            argv = cmdline(int(entry))
            if not argv:
                continue
            if any(self.tmp in arg or ("climits-bench-%s" % self.tag) in arg for arg in argv) \
                    and "--cleanup" not in argv:
                kill_quietly(int(entry))
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            argv = cmdline(int(entry))
            if argv and len(argv) >= 2 and argv[1].startswith(self.marker) and \
                    len(argv[1]) in (len(self.marker) + 4, len(self.marker) + 5):
                kill_quietly(int(entry))
        for root in (self.memory_root, self.pids_root):
            left.extend(empty_and_remove(root))
        for path in reversed(self.created_pids_ancestors):
            try:
                os.rmdir(path)
            except OSError:
                pass  # in use by someone else meanwhile: theirs now
        shutil.rmtree(self.tmp, ignore_errors=True)
        return left


# ---------------------------------------------------------------------------------------------
# The three contestants


def yaml_scalar(value):
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    text = str(value)
    # Plain where YAML reads it back as the same string, JSON-quoted (valid YAML) otherwise.
    if re.fullmatch(r"[A-Za-z_/][A-Za-z0-9_./-]*", text) and text not in ("null", "true",
                                                                          "false", "yes", "no"):
        return text
    return json.dumps(text)


def to_yaml(value, indent=0):
    """The block-style YAML an operator would write (flow style for lists and small maps)."""
    pad = "  " * indent
    lines = []
    for key, item in value.items():
        if isinstance(item, dict) and item and any(isinstance(v, (dict, list))
                                                   for v in item.values()):
            lines.append("%s%s:" % (pad, key))
            lines.append(to_yaml(item, indent + 1))
        elif isinstance(item, dict) and len(item) > 3:
            lines.append("%s%s:" % (pad, key))
            lines.append(to_yaml(item, indent + 1))
        elif isinstance(item, dict):
            lines.append("%s%s: {%s}" % (pad, key, ", ".join(
                "%s: %s" % (k, yaml_scalar(v)) for k, v in item.items())))
        elif isinstance(item, list):
            lines.append("%s%s: [%s]" % (pad, key, ", ".join(yaml_scalar(v) for v in item)))
        else:
            lines.append("%s%s: %s" % (pad, key, yaml_scalar(item)))
    return "\n".join(lines) + ("\n" if indent == 0 else "")


def clean_env():
    env = {k: v for k, v in os.environ.items()
           if k not in ("JOURNAL_STREAM", "NOTIFY_SOCKET", "LISTEN_PID", "LISTEN_FDS")}
    env["TZ"] = "UTC"
    return env


class ClimitsManager:
    label = "climits-manager"

    def __init__(self, res, binary, name, count, extra_programs=None):
        self.res = res
        self.binary = binary
        self.dir = os.path.join(res.tmp, name)
        os.makedirs(self.dir, exist_ok=True)
        self.config = os.path.join(self.dir, "programs.yaml")
        self.log_path = os.path.join(self.dir, "manager.log")
        self.root = os.path.join(res.memory_root, name)
        self.names = ["p%04d" % i for i in range(count)]
        self.commands = {n: ["sleep", res.sleep_arg(i)] for i, n in enumerate(self.names)}
        self.extra = extra_programs or {}
        self.process = None
        self.follower = Follower(self.log_path, MANAGER_LINE)
        self.launched = None

    def write_config(self):
        programs = {name: {"command": command} for name, command in self.commands.items()}
        programs.update(self.extra)
        config = {
            "version": 1,
            "manager": {"cgroup_root": self.root,
                        "control_socket": os.path.join(self.dir, "control.sock"),
                        "log_dir": os.path.join(self.dir, "logs"),
                        "log_level": "info"},
            "defaults": {
                "memory": {"max": LIMIT},
                "stdout": {"file": None}, "stderr": {"file": None},
                "start": {"settle": "0"},
                "restart": {"policy": "always",
                            "backoff": {"initial": "0", "max": "0", "jitter": 0},
                            "limit": {"burst": 10000, "interval": "1s"}},
                "stop": {"signal": "TERM", "timeout": "10s"},
            },
            "programs": programs,
        }
        # Written and renamed, so that a reload never reads half a file.
        scratch = self.config + ".new"
        with open(scratch, "w") as f:
            f.write(to_yaml(config))
        os.rename(scratch, self.config)

    def launch(self):
        self.write_config()
        self.log_file = open(self.log_path, "wb")
        self.launched = time.time()
        self.process = self.res.track(subprocess.Popen(
            [self.binary, "-c", self.config], stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=self.log_file, env=clean_env()))
        return self.launched

    def procs(self, name):
        return read_pids(os.path.join(self.root, "program-" + name, "cgroup.procs"))

    def wait_all_running(self, timeout):
        """Seconds from launch until every program is `running` (last log line), checked
        against the cgroups: each holds one process that has exec'd sleep."""
        running = {}
        pattern = re.compile(r"^(p\d{4}): starting -> running ")

        def done():
            for stamp, message in self.follower.lines[done.seen:]:
                match = pattern.match(message)
                if match:
                    running[match.group(1)] = stamp
            done.seen = len(self.follower.lines)
            return len(running) >= len(self.names)
        done.seen = 0
        wait_until(done, timeout, "%d programs running" % len(self.names),
                   process=self.process, follower=self.follower)
        last = max(running.values())
        first_check = True
        while True:
            bad = [n for n in self.names
                   if [comm(p) for p in self.procs(n)] != ["sleep"]]
            if not bad:
                break
            first_check = False
            if time.time() - self.launched > timeout:
                raise BenchError("programs not running sleep in their cgroups: %s" % bad[:5])
            time.sleep(0.002)
        if not first_check:  # seen late: the observation time bounds it
            last = max(last, time.time())
        return last - self.launched

    def pid_map(self):
        return {name: tuple(self.procs(name)) for name in self.names}

    def wait_log(self, regex, after, timeout):
        pattern = re.compile(regex)

        def found():
            for stamp, message in self.follower.lines:
                if stamp is not None and stamp >= after - 0.001 and pattern.search(message):
                    return (stamp, message)
            return None
        return wait_until(found, timeout, regex, interval=0.002, process=self.process,
                          follower=self.follower)

    def reload_one(self, index, timeout):
        """Changes program `index`'s command, SIGHUP: (seconds to the reload line, seconds to the
        new pid in its cgroup, pids changed among all programs)."""
        name = self.names[index]
        before = self.pid_map()
        self.commands[name] = ["sleep", self.res.sleep_arg(index, "9")]
        self.write_config()
        old = set(before[name])
        self.follower.poll()
        seen_lines = len(self.follower.lines)
        t0 = time.time()
        os.kill(self.process.pid, signal.SIGHUP)
        # Both events are polled every 0.2 ms; the reload line's own ms stamp narrows it down.
        new_pid_at = line_seen_at = None
        stamp = message = None
        deadline = time.monotonic() + timeout
        while new_pid_at is None or line_seen_at is None:
            now = time.time()
            if new_pid_at is None and any(p not in old for p in self.procs(name)):
                new_pid_at = now
            if line_seen_at is None:
                self.follower.poll()
                for line_stamp, line in self.follower.lines[seen_lines:]:
                    if line.startswith("reload: "):
                        line_seen_at, stamp, message = now, line_stamp, line
                        break
                seen_lines = len(self.follower.lines)
            if time.monotonic() > deadline:
                raise BenchError("reload of %s not seen (new pid: %s, reload line: %s):\n%s" % (
                    name, new_pid_at, line_seen_at, self.follower.tail()))
            time.sleep(0.0002)
        applied = min(line_seen_at, stamp + 0.001) if stamp is not None else line_seen_at
        time.sleep(0.2)
        after = self.pid_map()
        changed = sum(1 for n in self.names if before[n] != after[n])
        return applied - t0, new_pid_at - t0, changed, message

    def shutdown(self, timeout):
        t0 = time.time()
        os.kill(self.process.pid, signal.SIGTERM)
        try:
            code = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise BenchError("climits-manager did not exit %ds after SIGTERM" % timeout)
        seconds = time.time() - t0
        self.log_file.close()
        if code != 0:
            raise BenchError("climits-manager exited %d after SIGTERM:\n%s" %
                             (code, self.follower.tail()))
        left = [d for d in cgroup_tree(self.root) if d != self.root]
        if left:
            raise BenchError("cgroups left after shutdown: %s" % left[:3])
        return seconds

    def close(self):
        self.follower.close()
        empty_and_remove(self.root)
        empty_and_remove(self.root.replace(MEMORY_MOUNT, PIDS_MOUNT, 1))


class Supervisord:
    label = "supervisord"

    def __init__(self, res, name, count, extra_programs=None):
        self.res = res
        self.dir = os.path.join(res.tmp, name)
        os.makedirs(self.dir, exist_ok=True)
        self.config = os.path.join(self.dir, "supervisord.conf")
        self.log_path = os.path.join(self.dir, "supervisord.log")
        self.socket = os.path.join(self.dir, "supervisor.sock")
        self.names = ["p%04d" % i for i in range(count)]
        self.commands = {n: "sleep " + res.sleep_arg(i) for i, n in enumerate(self.names)}
        self.commands.update(extra_programs or {})
        self.follower = Follower(self.log_path, SUPERVISOR_LINE)
        self.process = None

    def write_config(self):
        lines = [
            "[supervisord]", "nodaemon=true", "silent=true", "loglevel=info",
            "logfile=%s" % self.log_path, "logfile_maxbytes=0",
            "pidfile=%s" % os.path.join(self.dir, "supervisord.pid"),
            "childlogdir=%s" % self.dir, "minfds=16384", "minprocs=4096", "",
            "[unix_http_server]", "file=%s" % self.socket, "",
            "[rpcinterface:supervisor]",
            "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface", "",
            "[supervisorctl]", "serverurl=unix://%s" % self.socket, "",
        ]
        for name, command in self.commands.items():
            # One group per program (supervisord's default): an update restarts only it.
            lines += ["[program:%s]" % name, "command=%s" % command, "startsecs=0",
                      "autostart=true", "autorestart=true", "startretries=10000",
                      "stopsignal=TERM", "stopwaitsecs=10",
                      "stdout_logfile=NONE", "stderr_logfile=NONE", ""]
        scratch = self.config + ".new"
        with open(scratch, "w") as f:
            f.write("\n".join(lines))
        os.rename(scratch, self.config)

    def launch(self):
        self.write_config()
        self.launched = time.time()
        self.process = self.res.track(subprocess.Popen(
            ["/usr/bin/supervisord", "-n", "-c", self.config], stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=clean_env()))
        return self.launched

    def wait_all_running(self, timeout):
        """(seconds to the last `spawned`, seconds to the last `entered RUNNING state`)."""
        spawned, running = {}, {}
        spawn_re = re.compile(r"^spawned: '(p\d{4})' with pid")
        run_re = re.compile(r"^success: (p\d{4}) entered RUNNING state")

        def done():
            for stamp, message in self.follower.lines[done.seen:]:
                match = spawn_re.match(message)
                if match:
                    spawned[match.group(1)] = stamp
                match = run_re.match(message)
                if match:
                    running[match.group(1)] = stamp
            done.seen = len(self.follower.lines)
            return len(running) >= len(self.names)
        done.seen = 0
        wait_until(done, timeout, "supervisord: %d programs RUNNING" % len(self.names),
                   interval=0.05, process=self.process, follower=self.follower)
        return max(spawned.values()) - self.launched, max(running.values()) - self.launched

    def pid_map(self):
        by_arg = {}
        for pid, argv in children_of(self.process.pid).items():
            if len(argv) == 2 and argv[0] == "sleep":
                by_arg.setdefault(argv[1], []).append(pid)
        result = {}
        for name in self.names:
            arg = self.commands[name].split()[-1]
            result[name] = tuple(sorted(by_arg.get(arg, [])))
        return result

    def wait_log(self, regex, after, timeout):
        pattern = re.compile(regex)

        def found():
            for stamp, message in self.follower.lines:
                if stamp is not None and stamp >= after - 0.001 and pattern.search(message):
                    return (stamp, message)
            return None
        return wait_until(found, timeout, regex, interval=0.005, process=self.process,
                          follower=self.follower)

    def reload_one(self, index, timeout):
        """Edits one program's command and runs `supervisorctl update` (SIGHUP would restart
        every program): (seconds until supervisorctl returned, seconds to the new process,
        pids changed)."""
        name = self.names[index]
        before = self.pid_map()
        self.commands[name] = "sleep " + self.res.sleep_arg(index, "9")
        self.write_config()
        self.follower.poll()
        t0 = time.time()
        ctl = subprocess.run(["/usr/bin/supervisorctl", "-c", self.config, "update"],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout,
                             env=clean_env())
        returned = time.time() - t0
        if ctl.returncode != 0:
            raise BenchError("supervisorctl update failed: %s" % ctl.stdout.decode())
        stamp, _ = self.wait_log(r"^spawned: '%s' with pid" % name, t0, timeout)
        time.sleep(0.2)
        after = self.pid_map()
        changed = sum(1 for n in self.names if before[n] != after[n])
        return returned, max(stamp - t0, returned), changed

    def shutdown(self, timeout):
        t0 = time.time()
        os.kill(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise BenchError("supervisord did not exit %ds after SIGTERM" % timeout)
        seconds = time.time() - t0
        left = [p for p, argv in children_of(1).items()
                if len(argv) == 2 and argv[1].startswith(self.res.marker)]
        for pid in left:
            kill_quietly(pid)
        return seconds

    def close(self):
        self.follower.close()
        if self.process and self.process.poll() is None:
            kill_quietly(self.process.pid)
            self.process.wait()


class Floor:
    label = "floor"

    def __init__(self, res, binary, name, count):
        self.res = res
        self.binary = binary
        self.root = os.path.join(res.memory_root, name)
        self.count = count

    def run(self, timeout):
        os.makedirs(self.root, exist_ok=True)
        t0 = time.time()
        process = self.res.track(subprocess.Popen(
            [self.binary, self.root, str(self.count), str(LIMIT_BYTES), self.res.marker],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=clean_env()))
        ready, _, _ = select.select([process.stdout], [], [], timeout)
        line = process.stdout.readline().decode() if ready else ""
        if not line.startswith("ready "):
            kill_quietly(process.pid)
            raise BenchError("floor did not report ready: %r" % line)
        seconds = int(line.split()[1]) / 1e9 - t0
        # Every child is in its cgroup, as sleep.
        for i in range(self.count):
            pids = read_pids(os.path.join(self.root, "floor-%d" % i, "cgroup.procs"))
            if [comm(p) for p in pids] != ["sleep"]:
                raise BenchError("floor-%d holds %s" % (i, pids))
        process.stdin.close()
        if process.wait(timeout=60) != 0:
            raise BenchError("floor failed to clean up")
        os.rmdir(self.root)
        return seconds


# ---------------------------------------------------------------------------------------------
# The experiments


class Bench:
    def __init__(self, args, res):
        self.args = args
        self.res = res
        self.results = {"start": {}, "memory": {}, "reload": {}, "shutdown": {}, "idle": {},
                        "latency": {}}
        self.supervisord = args.supervisord and os.path.exists("/usr/bin/supervisord")
        if args.supervisord and not self.supervisord:
            log("supervisord is not installed (Debian package `supervisor`): its columns stay "
                "empty")

    def add(self, section, key, who, value):
        self.results[section].setdefault(str(key), {}).setdefault(who, []).append(value)

    def run_count(self, count, run):
        args = self.args
        tag = "n%d-r%d" % (count, run)
        timeout = 60 + count * 0.2
        # 1. the floor
        floor = Floor(self.res, args.floor, "floor-" + tag, count)
        seconds = floor.run(timeout)
        self.add("start", count, "floor", seconds)
        log("N=%d run %d: floor %.3fs" % (count, run, seconds))

        # 2. climits-manager: start, memory, (idle), reload, shutdown
        manager = ClimitsManager(self.res, args.manager, "mgr-" + tag, count)
        try:
            manager.launch()
            seconds = manager.wait_all_running(timeout)
            self.add("start", count, "climits", seconds)
            time.sleep(args.settle)
            rss, pss = smaps_rollup(manager.process.pid)
            self.add("memory", count, "climits_rss", rss)
            self.add("memory", count, "climits_pss", pss)
            if count == args.idle_count:
                self.idle(manager.process.pid, "climits")
            reload_log, reload_pid, changed, summary = manager.reload_one(count // 2, timeout)
            self.add("reload", count, "climits_applied", reload_log)
            self.add("reload", count, "climits_newpid", reload_pid)
            self.add("reload", count, "climits_changed", changed)
            shutdown = manager.shutdown(timeout)
            self.add("shutdown", count, "climits", shutdown)
            log("N=%d run %d: climits-manager start %.3fs, RSS %.1f MiB, reload %.1f ms "
                "(new pid %.1f ms, %d pid changed: %s), shutdown %.3fs" % (
                    count, run, seconds, rss / 2**20, reload_log * 1e3, reload_pid * 1e3,
                    changed, summary, shutdown))
        finally:
            manager.close()

        # 3. supervisord: the same
        if not self.supervisord:
            return
        sup = Supervisord(self.res, "sup-" + tag, count)
        try:
            sup.launch()
            spawned, running = sup.wait_all_running(timeout + count * 0.1)
            self.add("start", count, "supervisord_spawned", spawned)
            self.add("start", count, "supervisord", running)
            time.sleep(args.settle)
            rss, pss = smaps_rollup(sup.process.pid)
            self.add("memory", count, "supervisord_rss", rss)
            self.add("memory", count, "supervisord_pss", pss)
            if count == args.idle_count:
                self.idle(sup.process.pid, "supervisord")
            ctl, newpid, changed = sup.reload_one(count // 2, timeout)
            self.add("reload", count, "supervisord_applied", ctl)
            self.add("reload", count, "supervisord_newpid", newpid)
            self.add("reload", count, "supervisord_changed", changed)
            shutdown = sup.shutdown(timeout)
            self.add("shutdown", count, "supervisord", shutdown)
            log("N=%d run %d: supervisord spawned %.3fs, RUNNING %.3fs, RSS %.1f MiB, update "
                "%.0f ms (%d pid changed), shutdown %.3fs" % (
                    count, run, spawned, running, rss / 2**20, newpid * 1e3, changed, shutdown))
        finally:
            sup.close()

    def idle(self, pid, who):
        switches0, cpu0, threads = activity(pid)
        time.sleep(self.args.idle_seconds)
        switches1, cpu1, _ = activity(pid)
        self.add("idle", self.args.idle_count, who + "_switches", switches1 - switches0)
        self.add("idle", self.args.idle_count, who + "_cpu", cpu1 - cpu0)
        self.add("idle", self.args.idle_count, who + "_threads", threads)
        log("idle %ds, %d programs, %s: %d context switches, %.2fs CPU, %d thread(s)" % (
            self.args.idle_seconds, self.args.idle_count, who, switches1 - switches0,
            cpu1 - cpu0, threads))

    # -- kill -> replacement, OOM kill -> replacement

    def settle_cgroups(self, steady=5, patience=180):
        """Waits until the kernel has released the cgroups earlier work destroyed (a test
        suite, an earlier bench): /proc/cgroups counts a removed memory cgroup until it is
        freed, and while thousands are being freed every migration waits longer."""
        def memory_cgroups():
            for line in (read_text("/proc/cgroups") or "").splitlines():
                fields = line.split()
                if fields and fields[0] == "memory":
                    return int(fields[2])
            return None
        started = time.monotonic()
        first = last = memory_cgroups()
        stable_since = started
        while last is not None and time.monotonic() - stable_since < steady:
            if time.monotonic() - started > patience:
                log("the host's memory cgroups did not settle in %d s (%d now): measuring anyway"
                    % (patience, last))
                break
            time.sleep(0.5)
            now = memory_cgroups()
            if now != last:
                last, stable_since = now, time.monotonic()
        waited = time.monotonic() - started
        self.results["settle"] = {"seconds": waited, "memory_cgroups_before": first,
                                  "memory_cgroups_after": last}
        log("host settled in %.1f s (memory cgroups %s -> %s)" % (waited, first, last))

    def latency_climits(self):
        samples = self.args.samples
        # Both figures use the oomer: it stamps the time it started into its directory, which
        # is when the replacement runs (see bench/oomer.c); the victim is never sent SIGUSR1.
        stamps = {name: os.path.join(self.res.tmp, "stamps-" + name) for name in ("victim", "oomer")}
        for directory in stamps.values():
            os.makedirs(directory, exist_ok=True)
        extra = {name: {"command": [self.args.oomer, self.res.sleep_arg(9999), directory]}
                 for name, directory in stamps.items()}
        manager = ClimitsManager(self.res, self.args.manager, "mgr-latency", 10,
                                 extra_programs=extra)
        try:
            manager.launch()
            wait_until(lambda: [comm(p) for p in manager.procs("victim")] == ["oomer"], 60,
                       "victim running", process=manager.process, follower=manager.follower)
            kills = []
            for _ in range(samples):
                old = self.settled(manager, "victim", "oomer")
                self.clear_stamps(stamps["victim"])
                t0 = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
                os.kill(old, signal.SIGKILL)
                kills.append(self.stamped_replacement(manager, stamps["victim"], old, t0))
            self.results["latency"]["climits_kill"] = kills
            log("climits-manager kill -> replacement: median %.2f ms, p95 %.2f ms" % (
                statistics.median(kills) * 1e3, percentile(kills, 0.95) * 1e3))

            cgroup = os.path.join(manager.root, "program-oomer")
            event = os.eventfd(0, os.EFD_CLOEXEC | os.EFD_NONBLOCK)
            control = os.open(os.path.join(cgroup, "memory.oom_control"), os.O_RDONLY)
            with open(os.path.join(cgroup, "cgroup.event_control"), "w") as f:
                f.write("%d %d" % (event, control))
            ooms = []
            teardowns = []  # OOM event -> the victim is gone (its pidfd readable)
            try:
                for _ in range(samples):
                    old = self.settled(manager, "oomer", "oomer", signal_ready=signal.SIGUSR1)
                    self.clear_stamps(stamps["oomer"])
                    try:
                        while True:
                            os.eventfd_read(event)
                    except BlockingIOError:
                        pass
                    victim = os.pidfd_open(old)
                    try:
                        os.kill(old, signal.SIGUSR1)
                        ready, _, _ = select.select([event], [], [], 20)
                        t0 = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
                        if not ready:
                            raise BenchError("no OOM event for the oomer")
                        # The kernel signals the pidfd when it notifies the parent: after the
                        # victim's address space is torn down and uncharged.
                        if not select.select([victim], [], [], 20)[0]:
                            raise BenchError("the OOM-killed oomer did not die")
                        gone = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
                    finally:
                        os.close(victim)
                    ooms.append(self.stamped_replacement(manager, stamps["oomer"], old, t0))
                    teardowns.append((gone - t0) / 1e9)
            finally:
                os.close(control)
                os.close(event)
            self.results["latency"]["climits_oom"] = ooms
            self.results["latency"]["climits_oom_teardown"] = teardowns
            self.results["latency"]["climits_oom_after_exit"] = [
                o - t for o, t in zip(ooms, teardowns)]
            time.sleep(0.1)
            manager.follower.poll()
            classified = sum(1 for _, m in manager.follower.lines
                             if m.startswith("oomer: ") and " oom-killed " in m)
            self.results["latency"]["climits_oom_classified"] = classified
            log("climits-manager OOM kill -> replacement: median %.2f ms, p95 %.2f ms "
                "(%d of %d exits classified oom-killed); of which the victim's teardown: "
                "median %.2f ms, p95 %.2f ms" % (
                    statistics.median(ooms) * 1e3, percentile(ooms, 0.95) * 1e3, classified,
                    samples, statistics.median(teardowns) * 1e3,
                    percentile(teardowns, 0.95) * 1e3))
            manager.shutdown(60)
        finally:
            manager.close()

    @staticmethod
    def settled(manager, name, expected_comm, signal_ready=None):
        """The program's single pid once it runs `expected_comm` (and catches the signal)."""
        def ready():
            pids = manager.procs(name)
            if len(pids) != 1 or comm(pids[0]) != expected_comm:
                return None
            if signal_ready is not None:
                status = read_text("/proc/%d/status" % pids[0]) or ""
                caught = [l for l in status.splitlines() if l.startswith("SigCgt:")]
                if not caught or not int(caught[0].split()[1], 16) & (1 << (signal_ready - 1)):
                    return None
            return pids[0]
        pid = wait_until(ready, 30, "%s settled" % name, interval=0.001,
                         process=manager.process, follower=manager.follower)
        time.sleep(0.03)  # let the manager go idle again
        return pid

    @staticmethod
    def clear_stamps(directory):
        for name in os.listdir(directory):
            os.unlink(os.path.join(directory, name))

    @staticmethod
    def stamped_replacement(manager, directory, old, t0_ns, timeout=10):
        """Seconds from t0_ns (CLOCK_MONOTONIC) to the start stamp of the first oomer in
        `directory` other than `old` (bench/oomer.c writes them; clear_stamps() before the
        kill removes the earlier ones)."""
        deadline = time.monotonic() + timeout
        while True:
            for name in os.listdir(directory):
                if name.endswith(".part"):
                    continue
                path = os.path.join(directory, name)
                if int(name) == old:
                    continue
                with open(path) as f:
                    started = int(f.read())
                os.unlink(path)
                return (started - t0_ns) / 1e9
            if time.monotonic() > deadline:
                raise BenchError("no replacement for pid %d:\n%s" % (old, manager.follower.tail()))
            time.sleep(0.001)

    @staticmethod
    def new_pid(manager, name, old, t0, timeout=10):
        deadline = t0 + timeout
        while True:
            pids = manager.procs(name)
            if any(p != old for p in pids):
                return time.perf_counter() - t0
            if time.perf_counter() > deadline:
                raise BenchError("%s: no replacement for pid %d:\n%s" % (
                    name, old, manager.follower.tail()))
            time.sleep(0.0001)

    def latency_supervisord(self):
        sup = Supervisord(self.res, "sup-latency", 10)
        # About a second each: a quick run takes a few.
        samples = min(self.args.samples, 5) if self.args.quick else self.args.samples
        try:
            sup.launch()
            sup.wait_all_running(60)
            kills = []
            spawn_re = r"^spawned: 'p0000' with pid (\d+)"
            current = None
            for stamp, message in sup.follower.lines:
                match = re.match(spawn_re, message)
                if match:
                    current = int(match.group(1))
            for _ in range(samples):
                wait_until(lambda: comm(current) == "sleep", 10, "p0000 is sleep")
                time.sleep(0.03)
                t0 = time.time()
                os.kill(current, signal.SIGKILL)

                def respawned():
                    for stamp, message in sup.follower.lines:
                        match = re.match(spawn_re, message)
                        if match and stamp >= t0 - 0.001 and int(match.group(1)) != current:
                            return stamp, int(match.group(1))
                    return None
                stamp, current = wait_until(respawned, 10, "supervisord respawn",
                                            interval=0.005, process=sup.process,
                                            follower=sup.follower)
                kills.append(max(0.0, stamp - t0))
            self.results["latency"]["supervisord_kill"] = kills
            log("supervisord kill -> replacement: median %.0f ms, p95 %.0f ms" % (
                statistics.median(kills) * 1e3, percentile(kills, 0.95) * 1e3))
            sup.shutdown(60)
        finally:
            sup.close()

    def run(self):
        started = time.monotonic()
        self.results["load_before"] = os.getloadavg()
        self.results["date"] = datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M")
        self.results["machine"] = machine_description()
        self.results["console"] = kernel_console()
        self.results["nice"] = os.nice(0)
        # Latencies first, on a settled host. After the sweeps below the kernel spends a while
        # releasing the thousands of cgroups they destroyed, and the RCU grace period a cgroup
        # v1 migration waits for is then many times longer: the same binary measured SIGKILL ->
        # replacement p95 37 ms right after them against 3.2 ms before (bench/findings.md).
        self.settle_cgroups()
        self.latency_climits()
        for run in range(1, self.args.runs + 1):
            for count in self.args.counts:
                self.run_count(count, run)
        if self.supervisord:
            self.latency_supervisord()
        self.results["elapsed_seconds"] = time.monotonic() - started
        self.results["load_after"] = os.getloadavg()
        return self.results


# ---------------------------------------------------------------------------------------------
# Report


def kernel_console():
    """The kernel's consoles (`console=` on its command line) and the console log level: on
    a serial console at level 4 or more the OOM killer's `Killed process` line (KERN_ERR) is
    written out by the victim itself before it exits, which lengthens every OOM kill."""
    consoles = [word.split("=", 1)[1] for word in (read_text("/proc/cmdline") or "").split()
                if word.startswith("console=")]
    levels = (read_text("/proc/sys/kernel/printk") or "").split()
    return {"consoles": consoles, "loglevel": int(levels[0]) if levels else None}


def machine_description():
    cpu = "unknown CPU"
    for line in (read_text("/proc/cpuinfo") or "").splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    memory = 0
    for line in (read_text("/proc/meminfo") or "").splitlines():
        if line.startswith("MemTotal:"):
            memory = int(line.split()[1]) // 1024
    distro = "Linux"
    for line in (read_text("/etc/os-release") or "").splitlines():
        if line.startswith("PRETTY_NAME="):
            distro = line.split("=", 1)[1].strip('"')
    debian = (read_text("/etc/debian_version") or "").strip()
    return "%s (%s), kernel %s, %s, %d cores, %d MiB RAM, cgroup v1" % (
        distro, debian, platform.release(), cpu, os.cpu_count(), memory)


def version_of(command):
    try:
        out = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             timeout=10).stdout.decode().strip()
        return out.splitlines()[0] if out else "?"
    except (OSError, subprocess.TimeoutExpired):
        return "not installed"


def stats(values):
    if not values:
        return None
    return statistics.median(values), min(values), max(values)


def fmt_time(seconds):
    if seconds is None:
        return "—"
    if seconds >= 1:
        return "%.2f s" % seconds
    if seconds >= 0.1:
        return "%.0f ms" % (seconds * 1e3)
    if seconds >= 0.01:
        return "%.1f ms" % (seconds * 1e3)
    return "%.2f ms" % (seconds * 1e3)


def fmt_mib(value):
    return "—" if value is None else "%.1f MiB" % (value / 2**20)


def cell(values, fmt):
    s = stats(values)
    if s is None:
        return "—"
    median, low, high = s
    if len(values) == 1:
        return fmt(median)
    return "%s (%s–%s)" % (fmt(median), fmt(low), fmt(high))


def ratio(a, b):
    if not a or not b:
        return "—"
    return "%.2f×" % (statistics.median(a) / statistics.median(b))


def render(results, args, commit, out_png):
    r = results
    counts = [str(c) for c in args.counts]
    get = lambda section, n, who: r[section].get(n, {}).get(who, [])  # noqa: E731
    lines = []
    add = lines.append
    add("# Performance")
    add("")
    add("Measured by `bench/run.sh%s` (see `bench/README.md`) on %s UTC." % (
        " --quick" if args.quick else "", r.get("date", "?")))
    add("")
    add("- Machine: %s." % r.get("machine", machine_description()))
    add("- climits-manager %s (Release build), %s, floor = `bench/floor.c`." % (
        commit, version_of(["/usr/bin/supervisord", "--version"]).join(["supervisord ", ""])
        if os.path.exists("/usr/bin/supervisord") else "supervisord not installed"))
    add("- Programs: `sleep` each with a %s limit (cgroup v1 `memory.limit_in_bytes`) for "
        "climits-manager and the floor; supervisord has no cgroups. Output discarded "
        "(`file: null`; supervisord `stdout_logfile=NONE`), `start.settle: 0` / `startsecs=0`, "
        "restart always with zero backoff / `autorestart=true`." % LIMIT)
    add("- Load average (1, 5, 15 min) %s before and %s after the run; everything in the "
        "bench (the harness, the three contestants and their programs) ran at nice %d to be "
        "less at the mercy of other work on the machine." % (
            "/".join("%.1f" % x for x in r.get("load_before", ())),
            "/".join("%.1f" % x for x in r.get("load_after", ())), r.get("nice", 0)))
    add("- Each figure: median of %d run%s (min–max); latencies over %d samples. Total bench "
        "time %.0f s." % (args.runs, "" if args.runs == 1 else "s", args.samples,
                          r.get("elapsed_seconds", 0)))
    console = r.get("console") or {}
    serial = [c.split(",")[0] for c in console.get("consoles", []) if c.startswith("ttyS")]
    if serial and (console.get("loglevel") or 0) > 3:
        add("- Kernel console: %s at log level %d. The OOM killer's `Killed process` line is "
            "written to it by the victim before the victim exits, so it is part of every OOM "
            "kill's teardown below (about 3.5 ms of it on this project's hosts, "
            "`bench/findings.md`)." % (", ".join(serial), console["loglevel"]))
    settle = r.get("settle")
    if settle:
        add("- The replacement latencies were measured first, once the kernel had released the "
            "cgroups of earlier work (memory cgroups in `/proc/cgroups` steady for 5 s: %s → %s, "
            "%.0f s): while thousands are being freed, every cgroup migration waits longer "
            "(`bench/findings.md`)." % (settle.get("memory_cgroups_before"),
                                         settle.get("memory_cgroups_after"),
                                         settle.get("seconds", 0)))
    add("")
    add("![start time and RSS against N](%s)" % os.path.basename(out_png))
    add("")
    add("## Start: launch → all programs running")
    add("")
    add("climits-manager: from `exec` of the daemon to the last `starting -> running` line, each "
        "cgroup then checked to hold exactly one `sleep`. Floor: from `exec` to every child "
        "having exec'd `sleep` inside its cgroup. supervisord: to the last `spawned:` and to the "
        "last `entered RUNNING state`.")
    add("")
    add("| N | floor | climits-manager | ÷ floor | supervisord spawned | supervisord RUNNING "
        "| supervisord ÷ climits |")
    add("|---:|---|---|---:|---|---|---:|")
    for n in counts:
        add("| %s | %s | %s | %s | %s | %s | %s |" % (
            n, cell(get("start", n, "floor"), fmt_time), cell(get("start", n, "climits"), fmt_time),
            ratio(get("start", n, "climits"), get("start", n, "floor")),
            cell(get("start", n, "supervisord_spawned"), fmt_time),
            cell(get("start", n, "supervisord"), fmt_time),
            ratio(get("start", n, "supervisord"), get("start", n, "climits"))))
    add("")
    add("## Memory of the manager process at steady state (`/proc/PID/smaps_rollup`)")
    add("")
    add("| N | climits-manager RSS | climits-manager PSS | supervisord RSS | supervisord PSS "
        "| RSS supervisord ÷ climits |")
    add("|---:|---|---|---|---|---:|")
    for n in counts:
        add("| %s | %s | %s | %s | %s | %s |" % (
            n, cell(get("memory", n, "climits_rss"), fmt_mib),
            cell(get("memory", n, "climits_pss"), fmt_mib),
            cell(get("memory", n, "supervisord_rss"), fmt_mib),
            cell(get("memory", n, "supervisord_pss"), fmt_mib),
            ratio(get("memory", n, "supervisord_rss"), get("memory", n, "climits_rss"))))
    add("")
    idle_n = str(args.idle_count)
    add("## Idle: %s programs, nothing happening, %d s" % (idle_n, args.idle_seconds))
    add("")
    add("Context switches: voluntary + nonvoluntary of every thread (`/proc/PID/task/*/status`); "
        "CPU: utime + stime of the process.")
    add("")
    add("| | context switches | CPU time | threads |")
    add("|---|---|---|---|")
    for who, label in (("climits", "climits-manager"), ("supervisord", "supervisord")):
        add("| %s | %s | %s | %s |" % (
            label, cell(get("idle", idle_n, who + "_switches"), lambda v: "%d" % v),
            cell(get("idle", idle_n, who + "_cpu"), lambda v: "%.2f s" % v),
            cell(get("idle", idle_n, who + "_threads"), lambda v: "%d" % v)))
    add("")
    lat = r["latency"]
    add("## Replacement latency (zero backoff)")
    add("")
    add("climits-manager: from the SIGKILL (or the kernel's OOM event on the cgroup's "
        "`memory.oom_control` eventfd) to the replacement's first instructions: the program "
        "(`bench/oomer.c`) writes its CLOCK_MONOTONIC start time into a file, so nothing polls "
        "the cgroup. The OOM figure is split at the moment the victim is gone (its pidfd "
        "readable, when the kernel notifies the parent): before it, the kernel tears down the "
        "victim's 64 MiB and uncharges it; after it, the manager's part (reap, classify, and "
        "start the replacement: with zero backoff, one staged during the kill, whose helper "
        "has joined the cgroup already and only execs). supervisord: from the SIGKILL to its "
        "`spawned:` "
        "log line (ms stamps); it has no memory limits, and an OOM kill is a SIGKILL to it, so "
        "its kill figure stands for both.")
    add("")
    add("| | samples | median | p95 | min | max |")
    add("|---|---:|---|---|---|---|")
    for key, label in (("climits_kill", "climits-manager, SIGKILL"),
                       ("climits_oom", "climits-manager, OOM kill"),
                       ("climits_oom_teardown", "… of which: OOM event → victim gone (kernel)"),
                       ("climits_oom_after_exit", "… of which: victim gone → replacement"),
                       ("supervisord_kill", "supervisord, SIGKILL")):
        v = lat.get(key)
        if v:
            add("| %s | %d | %s | %s | %s | %s |" % (label, len(v), fmt_time(statistics.median(v)),
                                                fmt_time(percentile(v, 0.95)), fmt_time(min(v)),
                                                fmt_time(max(v))))
    if "climits_oom_classified" in lat:
        add("")
        add("%d of %d OOM exits were classified `oom-killed` by climits-manager." % (
            lat["climits_oom_classified"], len(lat.get("climits_oom", []))))
    add("")
    add("## Reload with one of N changed")
    add("")
    add("One program's command is edited. climits-manager: SIGHUP → its `reload: …` summary "
        "line, and → the new pid in that program's cgroup. supervisord: `supervisorctl update` "
        "(its SIGHUP restarts every program) → supervisorctl returned, and → the new process "
        "`spawned` (whichever is later). PIDs changed: programs whose pid differs afterwards.")
    add("")
    add("| N | climits: reload line | climits: new pid | PIDs changed | supervisord: "
        "update returned | supervisord: new pid | PIDs changed | supervisord ÷ climits |")
    add("|---:|---|---|---|---|---|---|---:|")
    for n in counts:
        changed = lambda who: ", ".join(str(x) for x in sorted(set(get("reload", n, who)))) or "—"  # noqa: E731,E501
        add("| %s | %s | %s | %s | %s | %s | %s | %s |" % (
            n, cell(get("reload", n, "climits_applied"), fmt_time),
            cell(get("reload", n, "climits_newpid"), fmt_time), changed("climits_changed"),
            cell(get("reload", n, "supervisord_applied"), fmt_time),
            cell(get("reload", n, "supervisord_newpid"), fmt_time), changed("supervisord_changed"),
            ratio(get("reload", n, "supervisord_newpid"), get("reload", n, "climits_newpid"))))
    add("")
    add("## Shutdown: SIGTERM → exit (every program stopped, every cgroup removed)")
    add("")
    add("| N | climits-manager | supervisord | supervisord ÷ climits |")
    add("|---:|---|---|---:|")
    for n in counts:
        add("| %s | %s | %s | %s |" % (
            n, cell(get("shutdown", n, "climits"), fmt_time),
            cell(get("shutdown", n, "supervisord"), fmt_time),
            ratio(get("shutdown", n, "supervisord"), get("shutdown", n, "climits"))))
    add("")
    add("## SPEC §10 bars")
    add("")
    add("| bar | measured | |")
    add("|---|---|---|")
    for bar, measured, verdict in bars(results, args):
        add("| %s | %s | %s |" % (bar, measured, verdict))
    add("")
    # What limits each figure: the analysis kept beside the harness (bench/findings.md), so that
    # a new run keeps it; its own figures are dated there.
    findings = os.path.join(os.path.dirname(os.path.abspath(__file__)), "findings.md")
    if not args.quick and os.path.exists(findings):
        with open(findings) as f:
            add(f.read().rstrip("\n"))
        add("")
    return "\n".join(lines)


def kernel_share(lat, key):
    """For a missed OOM bar: how much of it the kernel's teardown took alone."""
    teardown = lat.get("climits_oom_teardown") if key == "climits_oom" else None
    if not teardown:
        return ""
    return " (the kernel's part alone, OOM event → victim gone: p95 %s)" % fmt_time(
        percentile(teardown, 0.95))


def bars(results, args):
    """(bar, measured, verdict) for SPEC §10, at the N the bars name (or the largest measured)."""
    r = results
    out = []

    def at(n):
        return str(n) if str(n) in r["start"] else str(max(args.counts))
    n = at(500)
    us, floor = r["start"][n].get("climits"), r["start"][n].get("floor")
    if us and floor:
        k = statistics.median(us) / statistics.median(floor)
        out.append(("start of %s within 2× the floor (aim 1.5×)" % n,
                    "%.2f× (%s vs %s)" % (k, fmt_time(statistics.median(us)),
                                          fmt_time(statistics.median(floor))),
                    "met" if k <= 2 else "**missed**"))
    rss = r["memory"].get(n, {}).get("climits_rss")
    if rss:
        m = statistics.median(rss)
        out.append(("RSS with %s under 8 MiB (aim 6)" % n, fmt_mib(m),
                    "met" if m < 8 * 2**20 else "**missed**"))
    idle = r["idle"].get(str(args.idle_count), {}).get("climits_switches")
    if idle:
        out.append(("zero context switches in %d s idle with %d programs" % (
            args.idle_seconds, args.idle_count), "%d (max of runs)" % max(idle),
            "met" if max(idle) == 0 else "**missed**"))
    lat = r["latency"]
    for key, what in (("climits_kill", "SIGKILL"), ("climits_oom", "OOM kill")):
        v = lat.get(key)
        if v:
            p95 = percentile(v, 0.95)
            out.append(("%s → replacement within backoff (0) + 20 ms" % what,
                        "median %s, p95 %s, max %s" % (fmt_time(statistics.median(v)),
                                                       fmt_time(p95), fmt_time(max(v))),
                        "met" if max(v) <= 0.020 else
                        ("met at p95 (max %s)" % fmt_time(max(v)) if p95 <= 0.020
                         else "**missed** at p95" + kernel_share(lat, key))))
    n = at(1000)
    reload = r["reload"].get(n, {})
    if reload.get("climits_applied"):
        applied = statistics.median(reload["climits_applied"])
        newpid = statistics.median(reload["climits_newpid"])
        changed = sorted(set(reload["climits_changed"]))
        out.append(("reload of %s with one change under 100 ms, %d PIDs unchanged" % (
            n, int(n) - 1), "applied (reload line) %s, max %s; new pid %s; PIDs changed: %s" % (
            fmt_time(applied), fmt_time(max(reload["climits_applied"])), fmt_time(newpid),
            ", ".join(map(str, changed))),
            ("met" if newpid < 0.1 else "met for the reload line, not for the new pid")
            if applied < 0.1 and changed == [1] else "**missed**"))
    return out


def chart(results, args, out_png, scratch):
    if shutil.which("gnuplot") is None:
        log("gnuplot is not installed (Debian package gnuplot-nox): no chart")
        return False
    data = os.path.join(scratch, "chart.dat")
    with open(data, "w") as f:
        f.write("# N floor climits supervisord climits_rss supervisord_rss (ms, MiB)\n")
        for n in args.counts:
            row = [str(n)]
            for section, who, scale in (("start", "floor", 1e3), ("start", "climits", 1e3),
                                        ("start", "supervisord", 1e3),
                                        ("memory", "climits_rss", 2**-20),
                                        ("memory", "supervisord_rss", 2**-20)):
                v = results[section].get(str(n), {}).get(who)
                row.append("%.4f" % (statistics.median(v) * scale) if v else "NaN")
            f.write(" ".join(row) + "\n")
    script = os.path.join(scratch, "chart.gp")
    with open(script, "w") as f:
        f.write("""
set terminal pngcairo size 1200,480 font ",10"
set output '%s'
set multiplot layout 1,2 title "climits-manager vs supervisord vs the floor (%s)"
set logscale xy
set grid
set key top left
set xlabel "programs (N)"
set ylabel "launch -> all running (ms)"
set title "Start time (median)"
plot '%s' u 1:2 w lp lw 2 pt 7 lc rgb "#777777" t "floor (mkdir + limit + fork/exec)", \\
     '' u 1:3 w lp lw 2 pt 5 lc rgb "#1f77b4" t "climits-manager", \\
     '' u 1:4 w lp lw 2 pt 9 lc rgb "#ff7f0e" t "supervisord (RUNNING)"
set ylabel "RSS of the manager process (MiB)"
set title "Memory at steady state (median)"
unset logscale y
set yrange [0:*]
set key top left
plot '%s' u 1:5 w lp lw 2 pt 5 lc rgb "#1f77b4" t "climits-manager", \\
     '' u 1:6 w lp lw 2 pt 9 lc rgb "#ff7f0e" t "supervisord", \\
     8 w l dt 2 lc rgb "red" t "SPEC bar: 8 MiB"
unset multiplot
""" % (out_png, results.get("date", "?"), data, data))
    result = subprocess.run(["gnuplot", script], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if result.returncode != 0:
        raise BenchError("gnuplot failed: %s" % result.stdout.decode())
    return True


# ---------------------------------------------------------------------------------------------


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--manager", help="climits-manager binary (climits-exec beside it)")
    parser.add_argument("--floor", help="the floor binary (bench/floor.c)")
    parser.add_argument("--oomer", help="the oomer binary (bench/oomer.c)")
    parser.add_argument("--tag", required=True, help="names this run's cgroups and processes")
    parser.add_argument("--quick", action="store_true", help="a smoke run of a few seconds")
    parser.add_argument("--counts", help="comma-separated N (default 10,100,500,1000)")
    parser.add_argument("--runs", type=int, help="runs per N (default 3)")
    parser.add_argument("--samples", type=int, help="latency samples (default 50)")
    parser.add_argument("--idle-seconds", type=int, help="idle window (default 30)")
    parser.add_argument("--no-supervisord", dest="supervisord", action="store_false")
    parser.add_argument("--out", help="Markdown report (PNG beside it, same name)")
    parser.add_argument("--json", help="also write the raw figures here")
    parser.add_argument("--commit", default="?", help="version shown in the report")
    parser.add_argument("--cleanup", action="store_true",
                        help="only remove what a run with this tag left behind")
    parser.add_argument("--render-from", metavar="JSON",
                        help="no run: write --out again from the raw figures of a --json file")
    args = parser.parse_args()

    if args.render_from:
        with open(args.render_from) as f:
            results = json.load(f)
        for key, value in results["args"].items():
            if key not in ("out", "json", "render_from", "tag"):
                setattr(args, key, value)
        if not args.out:
            parser.error("--render-from needs --out")
        out_png = os.path.splitext(args.out)[0] + ".png"
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        with tempfile.TemporaryDirectory() as scratch:
            chart(results, args, out_png, scratch)
        with open(args.out, "w") as f:
            f.write(render(results, args, args.commit, out_png))
        log("wrote %s" % args.out)
        return 0

    res = Resources(args.tag)
    if args.cleanup:
        left = res.cleanup()
        for item in left:
            log("could not remove " + item)
        return 1 if left else 0

    quick = args.quick
    args.counts = [int(x) for x in args.counts.split(",")] if args.counts else (
        [5, 20] if quick else [10, 100, 500, 1000])
    args.runs = args.runs or (1 if quick else 3)
    args.samples = args.samples or (10 if quick else 50)
    args.idle_seconds = args.idle_seconds if args.idle_seconds is not None else (2 if quick
                                                                                 else 30)
    args.idle_count = 100 if 100 in args.counts else max(args.counts)
    args.settle = 0.3 if quick else 1.0
    for what in ("manager", "floor", "oomer"):
        path = getattr(args, what)
        if not path or not os.access(path, os.X_OK):
            parser.error("--%s: not an executable: %s" % (what, path))
    if os.geteuid() != 0:
        parser.error("run as root: the bench creates cgroups")

    def interrupted(signum, frame):
        raise Interrupted("signal %d" % signum)
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, interrupted)

    status = 0
    try:
        res.setup()
        bench = Bench(args, res)
        results = bench.run()
        results["args"] = {k: v for k, v in vars(args).items()}
        if args.json:
            os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
            with open(args.json, "w") as f:
                json.dump(results, f, indent=1)
        if args.out:
            out_png = os.path.splitext(args.out)[0] + ".png"
            os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
            chart(results, args, out_png, res.tmp)
            with open(args.out, "w") as f:
                f.write(render(results, args, args.commit, out_png))
            log("wrote %s%s" % (args.out, " and " + out_png if os.path.exists(out_png) else ""))
        for bar, measured, verdict in bars(results, args):
            log("bar: %s: %s: %s" % (bar, measured, verdict.replace("*", "")))
    except (BenchError, Interrupted) as error:
        log("FAILED: %s" % error)
        status = 1
    except Exception:  # a bug in the harness: say where, still clean up
        traceback.print_exc()
        log("FAILED: the harness itself broke (above)")
        status = 1
    finally:
        left = res.cleanup()
        for item in left:
            log("could not remove " + item)
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
