#!/bin/bash
# The package under a real systemd: runs as root inside the VM of tests/vm/systemd-run.sh
# (systemd 252 as PID 1, cgroup v2), as a service of its own.
#
# Usage: systemd-test.sh DEB TEST_CONFIG
#
# Installs DEB with dpkg, then checks the service end to end: started by dpkg, started again
# with TEST_CONFIG (programs in cgroups below the service's delegated cgroup, the manager in
# its supervisor leaf), climits-ctl for a member of "climits" and not for others, an OOM kill
# that does not stop the service, logrotate and USR1, `systemctl reload` of an edited file
# (limit changed live, same PIDs), a manager killed and restarted by systemd, a broken file
# refused by ExecStartPre, `systemctl stop`
# (no process, no program cgroup left), `dpkg --purge`. One line per check; exit 0 only if
# every check passed.
# shellcheck disable=SC2016  # wait_for gets shell code in single quotes, evaluated at each try
set -u
deb=${1:?usage: systemd-test.sh DEB TEST_CONFIG}
test_config=${2:?usage: systemd-test.sh DEB TEST_CONFIG}
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export LC_ALL=C.UTF-8 SYSTEMD_PAGER='' DEBIAN_FRONTEND=noninteractive

unit=climits-manager.service
conf=/etc/climits-manager/programs.yaml
S=/sys/fs/cgroup/system.slice/$unit
t0=$(cut -d' ' -f1 /proc/uptime)
fails=0
checks=0
stamp() { awk -v t0="$t0" '{ printf "%6.1fs", $1 - t0 }' /proc/uptime; }
pass() { checks=$((checks + 1)); echo "$(stamp) PASS: $*"; }
fail() { checks=$((checks + 1)); fails=$((fails + 1)); echo "$(stamp) FAIL: $*"; }
check() { local what=$1; shift; if "$@"; then pass "$what"; else fail "$what"; fi; }
note() { echo "$(stamp) ---- $*"; }
# wait_for SECONDS 'SHELL CODE': until the code succeeds, evaluated afresh every 0.2 s.
wait_for() {
    local deadline=$(($(date +%s) + $1)); shift
    until eval "$1"; do
        [ "$(date +%s)" -lt "$deadline" ] || return 1
        sleep 0.2
    done
}
main_pid() { systemctl show -p MainPID --value "$unit"; }
prop() { systemctl show -p "$1" --value "$unit"; }
program_pid() { head -n1 "$S/program-$1/cgroup.procs" 2>/dev/null; }
ctl_json() { climits-ctl status --json 2>&1; }
# json_field PROGRAM EXPRESSION: a field of one program in `climits-ctl status --json`.
json_field() {
    ctl_json | python3 -c '
import json, sys
programs = {p["name"]: p for p in json.load(sys.stdin)["programs"]}
p = programs[sys.argv[1]]
print(eval(sys.argv[2], {}, {"p": p}))' "$1" "$2" 2>/dev/null
}
journal() { journalctl -u "$unit" -b --no-pager -o cat 2>/dev/null; }
journal_all() { journalctl -b --no-pager -o cat 2>/dev/null; }
dump() { echo "----- $*"; "$@" 2>&1 | sed 's/^/    /'; }

echo "systemd $(systemctl --version | head -n1 | cut -d' ' -f2), kernel $(uname -r), system $(systemctl is-system-running)"
check "cgroup v2 is mounted at /sys/fs/cgroup" grep -q "^cgroup2 /sys/fs/cgroup cgroup2 " /proc/mounts

# ------------------------------------------------------------------ install
note "dpkg -i $(basename "$deb")"
if dpkg -i "$deb" >/tmp/dpkg-i.log 2>&1; then pass "dpkg -i succeeds"; else fail "dpkg -i succeeds"; cat /tmp/dpkg-i.log; fi
check "the group climits exists (postinst)" getent group climits
check "/etc/climits-manager/programs.yaml is a conffile" \
    grep -qx " /etc/climits-manager/programs.yaml [0-9a-f]*" <(dpkg-query -W -f='${Conffiles}\n' climits-manager)
