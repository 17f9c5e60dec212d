#!/usr/bin/env bash
# check_rig.sh: the two-host rig itself keeps its promises. Builds where.c with mpicc and,
# through tests/twohost/rig.sh, checks: 2 ranks on each of two hosts with their own names,
# MPI's split by shared memory agrees, an MPI_Allreduce crosses hosts; each host sees only
# loopback and the test network and its own empty /dev/shm (nothing reaches this machine's);
# a job that aborts gives its status and leaves no process and no namespace; a rank that
# leaves a process behind makes the rig fail and name it.
#   tests/twohost/check_rig.sh        # exit 0 pass, 1 fail, 77 skip (not root, no netns)
set -u
here=$(cd "$(dirname "$0")" && pwd)
rig=$here/rig.sh
failures=0
fail() { echo "check_rig: FAIL: $*" >&2; failures=$((failures + 1)); }

command -v mpicc >/dev/null || { echo "check_rig: SKIP: no mpicc (libopenmpi-dev)"; exit 77; }
work=$(mktemp -d /tmp/check-rig.XXXXXX)
trap 'rm -rf "$work"' EXIT
mpicc -O2 -o "$work/where" "$here/where.c" || { echo "check_rig: FAIL: mpicc where.c" >&2; exit 1; }
cat >"$work/abort.c" <<'EOF'
#include <mpi.h>
#include <unistd.h>
int main(int argc, char** argv) {
    int rank;
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    if (rank == 3) MPI_Abort(MPI_COMM_WORLD, 5); /* on the second host */
    for (;;) sleep(1);                            /* the others wait to be stopped */
}
EOF
mpicc -O2 -o "$work/abort" "$work/abort.c" || { echo "check_rig: FAIL: mpicc abort.c" >&2; exit 1; }
shm_before=$(ls /dev/shm | sort)

"$rig" "$work/where" >"$work/where.out" 2>"$work/where.err"
status=$?
[ $status -eq 77 ] && { cat "$work/where.err"; exit 77; }
[ $status -eq 0 ] || fail "where: exit $status: $(head -c 600 "$work/where.err")"
expected="rank=0 host=twohost-a ranks_on_host=2 sum=6
rank=1 host=twohost-a ranks_on_host=2 sum=6
rank=2 host=twohost-b ranks_on_host=2 sum=6
rank=3 host=twohost-b ranks_on_host=2 sum=6"
[ "$(sort "$work/where.out")" = "$expected" ] || fail "where printed: $(cat "$work/where.out")"

# Per rank: its host, its interfaces' addresses, what its /dev/shm holds after it made a
# file there (the other host's rank must not see it).
"$rig" sh -c 'touch /dev/shm/rig-check-$(hostname); sleep 1
  echo "$(hostname) $(ip -o -4 addr show | awk "{print \$4}" | sort | tr "\n" " ")$(ls /dev/shm | tr "\n" " ")"' \
  >"$work/ns.out" 2>"$work/ns.err" || fail "namespaces: exit $?: $(head -c 600 "$work/ns.err")"
expected="twohost-a 10.199.42.1/24 127.0.0.1/8 rig-check-twohost-a 
twohost-a 10.199.42.1/24 127.0.0.1/8 rig-check-twohost-a 
twohost-b 10.199.42.2/24 127.0.0.1/8 rig-check-twohost-b 
twohost-b 10.199.42.2/24 127.0.0.1/8 rig-check-twohost-b "
[ "$(sort "$work/ns.out")" = "$expected" ] || fail "hosts saw: $(cat "$work/ns.out")"

"$rig" --timeout 120 "$work/abort" >"$work/abort.out" 2>&1
status=$?
[ $status -eq 5 ] || fail "an MPI_Abort(5) on the second host gave exit $status: $(tail -c 600 "$work/abort.out")"
if pgrep -f "$work/abort" >/dev/null; then
  fail "ranks of the aborted job are left: $(pgrep -af "$work/abort")"
  pkill -KILL -f "$work/abort"
fi

"$rig" sh -c 'setsid sleep 1234 </dev/null >/dev/null 2>&1 &' >"$work/left.out" 2>&1
status=$?
[ $status -eq 1 ] || fail "a rank's leftover process gave exit $status, not 1"
grep -q "^rig: processes left on the hosts after the job: .*sleep 1234" "$work/left.out" ||
  fail "the leftover was not named: $(cat "$work/left.out")"
pgrep -f "sleep 1234" >/dev/null && fail "the rig did not stop the leftover: $(pgrep -af 'sleep 1234')"

ip netns list | grep -q "^mprun-rig-" && fail "namespaces left: $(ip netns list | grep '^mprun-rig-')"
ls -d /tmp/mprun-rig.* >/dev/null 2>&1 && fail "run directories left: $(ls -d /tmp/mprun-rig.*)"
ls -d /tmp/ompi.twohost-* >/dev/null 2>&1 && fail "Open MPI session directories left: $(ls -d /tmp/ompi.twohost-*)"
# Other jobs on this machine come and go in /dev/shm: look for what the rig's could make
# (Open MPI names its files by host name: vader_segment.twohost-a...).
new_shm=$(comm -13 <(echo "$shm_before") <(ls /dev/shm | sort) | grep -E 'rig-check|twohost' || true)
[ -z "$new_shm" ] || fail "the hosts' files reached this machine's /dev/shm: $new_shm"

[ $failures -eq 0 ] || exit 1
echo "check_rig: ok (hosts, network, /dev/shm, MPI across hosts, abort, leftovers, clean-up)"
