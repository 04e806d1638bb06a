#!/usr/bin/env python3
"""Keeps schemas/programs.schema.json and the loader (climits-manager --check) in agreement.

1. The schema is a valid draft 2020-12 schema, and is what schemas/generate.py writes.
2. Every file in configs/, tests/fixtures/good/ and tests/fixtures/bad/ gets the same verdict
   (valid or not) from the schema, applied to the document as PyYAML's safe_load reads it,
   and from the loader. Exceptions, each listed below by name with its reason:
   - files PyYAML cannot read, or whose top level is not a mapping (syntax-level fixtures):
     counted and printed; the loader must refuse them too;
   - KNOWN_DISAGREEMENTS: rules the schema cannot express (the loader must refuse the file
     and the schema must accept it, or the entry is stale and the test fails);
   - NOT_EXPANDED: alias bombs jsonschema would expand (the loader must refuse them, and the
     document must really be huge when expanded).
3. The value languages (sizes, durations, signals, names, umask, …) agree on a list of edge
   cases, each tried through the real loader and the schema; KNOWN_VALUE_DISAGREEMENTS lists
   the YAML 1.1 typing differences that no schema can see, and asserts they still differ.

usage: check_schema.py CLIMITS_MANAGER SOURCE_DIR
Prints "N passed, M failed" last; exits non-zero on any failure.
"""
import json
import os
import pathlib
import re
import subprocess
import sys
import tempfile

import jsonschema
import yaml

# Fixtures the loader refuses for a reason JSON Schema cannot state. Each must be refused by
# the loader and accepted by the schema.
KNOWN_DISAGREEMENTS = {
    "control-group-missing.yaml":
        "whether a group exists is a fact of the host (getgrnam), not of the file",
    "user-group-missing.yaml":
        "whether a user or group exists is a fact of the host (getpwnam, getgrnam), not of the "
        "file",
    "backoff-max-below-initial.yaml":
        "restart.backoff.max >= initial compares two durations; JSON Schema compares a value "
        "with constants only",
    "backoff-defaults-below-initial.yaml":
        "the same comparison, with initial and max coming from defaults: and the program",
    "same-log-file.yaml":
        "two streams writing one file is a relation between values of different programs",
    "same-log-file-from-defaults.yaml":
        "the same relation, with the file inherited from defaults:",
    "duplicate-program.yaml":
        "PyYAML keeps the last of two equal keys without a word, so the schema never sees the "
        "first program",
    "duplicate-keys.yaml":
        "PyYAML keeps the last of two equal keys, at every level",
    "depends-on-cycle.yaml":
        "a cycle is a relation between programs' depends_on: JSON Schema checks each value alone",
    "depends-on-unknown.yaml":
        "whether a name is another program of the file relates a value to the file's keys",
    "merge-key.yaml":
        "PyYAML applies YAML 1.1 merge keys (<<), which the loader refuses (defaults: does "
        "that job); the merged document is valid",
}

# Documents that expand exponentially through aliases: jsonschema would format the whole
# expansion into its error message (9^9 strings). Each must be refused by the loader.
NOT_EXPANDED = {
    "billion-laughs-walked.yaml":
        "the alias bomb sits in command and environment, whose type errors jsonschema reports "
        "with the value expanded",
}
EXPANSION_LIMIT = 1_000_000

# The value languages, tried one value at a time. A case is (YAML text, where it goes).
SIZE_CASES = {
    "limit": ["4096", '"4096"', "0004096", "4095", '"4095"', "60", "0", '"0"', "0M", "0k",
              "1K", "1k", "60M", "60m", "2G", "8388607T", "8388608T", "8796093022207M",
              "8796093022208M", "9007199254740991K", "9007199254740992K", "8589934591G",
              "8589934592G", "9223372036854775807", "9223372036854775808",
              '"00000000000000000001K"', '"000000000000000000001K"', "max", '"max"', "Max",
              "MAX", '""', "-1", "-5M", "1.5G", "60MB", "M", "60Q", "1e6", "+5", '" 60M"',
              '"60M "', "4096.5", "[60M]", "{a: 1}", "~",
              # YAML 1.1 integers that are not digits
              "0x1000", "4096.0", "1_000_000", "07777"],
    "swap": ["0", '"0"', "0M", "0t", "1", "60", "4095", "max", "9223372036854775807",
             "9223372036854775808", "8388607T", "8388608T", "-1", "60Q", '""', "~", "0x10", "1_0"],
}
DURATION_CASES = ["0", '"0"', "0s", "0ms", "0m", "0h", "500ms", "10s", "5m", "1h", "8760h",
                  "8761h", "525600m", "525601m", "31536000s", "31536001s", "31536000000ms",
                  "31536000001ms", '"00010s"', '"000000000000000000010s"', "10", '"10"',
                  "1d", "1.5s", "-1s", "10S", "10Ms", "s", "ms", '"10 s"', '""', "1m30s",
                  "~", "[1s]", "00", "0o0"]
