#!/usr/bin/env bash
# rig.sh: runs one Open MPI job on two hosts made on this machine, 2 ranks on each.
#
#   tests/twohost/rig.sh [--ppn N] [--timeout S] [--] PROGRAM ARGS...
#
# The two hosts are network namespaces joined by a veth pair (10.199.42.1 and .2 on a /24
# of their own, no other interface, no route out), each entered with its own UTS namespace
# (hostnames twohost-a / twohost-b), IPC namespace and a private tmpfs on /dev/shm. The file
# system and PID space stay shared, as on a cluster with a shared file system. mpirun runs on
# host a and starts host b's daemon through an rsh agent (--mca plm_rsh_agent) that enters
# host b like ssh would: a clean environment and the words of the command run by sh -c.
# MPI traffic is held to that network and loopback (pml ob1, btl tcp,self,vader; TCP and
# OOB on the /24 only; neither UCX nor osc/rdma). Everything the rig makes is removed on
# exit, also after Ctrl-C or a failing job; then it checks that no process is left in
# either host and fails if one was.
#
# Exit: the job's status; 124 when --timeout (default 300 s) ran out; 2 usage; 3 the rig
# could not be built; 1 processes were left behind; 77 skipped (not root, no `ip netns`,
# no mpirun), for CTest's SKIP_RETURN_CODE. Environment: RIG_MPIRUN_ARGS, extra mpirun
# words (e.g. "-x SPMD_TRACE"). Internal modes (--agent, --host) are the rig's own.
set -u
self=$(readlink -f "${BASH_SOURCE[0]}")
net=10.199.42
prefix=24
dev=rig0

say() { echo "rig: $*" >&2; }

# The namespace of host a or b of the rig run `id`, and its address and hostname.
ns_name() { echo "mprun-rig-$1-$2"; }
host_ip() { [ "$1" = a ] && echo "$net.1" || echo "$net.2"; }
host_name() { echo "twohost-$1"; }

# --host ID a|b CMD...: inside the host's netns (and the mount namespace `ip netns exec`
# made), now also in fresh UTS and IPC namespaces: take the host's name, give it a /dev/shm
# of its own, and become CMD.
if [ "${1:-}" = --host ]; then
  id=$2 which=$3
  shift 3
  hostname "$(host_name "$which")" || exit 126
  mount -t tmpfs -o mode=1777,nosuid,nodev "rig-shm-$which" /dev/shm || exit 126
  exec "$@"
fi
enter() {  # enter ID a|b CMD...
  local id=$1 which=$2
  shift 2
  exec ip netns exec "$(ns_name "$id" "$which")" unshare --uts --ipc -- "$self" --host "$id" "$which" "$@"
}

# --agent ID [ssh options] HOST WORDS...: what mpirun calls in place of ssh.
if [ "${1:-}" = --agent ]; then
  id=$2
  shift 2
  while [ $# -gt 0 ] && [ "${1#-}" != "$1" ]; do shift; done  # ssh's flags (-x, -T ...)
  [ $# -ge 2 ] || { say "agent: no host or command"; exit 255; }
  case "$1" in
    "$net.1" | "$(host_name a)") which=a ;;
    "$net.2" | "$(host_name b)") which=b ;;
    *) say "agent: no host '$1' in the rig"; exit 255 ;;
  esac
  shift
  # As ssh does: a login's environment only, and the remote shell parses the joined words.
  exec env -i PATH="$PATH" HOME="${HOME:-/root}" USER="$(id -un)" LOGNAME="$(id -un)" \
    SHELL=/bin/sh LANG=C.UTF-8 "$self" --enter "$id" "$which" /bin/sh -c "$*"
fi
if [ "${1:-}" = --enter ]; then
  shift
  enter "$@"
fi

usage() {
  echo "usage: tests/twohost/rig.sh [--ppn N] [--timeout S] [--] PROGRAM ARGS..." >&2
  exit 2
}
ppn=2
timeout_s=300
while [ $# -gt 0 ]; do
  case "$1" in
    --ppn) ppn=${2:-}; shift 2 ;;
    --timeout) timeout_s=${2:-}; shift 2 ;;
    --) shift; break ;;
    -h | --help) usage ;;
    -*) say "unknown option '$1'"; usage ;;
    *) break ;;
  esac
