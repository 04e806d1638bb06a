#!/usr/bin/env python3
"""Writes programs.schema.json, the JSON Schema (draft 2020-12) of climits-manager's
configuration file, beside this script.

The schema is generated because the value languages (sizes, durations, signals) have numeric
bounds that are spelled as regular expressions, e.g. "a number of at most 8388607 followed by
T"; those are computed here, not typed by hand. Edit this file, run it, and commit both:
tests/config/check_schema.py fails when the committed schema differs from this output.

The schema is applied to the document as a YAML 1.1 parser (PyYAML's safe_load) sees it:
plain `yes` is a boolean, `022` an (octal) integer, quoted "5" a string. The loader
(src/config) is the reference; docs/configuration.md explains every key.

usage: generate.py [--check]   (--check: exit 1 if the committed file is out of date)
"""
import json
import pathlib
import sys

HERE = pathlib.Path(__file__).resolve().parent
OUTPUT = HERE / "programs.schema.json"

INT64_MAX = 2**63 - 1
MIN_PLAIN_BYTES = 4096          # loader.cc kMinPlainBytes
PID_MAX_LIMIT = 4194304         # loader.cc kPidMaxLimit
UNIX_SOCKET_PATH_MAX = 107      # loader.cc kUnixSocketPathMax
ONE_YEAR_MS = 365 * 24 * 3600 * 1000
MAX_WEIGHT = 10000              # key_readers.cc kMaxWeight
MAX_CPU_PERCENT = 100000        # key_readers.cc kMaxCpuPercent
MAX_DIGITS = 20                 # util/text.cc parse_u64 reads at most 20 characters


def range_regex(lo, hi):
    """A regular expression (unanchored, without leading zeros) for the decimal integers in
    [lo, hi]."""
    def digit_class(x, y):
        if x == y:
            return x
        return "[0-9]" if (x, y) == ("0", "9") else f"[{x}-{y}]"

    def any_digits(count):
        return "[0-9]" if count == 1 else "[0-9]{%d}" % count

    def same_length(a, b):
        if a == b:
            return [a]
        i = 0
        while a[i] == b[i]:
            i += 1
        prefix, rest = a[:i], len(a) - i - 1
        if rest == 0:
            return [prefix + digit_class(a[i], b[i])]
        parts = []
        low = a[i]
        if a[i + 1:] != "0" * rest:
            parts += [prefix + a[i] + r for r in same_length(a[i + 1:], "9" * rest)]
            low = str(int(a[i]) + 1)
        high, tail = b[i], []
        if b[i + 1:] != "9" * rest:
            high = str(int(b[i]) - 1)
            tail = [prefix + b[i] + r for r in same_length("0" * rest, b[i + 1:])]
        if int(low) <= int(high):
            parts.append(prefix + digit_class(low, high) + any_digits(rest))
        return parts + tail

    def split(lo, hi):
        if len(str(lo)) < len(str(hi)):
            top = 10 ** len(str(lo)) - 1
            return split(lo, top) + split(top + 1, hi)
        return same_length(str(lo), str(hi))

    alternatives = (["0"] + (split(1, hi) if hi >= 1 else [])) if lo == 0 else split(lo, hi)
    return "(?:" + "|".join(alternatives) + ")"


def bounded_number(lo, hi, suffix=""):
    """Digits (leading zeros allowed, at most MAX_DIGITS of them) whose value is in [lo, hi],
    then `suffix` (a regex)."""
    return f"(?=[0-9]{{1,{MAX_DIGITS}}}{suffix}$)0*{range_regex(lo, hi)}{suffix}"


def size_pattern(min_plain):
    """units.cc parse_size + yaml_reader.cc size(): max, bytes, or K/M/G/T (powers of 1024)
    up to 2^63-1 bytes; with min_plain, unit-less counts below it and zero are refused."""
    alternatives = ["max", bounded_number(min_plain if min_plain else 0, INT64_MAX)]
    for shift, unit in ((10, "K"), (20, "M"), (30, "G"), (40, "T")):
        alternatives.append(bounded_number(1 if min_plain else 0, INT64_MAX >> shift,
                                           f"[{unit}{unit.lower()}]"))
    return "^(?:" + "|".join(alternatives) + ")$"


