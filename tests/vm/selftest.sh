#!/usr/bin/env bash
# Self-test of the VM harness: boots the VM (via run.sh) and checks cgroup v2,
# the memory/pids controllers, a real OOM kill, zram swap, argument/env passing
# and exit-code propagation. Exit 0 only if everything passes.
# Usage: selftest.sh [--cache DIR]   (default cache as in run.sh)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache_args=()
if [ "${1:-}" = --cache ]; then cache_args=(--cache "${2:?}"); fi

work=$(mktemp -d /tmp/climits-vm-selftest.XXXXXX)
trap 'rm -rf "$work"' EXIT
chmod 755 "$work"

# Runs in the guest (host /bin/sh, inside the chroot of the host root).
cat >"$work/guest.sh" <<'GUEST'
#!/bin/sh
fails=0
ok() { echo "PASS: $*"; }
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }
check() { desc=$1; shift; if "$@"; then ok "$desc"; else bad "$desc"; fi; }
CG=/sys/fs/cgroup

echo "kernel: $(uname -r)"
# argument / environment passing
nl='
'
[ $# -eq 5 ] && [ "$1" = "a b" ] && [ "$2" = "it's" ] && [ "$3" = "" ] &&
    [ "$4" = "x${nl}y" ] && [ "$5" = '$HOME `id` *' ] && ok "args passed verbatim" ||
    bad "args: $# [$*]"
check "CLIMITS_IN_VM=1" [ "${CLIMITS_IN_VM:-}" = 1 ]
check "HOME=/root" [ "$HOME" = /root ]
check "PATH" [ "$PATH" = /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin ]
check "--env passed" [ "${SELFTEST_VAR:-}" = "v a l" ]
check "cwd /tmp" [ "$(pwd)" = /tmp ]
check "/tmp writable tmpfs" sh -c 'echo x >/tmp/f && grep -q " /tmp tmpfs " /proc/mounts'
check "/run, /dev/shm tmpfs" sh -c 'grep -q " /run tmpfs " /proc/mounts && grep -q " /dev/shm tmpfs " /proc/mounts'

# cgroup v2
check "cgroup2 mounted at $CG" grep -q " $CG cgroup2 " /proc/mounts
echo "subtree_control: $(cat $CG/cgroup.subtree_control)"
check "memory controller enabled" grep -qw memory $CG/cgroup.subtree_control
check "pids controller enabled" grep -qw pids $CG/cgroup.subtree_control
mkdir $CG/sel && echo 64M >$CG/sel/memory.max
check "child memory.max written/read back" [ "$(cat $CG/sel/memory.max)" = 67108864 ]
for f in memory.peak memory.swap.max memory.oom.group cgroup.kill pids.max; do
    check "$f exists" [ -e "$CG/sel/$f" ]
done
rmdir $CG/sel

# real OOM kill
mkdir $CG/t
echo 32M >$CG/t/memory.max
echo 0 >$CG/t/memory.swap.max
t0=$(cut -d' ' -f1 /proc/uptime)
sh -c 'echo $$ > /sys/fs/cgroup/t/cgroup.procs; exec python3 -c "b=bytearray(200*1024*1024)"' 2>/dev/null
st=$?
echo "oom child: exit status $st after $(cut -d' ' -f1 /proc/uptime)s (start $t0)"
check "OOM child killed by SIGKILL" [ "$st" -eq 137 ]
check "memory.events oom_kill 1" grep -qx "oom_kill 1" $CG/t/memory.events
grep -E '^(oom|oom_kill|max) ' $CG/t/memory.events | tr '\n' ' '; echo
rmdir $CG/t

# zram swap
if [ "${SELFTEST_EXPECT_SWAP:-0}" = 1 ]; then
    cat /proc/swaps
    check "zram swap active" grep -q '^/dev/zram0 ' /proc/swaps
    mkdir $CG/s
    echo 32M >$CG/s/memory.max
    sh -c 'echo $$ > /sys/fs/cgroup/s/cgroup.procs; exec python3 -c "b=bytearray(b\"x\"*(64*1024*1024))"'
    check "64M in a 32M cgroup survives by swapping" [ $? -eq 0 ]
    echo "s: $(grep -E '^oom_kill ' $CG/s/memory.events)"
    rmdir $CG/s
fi

if [ $fails -eq 0 ]; then echo "ALL PASS"; else echo "$fails FAILED"; fi
exit $fails
GUEST
chmod 755 "$work/guest.sh"

fails=0
pass() { echo "selftest: PASS: $*"; }
fail() { echo "selftest: FAIL: $*"; fails=$((fails + 1)); }

t=$SECONDS
rc=0
# shellcheck disable=SC2016  # the last argument is meant literally
out=$("$here/run.sh" ${cache_args[@]+"${cache_args[@]}"} --timeout 240 --swap 128M \
    --env 'SELFTEST_VAR=v a l' --env SELFTEST_EXPECT_SWAP=1 \
    -- "$work/guest.sh" 'a b' "it's" '' $'x\ny' '$HOME `id` *') || rc=$?
while IFS= read -r line; do echo "  guest| $line"; done <<<"$out"
if [ "$rc" -eq 0 ] && grep -q '^ALL PASS$' <<<"$out"; then
    pass "guest checks ($((SECONDS - t))s)"
else
    fail "guest checks: exit $rc ($((SECONDS - t))s)"
fi

t=$SECONDS
rc=0
"$here/run.sh" ${cache_args[@]+"${cache_args[@]}"} --timeout 120 -- /bin/false || rc=$?
if [ "$rc" -eq 1 ]; then pass "run.sh -- /bin/false exits 1 ($((SECONDS - t))s)"; else fail "/bin/false: exit $rc"; fi

t=$SECONDS
rc=0
"$here/run.sh" ${cache_args[@]+"${cache_args[@]}"} --timeout 2 -- /bin/true >/dev/null 2>&1 || rc=$?
if [ "$rc" -eq 125 ]; then pass "VM timeout gives 125 ($((SECONDS - t))s)"; else fail "VM timeout: exit $rc"; fi

if [ "$fails" -eq 0 ]; then echo "selftest: ALL PASS"; else echo "selftest: $fails FAILED"; fi
[ "$fails" -eq 0 ]