done
[ $# -ge 1 ] || usage
[[ "$ppn" =~ ^[1-9][0-9]*$ ]] || { say "--ppn wants a positive number, not '$ppn'"; exit 2; }
[[ "$timeout_s" =~ ^[1-9][0-9]*$ ]] || { say "--timeout wants seconds, not '$timeout_s'"; exit 2; }

[ "$(id -u)" -eq 0 ] || { say "SKIP: needs root (network and mount namespaces)"; exit 77; }
mpirun=$(command -v mpirun.openmpi || command -v mpirun) ||
  { say "SKIP: no mpirun (Debian: openmpi-bin)"; exit 77; }
for tool in ip unshare timeout hostname mount; do
  command -v $tool >/dev/null || { say "SKIP: no '$tool' (iproute2, util-linux)"; exit 77; }
done
ip netns list >/dev/null 2>&1 || { say "SKIP: 'ip netns' is unavailable here"; exit 77; }

# The processes inside the namespaces of rig run `id`.
rig_pids() {
  local which ns
  for which in a b; do
    ns=$(ns_name "$1" $which)
    [ -e "/run/netns/$ns" ] && ip netns pids "$ns" 2>/dev/null
  done
}
# TERM, then KILL after 2 s, every process of rig run `id`; removes its namespaces.
remove_rig() {
  local id=$1 pids i which
  for i in $(seq 20); do
    pids=$(rig_pids "$id" | tr '\n' ' ')
    [ -z "${pids// /}" ] && break
    if [ "$i" -eq 1 ]; then kill -TERM $pids 2>/dev/null; fi
    if [ "$i" -ge 10 ]; then kill -KILL $pids 2>/dev/null; fi
    sleep 0.2
  done
  for which in a b; do
    [ -e "/run/netns/$(ns_name "$id" $which)" ] && ip netns del "$(ns_name "$id" $which)"
  done
  return 0
}

# A rig whose script was killed outright (SIGKILL) could not clean up: its namespaces are
# named by its pid, so the next run removes those of pids that no longer live.
for path in /run/netns/mprun-rig-*-a /run/netns/mprun-rig-*-b; do
  [ -e "$path" ] || continue
  old=${path#/run/netns/mprun-rig-}
  old=${old%-?}
  kill -0 "$old" 2>/dev/null && continue
  say "removing the rig left by process $old"
  remove_rig "$old"
done

id=$$
rundir=
job=
cleanup() {
  local status=$? left
  trap - EXIT INT TERM HUP
  if [ -n "$job" ]; then  # interrupted: mpirun, told by timeout, stops its daemons and ranks
    kill -TERM "$job" 2>/dev/null
    wait "$job" 2>/dev/null
  fi
  # Whatever is still inside the hosts a few seconds after the job was left behind: say so.
  for _ in $(seq 30); do
    left=$(rig_pids "$id" | paste -sd, -)
    [ -z "$left" ] && break
    sleep 0.1
  done
  if [ -n "$left" ]; then
    say "processes left on the hosts after the job: $(ps -o pid=,args= -p "$left" 2>/dev/null | paste -sd';' -)"
    [ "$status" -eq 0 ] && status=1
  fi
  remove_rig "$id"
  [ -n "$rundir" ] && rm -rf "$rundir"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

build() {
  local which ns
  for which in a b; do ip netns add "$(ns_name $id $which)" || return 1; done
  ip link add $dev netns "$(ns_name $id a)" type veth peer name $dev netns "$(ns_name $id b)" || return 1
  for which in a b; do
    ns=$(ns_name $id $which)
    ip -n "$ns" link set lo up || return 1
    ip -n "$ns" addr add "$(host_ip $which)/$prefix" dev $dev || return 1
    ip -n "$ns" link set $dev up || return 1
  done
  # The veth's carrier comes up a moment after the link.
  for _ in $(seq 50); do
    ip -n "$(ns_name $id a)" link show $dev | grep -q LOWER_UP &&
      ip -n "$(ns_name $id b)" link show $dev | grep -q LOWER_UP && return 0
    sleep 0.1
  done
  return 1
}
build || { say "could not build the two hosts (ip netns / veth failed)"; exit 3; }

rundir=$(mktemp -d /tmp/mprun-rig.XXXXXX) || exit 3
printf '#!/bin/sh\nexec %q --agent %q "$@"\n' "$self" "$id" >"$rundir/agent"
chmod 755 "$rundir" "$rundir/agent"

program=$1
shift
[[ "$program" == */* ]] && program=$(readlink -f "$program")
args=("$mpirun" -n $((2 * ppn)) -H "$net.1:$ppn,$net.2:$ppn"
  --mca plm_rsh_agent "$rundir/agent"
  # ob1 and its BTLs: Open MPI would otherwise pick UCX, which ignores the BTL settings;
  # no osc/ucx for the same reason, no osc/rdma (it crashes in 4.1's vader atomics).
  --mca pml ob1 --mca osc '^rdma,ucx'
  --mca btl tcp,self,vader --mca btl_tcp_if_include "$net.0/$prefix"
  --mca oob_tcp_if_include "$net.0/$prefix"
  # Open MPI's session directories in the run directory: a killed job's go with it.
  --mca orte_tmpdir_base "$rundir"
  # Both hosts share this machine's cores: no binding, and ranks yield while they wait.
  --bind-to none --oversubscribe --mca mpi_yield_when_idle 1 --allow-run-as-root)
# shellcheck disable=SC2206  # word-split on purpose
args+=(${RIG_MPIRUN_ARGS:-} "$program" "$@")
# In the background, so that a signal to the rig reaches its trap while the job runs.
timeout --kill-after=5 "$timeout_s" "$self" --enter "$id" a "${args[@]}" &
job=$!
wait "$job"
status=$?
job=
[ "$status" -eq 124 ] && say "the job ran out of its ${timeout_s} s"
exit "$status"