def cpu_share_pattern():
    """key_readers.cc read_cpu_max: max, or a share of one CPU in per cent, at most seven
    digits before an optional point and one to three decimals, from 1% to 100000%."""
    below = "0*(?:[1-9][0-9]{0,4})(?:\\.[0-9]{1,3})?"
    top = f"0*{MAX_CPU_PERCENT}(?:\\.0{{1,3}})?"
    return f"^(?:max|(?=[0-9]{{1,7}}(?:\\.[0-9]+)?%$)(?:{below}|{top})%)$"


def percent_pattern():
    """key_readers.cc read_percent: one to three digits and %, from 1% to 100%."""
    return "^(?=[0-9]{1,3}%$)0*(?:100|[1-9][0-9]?)%$"


def pressure_window_pattern():
    """A duration from 500ms to 10s (the kernel's bounds for a PSI trigger's window)."""
    return f"^(?:{bounded_number(500, 10000, 'ms')}|{bounded_number(1, 10, 's')})$"


def duration_pattern(minimum=0):
    """units.cc parse_duration: 0, or a whole number with ms, s, m or h; at most a year."""
    alternatives = ["0"] if minimum == 0 else []
    for scale, unit in ((1, "ms"), (1000, "s"), (60_000, "m"), (3_600_000, "h")):
        alternatives.append(bounded_number(minimum, ONE_YEAR_MS // scale, unit))
    return "^(?:" + "|".join(alternatives) + ")$"


def any_case(word):
    return "".join(f"[{c}{c.lower()}]" if c.isalpha() else c for c in word)


# units.cc kSignals without kNotForStopping (signals that pause or are ignored by default).
STOP_SIGNALS = ["HUP", "INT", "QUIT", "KILL", "USR1", "USR2", "TERM", "ABRT", "ALRM", "PWR",
                "SEGV", "BUS", "FPE", "ILL", "PIPE", "TRAP", "SYS", "XCPU", "XFSZ", "PROF",
                "VTALRM"]


def signal_pattern():
    names = "|".join(any_case(name) for name in STOP_SIGNALS)
    return f"^(?:{any_case('SIG')})?(?:{names})$"


def umask_integers():
    """How PyYAML reads a plain umask the loader accepts: 022 is octal (18) and 777 decimal
    (777). Octal forms give 0..511; above that only decimals written with the digits 0-7."""
    return [n for n in range(512, 778) if set(str(n)) <= set("01234567")]


ACCOUNT = r"^(?:[a-z_][a-z0-9_.-]{0,31}\$?|[0-9]{1,10})$"   # loader.cc is_account_name


def account(what, example, default_text):
    return {
        "description": f"The {what} to run the program as: a name or a numeric id. A name "
                       f"must exist on the host when the file is loaded (a number need not). "
                       f"Default: {default_text}.",
        "anyOf": [
            {"type": "string", "pattern": ACCOUNT},
            {"type": "integer", "minimum": 0, "maximum": 9_999_999_999},
        ],
        "examples": [example],
    }


def duration(description, default):
    return {"$ref": "#/$defs/duration", "description": description, "default": default}


PROGRAM_NAME = "^(?!\\.{1,2}$)[A-Za-z0-9_.-]{1,64}$"


def program_properties():
    output_keys = {
        "max_size": {
            "$ref": "#/$defs/limit",
            "description": "Rotate the log file when it would grow past this size; max never "
                           "rotates. A unit-less number is bytes and must be at least 4096.",
            "default": "10M",
        },
        "keep": {
            "type": "integer", "minimum": 0, "maximum": 100, "default": 5,
            "description": "Rotated files kept: NAME.1 (the newest) … NAME.keep; 0 keeps "
                           "none (the file is truncated when it is rotated).",
        },
    }
    return {
        "command": {
            "description": "The program and its arguments: a list (argv), or a string that is "
                           "split on spaces (no shell, no quoting). A first word with a slash is "
                           "a path relative to the configuration file's folder; a bare name is "
                           "looked up in PATH at start. Required, unless defaults: gives it.",
            "anyOf": [
                {"type": "string", "pattern": "[^ \t\n\r]"},
                {"type": "array", "minItems": 1,
                 "prefixItems": [{"minLength": 1}],
                 "items": {"type": ["string", "number", "boolean"]}},
            ],
            "examples": [["./app", "--verbose"], "python3 -m worker"],
        },
        "directory": {
            "type": "string", "minLength": 1,
            "description": "Working directory; relative to the configuration file's folder. "
                           "Default: the configuration file's folder.",
        },
        "environment": {
            "type": "object",
            "description": "Variables added to (or replacing those of) the manager's own "
                           "environment. Values are taken as written (50, yes and \"50\" all "
                           "give the text).",
            "propertyNames": {"pattern": "^[A-Za-z_][A-Za-z0-9_]*$"},
            "additionalProperties": {"type": ["string", "number", "boolean"]},
            "default": {},
        },
        "user": account("user", "nobody", "the manager's user"),
        "group": account("group", "nogroup", "the user's primary group"),
        "umask": {
            "description": "File mode creation mask, octal: \"022\" (quoting is clearer; "
                           "unquoted 022 and 22 mean the same), 0o22 or up to 0777. "
                           "Default: the manager's.",
            "anyOf": [
                {"type": "string", "pattern": "^(?:0o)?(?:[0-7]{1,3}|0[0-7]{3})$"},
                {"type": "integer", "minimum": 0, "maximum": 511},
                {"type": "integer", "enum": umask_integers()},
            ],
            "examples": ["022", "077"],
        },
        "autostart": {
            "type": "boolean", "default": True,
            "description": "Start the program when the manager starts (or when a reload adds "
                           "it). true/false, yes/no or on/off, unquoted.",
        },
        "memory": {
            "type": "object", "additionalProperties": False,
            "description": "Memory limits of the program's cgroup.",
            "properties": {
                "max": {
                    "$ref": "#/$defs/limit",
                    "description": "Hard limit; the kernel OOM-kills above it (v2 memory.max, "
                                   "v1 memory.limit_in_bytes). Default: max (none).",
                    "default": "max",
                },
                "high": {
                    "$ref": "#/$defs/limit",
                    "description": "Soft limit (v2 memory.high: throttling point; v1 "
                                   "memory.soft_limit_in_bytes). Default: max (none).",
                    "default": "max",
                },
                "swap_max": {
                    "$ref": "#/$defs/swapSize",
                    "description": "Swap allowed on top of max (v2 memory.swap.max; v1 "
                                   "memory.memsw.limit_in_bytes = max + swap_max). 0 allows no "
                                   "swap. Default: max (not limited).",
                    "default": "max",
                },
                "swappiness": {
                    "type": "integer", "minimum": 0, "maximum": 100,
                    "description": "cgroup v1 only (memory.swappiness); ignored with a warning "
                                   "on v2. Default: the parent cgroup's.",
                },
                "oom_policy": {
                    "enum": ["continue", "stop", "kill"], "default": "stop",
                    "description": "What an OOM kill of any process in the cgroup does while "
                                   "the main process lives (systemd's OOMPolicy): continue "
                                   "counts and logs it; stop stops the program gracefully and "
                                   "its exit is an OOM kill (so on-oom restarts it); kill kills "
                                   "the whole cgroup at once (v2 memory.oom.group; v1 the "
                                   "manager, at the OOM event).",
                },
                "pressure": {
                    "type": "object", "additionalProperties": False,
                    "required": ["threshold", "window"],
                    "description": "cgroup v2 only (a warning on v1): a PSI trigger on the "
                                   "cgroup's memory.pressure; when some of its tasks were "
                                   "stalled on memory for more than threshold of window, the "
                                   "manager logs one warning, counts it (pressure_events in "
                                   "status) and emits a pressure event.",
                    "properties": {
                        "threshold": {
                            "type": "string", "pattern": percent_pattern(),
                            "description": "A whole per cent of the window, 1% to 100%.",
                            "examples": ["20%"],
                        },
                        "window": {
                            "type": "string", "pattern": pressure_window_pattern(),
                            "description": "The kernel's window, 500ms to 10s.",
                            "examples": ["10s"],
                        },
                    },
                },
                "oom_group": {
                    "type": "boolean", "default": False,
                    "description": "The first release's spelling of oom_policy: kill (true); "
                                   "false changes nothing; true beside another oom_policy is "
                                   "an error.",
                },
            },
        },
        "pids_max": {
            "description": "Most tasks (processes and threads) in the cgroup (pids.max), or "
                           "max. Default: max.",
            "anyOf": [
                {"type": "integer", "minimum": 1, "maximum": PID_MAX_LIMIT},
                {"const": "max"},
            ],
            "default": "max",
        },
        "cpu": {
            "type": "object", "additionalProperties": False,
            "description": "CPU limits of the program's cgroup (cgroup v1: the cpu and cpuacct "
                           "hierarchies, used only by programs that set cpu:). Changed live on "
                           "reload.",
            "properties": {
                "max": {
                    "description": "CPU time per 100 ms period as a share of one CPU, 1% to "
                                   "100000% with at most three decimals (150% = 1.5 CPUs: v2 "
                                   "cpu.max \"150000 100000\"; v1 cpu.cfs_quota_us 150000, "
                                   "cpu.cfs_period_us 100000), or max. Default: max (none).",
                    "type": "string", "pattern": cpu_share_pattern(), "default": "max",
                    "examples": ["150%", "50%", "12.5%"],
                },
                "weight": {
                    "type": "integer", "minimum": 1, "maximum": MAX_WEIGHT,
                    "description": "Relative share of CPU time under contention, 1 to 10000 (v2 "
                                   "cpu.weight; v1 cpu.shares = weight × 1024 / 100). Default: "
                                   "the kernel's, 100.",
                },
            },
        },
        "io": {
            "type": "object", "additionalProperties": False,
            "description": "Block IO limits of the program's cgroup (cgroup v1: the blkio "
                           "hierarchy, used only by programs that set io:). Changed live on "
                           "reload.",
            "properties": {
                "weight": {
                    "type": "integer", "minimum": 1, "maximum": MAX_WEIGHT,
                    "description": "Relative share of IO time, 1 to 10000 (v2 io.weight; v1 "
                                   "blkio.weight, clamped to 10…1000). A kernel without the file "
                                   "(v1 without BFQ) ignores it with a warning. Default: the "
                                   "kernel's, 100.",
                },
                "max": {
                    "type": "array",
                    "description": "Throttles per block device (v2 io.max; v1 "
                                   "blkio.throttle.*_device). Replaces an inherited list whole.",
                    "items": {
                        "type": "object", "additionalProperties": False,
                        "required": ["device"],
                        "minProperties": 2,
                        "properties": {
                            "device": {
                                "type": "string", "pattern": "^/",
                                "description": "A whole disk (not a partition), by its path: "
                                               "/dev/vda. Checked when the file is loaded; "
                                               "each device once.",
                            },
                            "read_bps": {"$ref": "#/$defs/rate",
                                         "description": "Bytes read per second, or max."},
                            "write_bps": {"$ref": "#/$defs/rate",
                                          "description": "Bytes written per second, or max."},
                            "read_iops": {"$ref": "#/$defs/iops",
                                          "description": "Reads per second, or max."},
                            "write_iops": {"$ref": "#/$defs/iops",
                                           "description": "Writes per second, or max."},
                        },
                    },
                },
            },
        },
        "restart": {
            "type": "object", "additionalProperties": False,
            "description": "When and how fast the program is restarted after it exits.",
            "properties": {
                "policy": {
                    "enum": ["always", "on-failure", "on-oom", "never"], "default": "on-failure",
                    "description": "always: any exit; on-failure: a non-zero code, a signal or "
                                   "an OOM kill; on-oom: OOM kills only; never. An exit caused "
                                   "by a stop request is never restarted.",
                },
                "backoff": {
                    "type": "object", "additionalProperties": False,
                    "description": "The n-th consecutive restart waits min(max, initial × "
                                   "factor^(n-1)), spread by ±jitter.",
                    "properties": {
                        "initial": duration("Wait before the first restart.", "1s"),
                        "max": duration("Longest wait; at least initial.", "60s"),
                        "factor": {
                            "type": "number", "minimum": 1, "maximum": 100, "default": 2,
                            "description": "Each consecutive restart waits this many times "
                                           "longer (1 to 100).",
                        },
                        "jitter": {
                            "type": "number", "minimum": 0, "maximum": 1, "default": 0.1,
                            "description": "Random spread of each wait, as a fraction (0.1 = "
                                           "±10%).",
                        },
                    },
                },
                "reset_after": duration("A run that lasts this long resets the backoff.", "60s"),
                "limit": {
                    "type": "object", "additionalProperties": False,
                    "description": "More than burst restarts inside interval put the program "
                                   "in the fatal state until an operator starts it.",
                    "properties": {
                        "burst": {
                            "type": "integer", "minimum": 1, "maximum": 10000, "default": 5,
                            "description": "Restarts allowed inside interval.",
                        },
                        "interval": {
                            "type": "string", "pattern": duration_pattern(minimum=1),
                            "description": "The window in which restarts are counted; more "
                                           "than zero.",
                            "default": "120s",
                        },
                    },
                },
            },
        },
        "start": {
            "type": "object", "additionalProperties": False,
            "description": "How a start is judged.",
            "properties": {
                "settle": duration("A start counts as running after this long.", "1s"),
            },
        },
        "stop": {
            "type": "object", "additionalProperties": False,
            "description": "How the program is stopped.",
            "properties": {
                "signal": {
                    "type": "string", "pattern": signal_pattern(), "default": "TERM",
                    "description": "Sent to the main process: a name with or without SIG, in "
                                   "any case (TERM, SIGINT, quit). STOP, TSTP, TTIN, TTOU, CONT, "
                                   "WINCH and URG are refused: they do not end a program.",
                },
                "timeout": duration("After this long, everything left in the cgroup is "
                                    "killed.", "10s"),
            },
        },
        "stdout": {
            "type": "object", "additionalProperties": False,
            "description": "Where the program's standard output goes.",
            "properties": {
                "file": {
                    "description": "auto: <log_dir>/<name>.stdout.log; inherit: the manager's "
                                   "stdout; null (or \"null\"): discarded; otherwise a file "
                                   "path, relative to the configuration file's folder.",
                    "anyOf": [
                        {"type": "null"},
                        {"type": "string", "minLength": 1,
                         "pattern": "^(?!(?:stdout|stderr)$)[\\s\\S]*[^/]$"},
                    ],
                    "default": "auto",
                },
                **output_keys,
            },
        },
        "stderr": {
            "type": "object", "additionalProperties": False,
            "description": "Where the program's standard error goes.",
            "properties": {
                "file": {
                    "description": "As stdout.file (auto is <log_dir>/<name>.stderr.log), and "
                                   "stdout: merged into the program's stdout.",
                    "anyOf": [
                        {"type": "null"},
                        {"type": "string", "minLength": 1,
                         "pattern": "^(?!stderr$)[\\s\\S]*[^/]$"},
                    ],
                    "default": "auto",
                },
                **output_keys,
            },
        },
        "depends_on": {
            "description": "The programs this one needs (docs/health.md): started first, and "
                           "stopped after it. A list of names (each: started), or a mapping of "
                           "names to a condition or to {condition, restart}. Each name is "
                           "another program of the file, without cycles (--check says which). "
                           "Not in defaults:.",
            "anyOf": [
                {"type": "array", "uniqueItems": True,
                 "items": {"type": "string", "pattern": PROGRAM_NAME}},
                {"type": "object",
                 "propertyNames": {"pattern": PROGRAM_NAME},
                 "additionalProperties": {
                     "anyOf": [
                         {"$ref": "#/$defs/dependencyCondition"},
                         {"type": "object", "additionalProperties": False,
                          "required": ["condition"],
                          "properties": {
                              "condition": {
                                  "$ref": "#/$defs/dependencyCondition",
                                  "description": "What this program waits for.",
                              },
                              "restart": {
                                  "type": "boolean", "default": False,
                                  "description": "Restart this program whenever the "
                                                 "dependency restarts.",
                              },
                          }},
                     ],
                 }},
            ],
        },
    }


def schema():
    program_settings = {
        "type": "object",
        "additionalProperties": False,
        "properties": program_properties(),
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://climits-manager.invalid/schemas/programs.schema.json",
        "title": "climits-manager programs.yaml",
        "description": "The programs climits-manager supervises, each in a memory-limited "
                       "cgroup of its own. Reference: docs/configuration.md; check a file with "
                       "climits-manager --check -c FILE.",
        "type": "object",
        "additionalProperties": False,
        "required": ["programs"],
        "properties": {
            "version": {
                "type": "integer", "const": 1, "default": 1,
                "description": "The version of this format; optional, and 1 is the only one.",
            },
            "manager": {
                "type": "object", "additionalProperties": False,
                "description": "Settings of the manager itself.",
                "properties": {
                    "cgroup_root": {
                        "type": "string",
                        "pattern": "^(?:auto|(?![\\s\\S]*/\\.\\./)(?![\\s\\S]*/\\.\\.$)/[\\s\\S]*)$",
                        "default": "auto",
                        "description": "auto: a subtree of the manager's own cgroup; or an "
                                       "absolute path (without ..) used as given.",
                    },
                    "control_socket": {
                        "type": "string", "minLength": 1, "maxLength": UNIX_SOCKET_PATH_MAX,
                        "default": "/run/climits-manager/control.sock",
                        "description": "The control socket climits-ctl talks to; relative to "
                                       "the configuration file's folder; at most 107 bytes "
                                       "once resolved.",
                    },
                    "control_group": {
                        "description": "A group (name or id) allowed to use the control socket "
                                       "besides root; it must exist. Unset: root only.",
                        "anyOf": [
                            {"type": "string", "pattern": ACCOUNT},
                            {"type": "integer", "minimum": 0, "maximum": 9_999_999_999},
                        ],
                    },
                    "log_level": {
                        "enum": ["trace", "debug", "info", "warn", "error"], "default": "info",
                        "description": "The manager's own log level (--log-level overrides it).",
                    },
                    "log_dir": {
                        "type": "string", "minLength": 1, "default": "/var/log/climits-manager",
                        "description": "Where file: auto writes; relative to the configuration "
                                       "file's folder.",
                    },
                },
            },
            "defaults": {
                **program_settings,
                "properties": {key: value for key, value in program_properties().items()
                               if key != "depends_on"},
                "description": "Any program key; every program inherits it, mappings merging "
                               "key by key (a program's memory: {high: 50M} keeps the default "
                               "memory.max).",
            },
            "programs": {
                "type": "object",
                "description": "The programs, by name. A name is 1 to 64 of A-Z a-z 0-9 _ . - "
                               "(not . or ..); it names the cgroup and the log files.",
                "propertyNames": {"pattern": PROGRAM_NAME},
                "additionalProperties": {
                    **program_settings,
                    "description": "One program.",
                },
                "default": {},
            },
        },
        # command is required in every program unless defaults: gives one.
        "if": {"required": ["defaults"],
               "properties": {"defaults": {"type": "object", "required": ["command"]}}},
        "else": {"properties": {"programs": {"additionalProperties": {"required": ["command"]}}}},
        "$defs": {
            "duration": {
                "description": "0, or a whole number with a unit: 500ms, 10s, 5m, 1h; at most "
                               "a year (8760h).",
                "anyOf": [
                    {"type": "string", "pattern": duration_pattern()},
                    {"type": "integer", "const": 0},
                ],
            },
            "limit": {
                "description": "A size: bytes (at least 4096 without a unit), or a whole "
                               "number with K, M, G or T (powers of 1024), more than zero; or "
                               "max for no limit.",
                "anyOf": [
                    {"type": "string", "pattern": size_pattern(MIN_PLAIN_BYTES)},
                    {"type": "integer", "minimum": MIN_PLAIN_BYTES, "maximum": INT64_MAX},
                ],
            },
            "dependencyCondition": {
                "enum": ["started", "ready", "succeeded"],
                "description": "started: the dependency has a live process; ready: it is "
                               "running; succeeded: it exited 0 since it was last started.",
            },
            "rate": {
                "description": "A rate in bytes per second: a whole number, or one with K, M, G "
                               "or T (powers of 1024), more than zero; or max for none.",
                "anyOf": [
                    {"type": "string", "pattern": size_pattern(1)},
                    {"type": "integer", "minimum": 1, "maximum": INT64_MAX},
                ],
            },
            "iops": {
                "description": "Operations per second, a whole number from 1; or max for none.",
                "anyOf": [
                    {"type": "integer", "minimum": 1, "maximum": INT64_MAX},
                    {"const": "max"},
                ],
            },
            "swapSize": {
                "description": "A size: bytes, or a whole number with K, M, G or T (powers of "
                               "1024); 0 allowed; or max for no limit.",
                "anyOf": [
                    {"type": "string", "pattern": size_pattern(0)},
                    {"type": "integer", "minimum": 0, "maximum": INT64_MAX},
                ],
            },
        },
    }


def render():
    return json.dumps(schema(), indent=2, ensure_ascii=False) + "\n"


def main():
    text = render()
    if sys.argv[1:] == ["--check"]:
        if OUTPUT.read_text() != text:
            print(f"{OUTPUT} is out of date: run {pathlib.Path(__file__).name}", file=sys.stderr)
            return 1
        return 0
    OUTPUT.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