check "the helper is in /usr/libexec/climits-manager" test -x /usr/libexec/climits-manager/climits-exec
check "the shipped example passes climits-manager --check" climits-manager --check -c "$conf"
check "the unit is enabled (dh_installsystemd)" test "$(systemctl is-enabled "$unit")" = enabled
check "dpkg started the service with the example (nothing to run): active" \
    wait_for 20 'test "$(systemctl is-active "$unit")" = active'
check "unit: Type=notify, Delegate=yes, KillMode=mixed" \
    test "$(prop Type) $(prop Delegate) $(prop KillMode)" = "notify yes mixed"

# ------------------------------------------------------------------ start with the test file
note "systemctl stop; copy the test configuration; systemctl start"
systemctl stop "$unit"
cp "$test_config" "$conf"
if systemctl start "$unit"; then pass "systemctl start returns 0 (READY=1 received)"; else fail "systemctl start returns 0"; fi
check "the service is active" test "$(systemctl is-active "$unit")" = active
mpid=$(main_pid)
check "the manager is the main PID ($mpid) and in the supervisor leaf" \
    grep -qx "0::/system.slice/$unit/supervisor" "/proc/$mpid/cgroup"
check "the service's own cgroup holds no process" test -z "$(cat "$S/cgroup.procs")"
check "memory and pids are enabled for the programs" \
    grep -qE "^(.* )?memory( .*)?$" "$S/cgroup.subtree_control"
check "pids is enabled for the programs" grep -qw pids "$S/cgroup.subtree_control"
wait_for 15 'test -n "$(program_pid sleeper1)" -a -n "$(program_pid sleeper2)"'
for p in sleeper1 sleeper2; do
    pid=$(program_pid "$p")
    check "$p runs in $S/program-$p (pid ${pid:-none}, sleep)" \
        test -n "$pid" -a "$(cat "/proc/${pid:-0}/comm" 2>/dev/null)" = sleep
done
check "sleeper1: memory.max = 32M" test "$(cat "$S/program-sleeper1/memory.max")" = 33554432
check "sleeper2: memory.max = 64M, memory.high = 48M, pids.max = 16" \
    test "$(cat "$S/program-sleeper2/memory.max") $(cat "$S/program-sleeper2/memory.high") $(cat "$S/program-sleeper2/pids.max")" = "67108864 50331648 16"
check "nothing else in the service's cgroup (supervisor, program-*, systemd's .control)" \
    test -z "$(find "$S" -mindepth 1 -maxdepth 1 -type d ! -name supervisor ! -name 'program-*' ! -name .control)"

# ------------------------------------------------------------------ climits-ctl and the socket
note "climits-ctl"
check "the socket is 0660 root:climits" \
    test "$(stat -c '%a %U:%G' /run/climits-manager/control.sock)" = "660 root:climits"
gid=$(getent group climits | cut -d: -f3)
as_member=(setpriv --reuid=nobody --regid=nogroup --groups="$gid")
as_other=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
if out=$("${as_member[@]}" climits-ctl status 2>&1); then
    pass "climits-ctl status works for nobody in the group climits"
else
    fail "climits-ctl status works for nobody in the group climits: $out"
fi
while IFS= read -r line; do echo "    $line"; done <<<"$out"
check "the table lists sleeper1 and sleeper2 running" \
    test "$(echo "$out" | awk '$1 ~ /^sleeper[12]$/ && $2 == "running"' | wc -l)" = 2
if out=$("${as_other[@]}" climits-ctl status 2>&1); then
    fail "climits-ctl status is refused to nobody outside the group (it worked)"
else
    pass "climits-ctl status is refused to nobody outside the group: $out"
fi
check "status --json: sleeper1's pid is the one in its cgroup" \
    test "$(json_field sleeper1 'p["pid"]')" = "$(program_pid sleeper1)"