SIGNAL_CASES = ["TERM", "SIGTERM", "term", "sigterm", "SigInt", "Kill", "usr1", "USR2",
                "VTALRM", "PWR", "STOP", "SIGSTOP", "SIGCONT", "TSTP", "TTIN", "TTOU", "WINCH",
                "URG", "15", '"15"', "FOO", "SIG", "SIGSIGTERM", '"SIGTERM "', '""', "~"]
UMASK_CASES = ['"022"', "022", "22", '"0022"', "0o22", "0777", "777", "0", "00", '"7"',
               "0o777", "600", "0o0777", "0888", '"0888"', "1777", "778", '"00000"', '"-022"',
               "0o", "u=rwx", '""', "true", "~", "8", "0o8"]
NAME_CASES = ["web", "a", "my-app_2.service", "..x", "x..", "A-Z", "_", "-", "a" * 64,
              "a" * 65, '"."', '".."', '"..."', '"a/b"', '"../x"', '"with space"', '"a:b"',
              '"ünï"', '""', "1234", '"yes"', '"tab\\t"']
ENV_NAME_CASES = ["A", "_x", "GOGC", "a1", "_", "1A", '"A-B"', '"A B"', '"a.b"', '""', "É"]
ACCOUNT_CASES = ["nobody", "www-data", "_apt", "user$", "a" * 32, "a" * 33, "1000", '"1000"',
                 "0", "9999999999", "99999999999", '"Bad User"', "Root", '"-x"', '""', "a.b",
                 "~", "1_000"]
BOOLEAN_CASES = ["true", "false", "True", "FALSE", "yes", "No", "on", "OFF", '"true"', '"yes"',
                 "1", "0", "y", "n", "~"]
STDOUT_FILE_CASES = ["auto", "inherit", "null", "~", '"null"', "/var/log/x.log", "./stdout",
                     "rel.log", "stdout", "stderr", "/tmp/x/", '""', "[a]"]
STDERR_FILE_CASES = ["auto", "stdout", "stderr", "inherit", "./stderr", "/tmp/y/"]
PIDS_CASES = ["1", "4194304", "4194305", "0", "-1", "max", '"max"', '"256"', '""', "MAX",
              "1.5", "~", "0x10"]
COMMAND_CASES = ['"sleep 1"', "[sleep, 1]", "[x]", "[x, 1.5, true]", '""', '"   "', "[]",
                 '["", x]', "[x, [y]]", "[x, ~]", "{a: b}", "~"]
# The loader's words for a well-formed user or group name that this host does not have.
ACCOUNT_MISSING = re.compile(r': (user|group) "[^"]*" does not exist \(create it with')
NUMBER_CASES = {  # key in restart.backoff: cases
    "factor": ["1", "100", "2.5", "1.0", "0.5", "101", '"2"', ".inf", "true", "~", "1e1",
               "1.0e+1"],
    "jitter": ["0", "1", "0.5", ".5", "1.5", "-0.1", '"0.1"'],
}
INTEGER_CASES = ["0", "100", "101", "-1", '"5"', "1.5", "5.0", "~", "0x10", "+5"]  # memory.swappiness
CPU_SHARE_CASES = ["150%", "50%", "1%", "12.5%", "0.125%", "99999.999%", "100000%", "100000.0%",
                   "100000.5%", "100001%", "0%", "0.5%", "0050%", '"0000050%"', '"00000050%"',
                   "1.%", ".5%", "12.3456%", "150", "1.5", "-5%", "max", '"max"', "MAX", '""',
                   "~", "[1]", "50 %", "5e1%"]
PERCENT_CASES = ["20%", "1%", "100%", "0%", "101%", "020%", "0100%", "20", "5 %", '"20%"', "~",
                 "2.5%"]
PRESSURE_WINDOW_CASES = ["500ms", "499ms", "10s", "11s", "10000ms", "10001ms", "1s", "0s", "0",
                         "1m", "600ms", '"2s"', "~"]
WEIGHT_CASES = ["1", "100", "10000", "10001", "0", "-1", '"100"', "1.5", "~", "max"]
CGROUP_ROOT_CASES = ["auto", "/sys/fs/cgroup/x", "/", "/a/..b", "/a/b..", "/a/./b",
                     "relative", '""', "/..", "/a/..", "/a/../b", "auto/x", "./x", "Auto"]

# Differences that come from YAML 1.1 typing (what PyYAML turns a plain scalar into), which
# no schema can undo: the loader reads the text as written. Each must still differ.
HEX = "PyYAML reads 0x.. as a hexadecimal integer; the loader wants decimal digits"
UNDERSCORE = "PyYAML reads 1_000 as the integer 1000; the loader wants plain digits"
FLOAT_INTEGER = "PyYAML reads 5.0 as a float, and JSON Schema's integer includes 5.0 (in JSON " \
                "they are one number); the loader wants plain digits"
KNOWN_VALUE_DISAGREEMENTS = {
    ("size limit", "0x1000"): HEX,
    ("size limit", "4096.0"): FLOAT_INTEGER,
    ("size limit", "1_000_000"): UNDERSCORE,
    ("size limit", "07777"): "PyYAML reads 07777 as octal (4095, refused as too small); the "
                             "loader, like YAML 1.2, reads 7777 bytes",
    ("swap size", "0x10"): HEX,
    ("swap size", "1_0"): UNDERSCORE,
    ("duration", "00"): "PyYAML reads 00 as the integer 0, a valid duration; the loader accepts "
                        "only the text 0",
    ("umask", "8"): "PyYAML reads 8 as the integer 8, which is also what 010 gives; the schema "
                    "cannot tell them apart, the loader refuses the digit 8",
    ("account", "1_000"): UNDERSCORE,
    ("pids_max", "0x10"): HEX,
    ("whole number", "5.0"): FLOAT_INTEGER,
    ("whole number", "0x10"): HEX,
    ("whole number", "+5"): "PyYAML reads +5 as the integer 5; the loader wants digits",
    ("number (factor)", "1e1"): "YAML 1.1 floats need a dot, so PyYAML reads 1e1 as a string; "
                                "the loader reads it as 10",
}
# stdout.max_size is the same language as memory.max.
KNOWN_VALUE_DISAGREEMENTS.update({("size limit (max_size)", value): why for (language, value), why
                                  in list(KNOWN_VALUE_DISAGREEMENTS.items())
                                  if language == "size limit"})


def value_languages():
    """(language, cases, how one case becomes a program line or a whole file)."""
    line = lambda settings: (lambda i, v: f"  s{i}: {{command: x, {settings.format(v=v)}}}")
    languages = [
        ("size limit", SIZE_CASES["limit"], line("memory: {{max: {v}}}")),
        ("size limit (max_size)", SIZE_CASES["limit"], line("stdout: {{max_size: {v}}}")),
        ("swap size", SIZE_CASES["swap"], line("memory: {{swap_max: {v}}}")),
        ("duration", DURATION_CASES, line("stop: {{timeout: {v}}}")),
        ("duration (interval)", DURATION_CASES, line("restart: {{limit: {{interval: {v}}}}}")),
        ("signal", SIGNAL_CASES, line("stop: {{signal: {v}}}")),
        ("umask", UMASK_CASES, line("umask: {v}")),
        ("program name", NAME_CASES, lambda i, v: f"  {v}: {{command: x}}"),
        ("variable name", ENV_NAME_CASES, line("environment: {{{v}: x}}")),
        ("account", ACCOUNT_CASES, line("user: {v}")),
        ("boolean", BOOLEAN_CASES, line("autostart: {v}")),
        ("stdout file", STDOUT_FILE_CASES, line("stdout: {{file: {v}}}")),
        ("stderr file", STDERR_FILE_CASES, line("stderr: {{file: {v}}}")),
        ("pids_max", PIDS_CASES, line("pids_max: {v}")),
        ("command", COMMAND_CASES, lambda i, v: f"  s{i}: {{command: {v}}}"),
        ("whole number", INTEGER_CASES, line("memory: {{swappiness: {v}}}")),
        ("cpu share", CPU_SHARE_CASES, line("cpu: {{max: {v}}}")),
        ("weight (cpu)", WEIGHT_CASES, line("cpu: {{weight: {v}}}")),
        ("weight (io)", WEIGHT_CASES, line("io: {{weight: {v}}}")),
        ("pressure threshold", PERCENT_CASES,
         line("memory: {{pressure: {{threshold: {v}, window: 1s}}}}")),
        ("pressure window", PRESSURE_WINDOW_CASES,
         line("memory: {{pressure: {{threshold: 20%, window: {v}}}}}")),
    ]
    for key, cases in NUMBER_CASES.items():
        languages.append((f"number ({key})", cases, line("restart: {{backoff: {{%s: {v}}}}}" % key)))
    return languages