# ------------------------------------------------------------------ an OOM kill
note "OOM kill of hog (memory.max 16M)"
hog_oom_killed() {
    test "$(json_field hog '(p["oom_kills"], (p["last_exit"] or {}).get("kind"))')" = "(1, 'oom-killed')"
}
check "hog is OOM-killed and counted (oom_kills 1, last exit oom-killed)" \
    wait_for 30 hog_oom_killed
check "the kernel counted it in program-hog's memory.events" grep -qx "oom_kill 1" "$S/program-hog/memory.events"
check "the service stays active after an OOM kill (OOMPolicy=continue), same main PID" \
    test "$(systemctl is-active "$unit") $(main_pid)" = "active $mpid"

# ------------------------------------------------------------------ logrotate and USR1
note "logrotate -f /etc/logrotate.d/climits-manager"
log=/var/log/climits-manager/sleeper1.stdout.log
check "sleeper1's output is in $log" grep -q "sleeper1 started" "$log"
p1=$(program_pid sleeper1)
p2=$(program_pid sleeper2)
if command -v logrotate >/dev/null; then
    logrotate -f -s /tmp/logrotate.state /etc/logrotate.d/climits-manager
    check "logrotate moved the file to $log.1" grep -q "sleeper1 started" "$log.1"
    check "the manager reopened its output file after USR1 (journal)" \
        wait_for 10 'journal | grep -q SIGUSR1'
    check "... and recreated $log" wait_for 10 'test -e "$log"'
else
    note "logrotate is not installed: sending USR1 as its postrotate does"
    systemctl kill --kill-whom=main --signal=USR1 "$unit"
fi
check "USR1 reached the manager only: programs and manager still there, same PIDs" \
    test "$(program_pid sleeper1) $(program_pid sleeper2) $(main_pid)" = "$p1 $p2 $mpid"

# ------------------------------------------------------------------ reload
note "edit sleeper1's memory.max to 48M; systemctl reload"
sed -i 's/memory: {max: 32M}/memory: {max: 48M}/' "$conf"
if systemctl reload "$unit"; then pass "systemctl reload returns 0"; else fail "systemctl reload returns 0"; fi
check "sleeper1's memory.max is 48M in the live cgroup" \
    wait_for 10 'test "$(cat "$S/program-sleeper1/memory.max")" = 50331648'
check "same PIDs after the reload (manager, sleeper1, sleeper2)" \
    test "$(main_pid) $(program_pid sleeper1) $(program_pid sleeper2)" = "$mpid $p1 $p2"
check "the service is active after the reload" test "$(systemctl is-active "$unit")" = active
check "the reload is logged with its summary" sh -c "journalctl -u $unit -b --no-pager -o cat | grep -q 'reload: .*updated live'"
if out=$(climits-ctl reload 2>&1); then pass "climits-ctl reload: $out"; else fail "climits-ctl reload: $out"; fi

# ------------------------------------------------------------------ the manager dies
note "SIGKILL to the manager: systemd kills the rest and restarts it (Restart=on-failure)"
systemctl kill --kill-whom=main --signal=KILL "$unit"
restarted() {
    local pid
    pid=$(main_pid)
    [ "$(systemctl is-active "$unit")" = active ] && [ "$pid" != 0 ] && [ "$pid" != "$mpid" ] &&
        [ -n "$(program_pid sleeper1)" ] && [ -n "$(program_pid sleeper2)" ]
}
check "systemd restarts the manager (new main PID), which starts the programs again" \
    wait_for 60 restarted
check "the old programs are gone: one copy of each runs" \
    test ! -e "/proc/$p1" -a ! -e "/proc/$p2" -a "$(pgrep -xc sleep)" = 2
mpid=$(main_pid)