def run_loader(binary, path):
    result = subprocess.run([binary, "--check", "-c", path.name], cwd=path.parent,
                            capture_output=True, text=True, errors="replace", timeout=30)
    if result.returncode not in (0, 1):
        raise RuntimeError(f"{path.name}: --check exited {result.returncode}\n{result.stderr}")
    return result.returncode == 0, result.stderr


def expanded_size(document, limit):
    """Nodes in the document with aliases expanded, counted up to `limit`."""
    memo = {}

    def size(node):
        if not isinstance(node, (dict, list)):
            return 1
        if id(node) in memo:
            return memo[id(node)]
        children = node.values() if isinstance(node, dict) else node
        total = 1
        for child in children:
            total = min(limit, total + size(child))
        memo[id(node)] = total
        return total

    return size(document)


def first_error(validator, document):
    error = next(validator.iter_errors(document), None)
    if error is None:
        return "valid"
    where = "/".join(str(part) for part in error.absolute_path) or "(top)"
    return f"{where}: {error.message[:200]}"


class Checker:
    def __init__(self, binary, source):
        self.binary, self.source = binary, source
        self.passed, self.failures = 0, []

    def expect(self, condition, message):
        if condition:
            self.passed += 1
        else:
            self.failures.append(message)
            print("FAIL", message)

    def schema(self):
        path = self.source / "schemas/programs.schema.json"
        schema = json.loads(path.read_text())
        try:
            jsonschema.Draft202012Validator.check_schema(schema)
            self.expect(True, "")
        except jsonschema.SchemaError as e:
            self.expect(False, f"the schema is not a valid draft 2020-12 schema: {e.message}")
        generated = subprocess.run([sys.executable, str(self.source / "schemas/generate.py"),
                                    "--check"], capture_output=True, text=True)
        self.expect(generated.returncode == 0,
                    f"schemas/generate.py --check: {generated.stderr.strip()}")
        self.check_descriptions(schema, "#")
        return jsonschema.Draft202012Validator(schema)

    def check_descriptions(self, schema, where):
        """Every property has a description (editors show them), and every object that lists
        its properties refuses others, as the loader does."""
        if not isinstance(schema, dict):
            return
        schema = {k: v for k, v in schema.items() if k not in ("if", "then", "else", "not")}
        if "properties" in schema:
            self.expect(schema.get("additionalProperties") is False,
                        f"{where}: additionalProperties is not false")
            for name, sub in schema["properties"].items():
                self.expect("description" in sub, f"{where}/properties/{name}: no description")
        for key, sub in schema.items():
            if isinstance(sub, dict):
                self.check_descriptions(sub, f"{where}/{key}")
            elif isinstance(sub, list):
                for i, item in enumerate(sub):
                    self.check_descriptions(item, f"{where}/{key}/{i}")

    def files(self, validator):
        groups = [("configs", True), ("tests/fixtures/good", True), ("tests/fixtures/bad", False)]
        seen, syntax_level = set(), []
        for folder, should_be_valid in groups:
            for path in sorted((self.source / folder).glob("*.yaml")):
                seen.add(path.name)
                label = f"{folder}/{path.name}"
                loader_ok, loader_errors = run_loader(self.binary, path)
                self.expect(loader_ok == should_be_valid,
                            f"{label}: the loader says {'valid' if loader_ok else 'invalid'}")
                try:
                    document = yaml.safe_load(path.read_bytes())
                except (yaml.YAMLError, RecursionError) as e:
                    syntax_level.append((label, f"PyYAML: {type(e).__name__}"))
                    self.expect(not loader_ok, f"{label}: unreadable for PyYAML, yet the loader "
                                               "accepts it")
                    continue
                if not isinstance(document, dict):
                    syntax_level.append((label, f"top level is {type(document).__name__}"))
                    self.expect(not loader_ok, f"{label}: not a mapping, yet the loader "
                                               "accepts it")
                    continue
                if path.name in NOT_EXPANDED:
                    size = expanded_size(document, EXPANSION_LIMIT)
                    self.expect(not loader_ok and size >= EXPANSION_LIMIT,
                                f"{label}: in NOT_EXPANDED, but the loader accepts it or it "
                                f"expands to only {size} nodes")
                    print(f"not expanded: {label} ({NOT_EXPANDED[path.name]})")
                    continue
                schema_ok = validator.is_valid(document)
                if path.name in KNOWN_DISAGREEMENTS:
                    self.expect(not loader_ok and schema_ok,
                                f"{label}: listed as a known disagreement, but the loader says "
                                f"{'valid' if loader_ok else 'invalid'} and the schema "
                                f"{'valid' if schema_ok else 'invalid'}; update "
                                "KNOWN_DISAGREEMENTS")
                    print(f"known disagreement: {label} ({KNOWN_DISAGREEMENTS[path.name]})")
                    continue
                self.expect(schema_ok == loader_ok,
                            f"{label}: the loader says {'valid' if loader_ok else 'invalid'}, "
                            f"the schema says {first_error(validator, document)}\n"
                            f"loader:\n{loader_errors}")
        for name in list(KNOWN_DISAGREEMENTS) + list(NOT_EXPANDED):
            self.expect(name in seen, f"{name}: listed, but there is no such fixture")
        print(f"{len(syntax_level)} syntax-level files (not validated by the schema; refused "
              "by the loader):")
        for label, why in syntax_level:
            print(f"  {label}: {why}")

    def values(self, validator, folder):
        disagreements = set()
        for language, cases, make_line in value_languages():
            lines = [make_line(i, value) for i, value in enumerate(cases)]
            path = folder / "values.yaml"
            path.write_text("programs:\n" + "\n".join(lines) + "\n")
            _, errors = run_loader(self.binary, path)
            # Whether an account exists is a fact of the host, not of the file: a name the
            # loader refuses only for that has a valid form, which is what is compared.
            bad_lines = {int(m.group(1)) for m in
                         re.finditer(r"^values\.yaml:(\d+):\d+: (.*)$", errors, re.MULTILINE)
                         if not ACCOUNT_MISSING.search(m.group(2))}
            for i, (value, text) in enumerate(zip(cases, lines)):
                loader_ok = (i + 2) not in bad_lines
                document = yaml.safe_load("programs:\n" + text)
                schema_ok = validator.is_valid(document)
                key = (language, value)
                if key in KNOWN_VALUE_DISAGREEMENTS:
                    disagreements.add(key)
                    self.expect(schema_ok != loader_ok,
                                f"{language} {value}: listed as a known disagreement, but both "
                                f"say {'valid' if schema_ok else 'invalid'}")
                    continue
                self.expect(schema_ok == loader_ok,
                            f"{language} {value}: the loader says "
                            f"{'valid' if loader_ok else 'invalid'}, the schema says "
                            f"{first_error(validator, document)}")
        for value in CGROUP_ROOT_CASES:  # a manager key: one file each
            path = folder / "manager.yaml"
            path.write_text(f"manager: {{cgroup_root: {value}}}\nprograms: {{}}\n")
            loader_ok, _ = run_loader(self.binary, path)
            schema_ok = validator.is_valid(yaml.safe_load(path.read_text()))
            self.expect(schema_ok == loader_ok,
                        f"cgroup_root {value}: the loader says "
                        f"{'valid' if loader_ok else 'invalid'}, the schema "
                        f"{'valid' if schema_ok else 'invalid'}")
        for key in KNOWN_VALUE_DISAGREEMENTS:
            self.expect(key in disagreements, f"{key}: listed, but no such case is tried")
        print(f"{len(KNOWN_VALUE_DISAGREEMENTS)} known value disagreements (YAML 1.1 typing):")
        for (language, value), why in KNOWN_VALUE_DISAGREEMENTS.items():
            print(f"  {language} {value}: {why}")


def main():
    binary, source = os.path.abspath(sys.argv[1]), pathlib.Path(sys.argv[2]).resolve()
    checker = Checker(binary, source)
    validator = checker.schema()
    checker.files(validator)
    with tempfile.TemporaryDirectory() as folder:
        checker.values(validator, pathlib.Path(folder))
    print(f"{checker.passed} passed, {len(checker.failures)} failed")
    return 1 if checker.failures or checker.passed == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