# ------------------------------------------------------------------ stop
note "systemctl stop"
if systemctl stop "$unit"; then pass "systemctl stop returns 0"; else fail "systemctl stop returns 0"; fi
check "the service is inactive" test "$(systemctl is-active "$unit")" = inactive
check "the manager exited 0 (clean shutdown, Result=success)" \
    test "$(prop ExecMainStatus) $(prop Result)" = "0 success"
check "no program cgroup is left" test -z "$(find /sys/fs/cgroup -name 'program-*' -type d)"
check "no program process is left" sh -c "! pgrep -x sleep && ! pgrep -x tail"
check "no manager process is left" sh -c "! pgrep -x climits-manager"
check "the socket is gone" test ! -e /run/climits-manager/control.sock
check "the journal shows the programs stopped and a clean shutdown" \
    sh -c "journalctl -u $unit -b --no-pager -o cat | grep -q 'clean shutdown'"

# ------------------------------------------------------------------ a broken file
note "a broken file: ExecStartPre (--check) refuses it"
cp "$conf" /tmp/good.yaml
sed -i 's/memory: {max: 48M}/memory: {max: 48Q}/' "$conf"
# The starts above (the first, the one after a config change, systemd's restart after the
# SIGKILL) may all lie within StartLimitIntervalSec=60 on a fast host, and a fourth start would
# then be refused by the start limit before ExecStartPre runs: the counter starts afresh here.
systemctl reset-failed "$unit"
if systemctl start "$unit" 2>/dev/null; then fail "systemctl start fails with a broken file"; else pass "systemctl start fails with a broken file"; fi
# journald stores the ExecStartPre's stderr asynchronously: the line may land a moment after
# systemctl has returned, so it is waited for.
check "the journal has the located error" \
    wait_for 10 "journalctl -u $unit -b --no-pager -o cat | grep -q 'programs.yaml:[0-9]*:[0-9]*: programs.sleeper1.memory.max: \"48Q\" is not a size'"
check "no program was started" test -z "$(find /sys/fs/cgroup -name 'program-*' -type d)"
check "systemd retries, then gives up (StartLimitBurst=3): failed" \
    wait_for 60 'test "$(prop ActiveState)" = failed'
check "... with \"Start request repeated too quickly\" in the journal" \
    wait_for 10 'journal_all | grep -q "climits-manager.service: Start request repeated too quickly"'
cp /tmp/good.yaml "$conf"
systemctl reset-failed "$unit"
if systemctl start "$unit"; then pass "fixed file, reset-failed: systemctl start works"; else fail "fixed file, reset-failed: systemctl start works"; fi
check "... and the programs run again" \
    wait_for 15 'test -n "$(program_pid sleeper1)" -a -n "$(program_pid sleeper2)"'

# ------------------------------------------------------------------ purge
note "dpkg --purge"
if dpkg --purge climits-manager >/tmp/dpkg-purge.log 2>&1; then pass "dpkg --purge succeeds"; else fail "dpkg --purge succeeds"; cat /tmp/dpkg-purge.log; fi
check "the package is gone from dpkg" sh -c "! dpkg-query -W -f='\${Status}' climits-manager 2>/dev/null | grep -q installed"
for path in /usr/bin/climits-manager /usr/bin/climits-ctl /usr/libexec/climits-manager \
    /lib/systemd/system/$unit /etc/climits-manager /etc/logrotate.d/climits-manager \
    /var/log/climits-manager /etc/systemd/system/multi-user.target.wants/$unit; do
    check "removed: $path" test ! -e "$path"
done
check "systemd no longer knows the unit" \
    test "$(systemctl show -p LoadState --value "$unit")" = not-found
check "no process or program cgroup is left" \
    sh -c "! pgrep -x climits-manager && test -z \"\$(find /sys/fs/cgroup -name 'program-*')\""

if [ "$fails" -ne 0 ]; then
    dump journalctl -u "$unit" -b --no-pager -o short-monotonic
fi
echo "$((checks - fails))/$checks checks passed in $(stamp | tr -d ' ')"
[ "$fails" -eq 0 ]
