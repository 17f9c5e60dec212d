#!/usr/bin/env bash
# The fault battery of issue #14, kept: bad flags to mprun, crashing and hanging ranks,
# kernels' bad inputs, signals to mprun and SIGKILL of its process group. For every case it
# checks the exit code, the stderr lines (a refusal is exactly one line naming what was
# wrong), that no /dev/shm segment of the job is left (by the job's name, spmd-<mprun pid>-),
# that no process of the job is left (by session: each case runs in a session of its own),
# and, for the kernels, that the output files are all there or none. One table line a case.
#   tests/battery/run.sh [BIN_DIR]      (default build/bin; exit 1 if any case fails)
# Needs /usr/bin/python3 with numpy for the kernels' input files (else those cases SKIP).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=$(cd "${1:-$here/../../build/bin}" && pwd) || { echo "battery: no bin dir" >&2; exit 2; }
mprun=$bin/mprun
rank_program=$bin/spmd_test_rank
for p in "$mprun" "$rank_program" "$bin/knn" "$bin/rbf" "$bin/chirp"; do
  [ -x "$p" ] || { echo "battery: $p is not built" >&2; exit 2; }
done
work=$(mktemp -d /tmp/mprun-battery.XXXXXX)
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
cd "$work"

failures=0
cases=0
printf '%-44s %-5s %-9s %-6s %-5s %-7s %s\n' case exit expected lines shm orphans "verdict / first stderr line"

# Processes of the session `sid` (the case's mprun ran as its session leader).
session_processes() { ps -eo sid=,pid=,comm= | awk -v s="$1" '$1 == s && $2 != s { print $2 ":" $3 }'; }

# run_case NAME EXPECTED_CODES LINES_WANTED PATTERN ACTION -- COMMAND...
#   EXPECTED_CODES  "2", or codes separated by "|"
#   LINES_WANTED    exact number of stderr lines, or "any"
#   PATTERN         extended regex the stderr must match ("" for none)
#   ACTION          "" or "SIG@SECONDS[:target]": send SIG after SECONDS to mprun
#                   (target "group": to mprun's process group; "rank": to one rank)
run_case() {
  local name=$1 want=$2 lines_wanted=$3 pattern=$4 action=$5
  shift 6
  cases=$((cases + 1))
  local out=$work/case$cases.out err=$work/case$cases.err
  # setsid makes mprun the leader of a new session and process group: $! is its pid.
  setsid "$@" >"$out" 2>"$err" </dev/null &
  local pid=$!
  local deadline=$((SECONDS + 30)) sent=0 hung=0
  if [ -n "$action" ]; then
    local sig=${action%%@*} rest=${action#*@}
    local delay=${rest%%:*} target=""
    [[ $rest == *:* ]] && target=${rest#*:}
    sleep "$delay"
    case "$target" in
      group) kill -s "$sig" -- "-$pid" 2>/dev/null ;;
      rank)
        local rank_pid
        rank_pid=$(ps -eo ppid=,pid=,comm= | awk -v p="$pid" '$1 == p && $3 != "mprun" { print $2; exit }')
        # The watchdog is mprun's child too: a rank carries SPMD_RANK in its environment.
        for c in $(ps -eo ppid=,pid= | awk -v p="$pid" '$1 == p { print $2 }'); do
          if tr '\0' '\n' <"/proc/$c/environ" 2>/dev/null | grep -q '^SPMD_RANK='; then rank_pid=$c; break; fi
        done
        [ -n "$rank_pid" ] && kill -s "$sig" "$rank_pid" 2>/dev/null
        ;;
      *) kill -s "$sig" "$pid" 2>/dev/null ;;
    esac
    sent=1
  fi
  while kill -0 "$pid" 2>/dev/null && [ -z "$(ps -o stat= -p "$pid" | grep Z)" ]; do
    if [ $SECONDS -ge $deadline ]; then hung=1; kill -9 -- "-$pid" 2>/dev/null; break; fi
    sleep 0.05
  done
  wait "$pid" 2>/dev/null
  local code=$?
  # The watchdog cleans up after a SIGKILLed mprun: give it a moment.
  local shm orphans t
  for t in $(seq 1 40); do
    shm=$(ls /dev/shm 2>/dev/null | grep -c "^spmd-$pid-")
    orphans=$(session_processes "$pid" | wc -l)
    [ "$shm" -eq 0 ] && [ "$orphans" -eq 0 ] && break
    sleep 0.1
  done
  local lines
  lines=$(grep -c '' "$err")
  local verdict=ok why=""
  [[ "|$want|" == *"|$code|"* ]] || { verdict=FAIL; why+=" exit"; }
  [ "$lines_wanted" = any ] || [ "$lines" -eq "$lines_wanted" ] || { verdict=FAIL; why+=" lines"; }
  [ -z "$pattern" ] || grep -Eq -- "$pattern" "$err" || { verdict=FAIL; why+=" message"; }
  [ "$shm" -eq 0 ] || { verdict=FAIL; why+=" shm-leak"; }
  [ "$orphans" -eq 0 ] || { verdict=FAIL; why+=" orphans($(session_processes "$pid" | tr '\n' ' '))"; }
  [ $hung -eq 0 ] || { verdict=FAIL; why+=" HANG"; }
  if [ "$verdict" = FAIL ]; then
    failures=$((failures + 1))
    # Leave nothing behind even when a case fails.
    session_processes "$pid" | cut -d: -f1 | xargs -r kill -9 2>/dev/null
    rm -f /dev/shm/spmd-"$pid"-*
  fi
  printf '%-44s %-5s %-9s %-6s %-5s %-7s %s\n' "$name" "$code" "$want" "$lines" "$shm" "$orphans" \
    "$verdict$why | $(head -n 1 "$err" | cut -c1-110)"
  [ $sent -eq 1 ] || true
}

# Asserts that the output files named are either all present or all absent.
all_or_nothing() {
  local name=$1 present=0 absent=0
  shift
  for f in "$@"; do if [ -e "$f" ]; then present=$((present + 1)); else absent=$((absent + 1)); fi; done
  cases=$((cases + 1))
  if [ $present -ne 0 ] && [ $absent -ne 0 ]; then
    failures=$((failures + 1))
    printf '%-44s %s\n' "$name" "FAIL | $present of $# output files present"
  else
    printf '%-44s %s\n' "$name" "ok | $present of $# output files present"
  fi
}

echo "== mprun's flags"
printf 'echo hi\n' >no_shebang.sh && chmod +x no_shebang.sh
printf 'data' >not_executable && chmod -x not_executable
mkdir -p a_directory
run_case "unknown flag --frobnicate" 2 1 "frobnicate" "" -- "$mprun" --frobnicate -n 2 true
run_case "-n without a value" 2 1 "" "" -- "$mprun" -n
run_case "-n with the program as its value" 2 1 "true" "" -- "$mprun" -n true
run_case "-n 0" 2 1 "'0'" "" -- "$mprun" -n 0 true
run_case "-n -1" 2 1 "-1" "" -- "$mprun" -n -1 true
run_case "-n 100000" 2 1 "100000" "" -- "$mprun" -n 100000 true
run_case "-n abc" 2 1 "abc" "" -- "$mprun" -n abc true
run_case "--timeout 1e300" 2 1 "timeout" "" -- "$mprun" --timeout 1e300 -n 1 true
run_case "--timeout without a value" 2 1 "timeout" "" -- "$mprun" -n 1 --timeout
run_case "--timeout -5" 2 1 "timeout" "" -- "$mprun" --timeout -5 -n 1 true
run_case "--grace nan" 2 1 "grace" "" -- "$mprun" --grace nan -n 1 true
run_case "--bind-to socket" 2 1 "socket" "" -- "$mprun" --bind-to socket -n 1 true
run_case "-x without a value" 2 1 "'-x'" "" -- "$mprun" -n 1 -x
run_case "-x =VALUE (no name)" 2 1 "=3" "" -- "$mprun" -x =3 -n 1 true
run_case "--trace into a missing directory" 2 1 "nonexistent" "" -- "$mprun" --trace /nonexistent/t.json -n 2 true
run_case "--output-filename under /proc" 2 1 "/proc/nope" "" -- "$mprun" --output-filename /proc/nope -n 2 true
run_case "--tag-output with --output-filename" 2 1 "cannot be combined" "" -- "$mprun" --tag-output --output-filename out -n 2 true
run_case "no program" 2 1 "" "" -- "$mprun" -n 2
run_case "empty program name" 2 1 "empty" "" -- "$mprun" -n 2 ''
run_case "non-existent program" 2 1 "no_such_program" "" -- "$mprun" -n 2 ./no_such_program
run_case "non-existent program on PATH" 2 1 "no_such_program" "" -- "$mprun" -n 2 no_such_program
run_case "a directory" 2 1 "directory" "" -- "$mprun" -n 2 ./a_directory
run_case "a non-executable file" 2 1 "not executable" "" -- "$mprun" -n 2 ./not_executable
run_case "a script without #!" 2 1 "#!" "" -- "$mprun" -n 2 ./no_shebang.sh
run_case "-H otherhost" 2 1 "one machine|this machine" "" -- "$mprun" -H otherhost -n 2 true
run_case "a fine job (control)" 0 0 "" "" -- "$mprun" -n 3 "$rank_program" barriers 100

echo "== crashing and hanging ranks"
run_case "rank 1 segfaults" 139 1 "rank 1 killed by signal SIGSEGV" "" -- "$mprun" -n 3 "$rank_program" fail 1 segv
run_case "rank 0 calls abort (World::abort)" 1 1 "rank 0 called abort" "" -- "$mprun" -n 3 "$rank_program" fail 0 abort
run_case "rank 2 exit(3)" 3 1 "rank 2 exited with code 3" "" -- "$mprun" -n 3 "$rank_program" fail 2 exit3
run_case "rank 1 throws" 1 1 "rank 1 failed" "" -- "$mprun" -n 2 "$rank_program" fail 1 throw
run_case "libc abort() in a rank" 134 1 "SIGABRT" "" -- "$mprun" -n 2 sh -c 'if [ "$SPMD_RANK" = 1 ]; then kill -ABRT $$; fi; sleep 20'
run_case "SIGKILL of one rank from outside" 137 1 "killed by signal SIGKILL" "KILL@0.5:rank" -- "$mprun" -n 3 sleep 20
run_case "rank 1 returns, rank 0 in barrier" 1 1 "waits in barrier for rank 1" "" -- "$mprun" -n 2 "$rank_program" leave 1 barrier
run_case "rank 1 returns, rank 0 in recv" 1 1 "waits in recv" "" -- "$mprun" -n 2 "$rank_program" leave 1 recv
run_case "deadlock: a ring of receives" 123 1 "deadlock" "" -- "$mprun" -n 3 "$rank_program" ring
run_case "--timeout 1 on a spinning rank" 124 any "timed out" "" -- "$mprun" -n 2 --timeout 1 "$rank_program" spin 1
run_case "rank's child left running" 3 1 "rank 0 exited with code 3" "" -- "$mprun" -n 2 sh -c 'sleep 30 & if [ "$SPMD_RANK" = 0 ]; then exit 3; fi; wait'

echo "== signals to mprun"
run_case "SIGINT (Ctrl-C) to mprun" "130" any "" "INT@0.5" -- "$mprun" -n 2 sleep 20
run_case "SIGTERM to mprun" "143" any "" "TERM@0.5" -- "$mprun" -n 2 sleep 20
run_case "SIGKILL of mprun alone" 137 0 "" "KILL@0.5" -- "$mprun" -n 2 sleep 20
run_case "kill -9 -PGID (mprun's group)" 137 0 "" "KILL@0.5:group" -- "$mprun" -n 2 sleep 20
run_case "SIGKILL of mprun, ranks in barrier loop" 137 0 "" "KILL@0.3" -- "$mprun" -n 4 "$rank_program" barriers 100000000

echo "== kernels' bad inputs"
py=/usr/bin/python3
if ! "$py" -c 'import numpy' 2>/dev/null; then
  echo "SKIP: /usr/bin/python3 with numpy (python3-numpy) is needed to write the input files"
else
  "$py" - <<'EOF'
import numpy as np
rng = np.random.default_rng(1)
x = rng.random((200, 3)); q = rng.random((20, 3))
np.save("x.npy", x); np.save("q.npy", q)
bad = x.copy(); bad[150, 1] = np.nan; np.save("x_nan.npy", bad)
np.save("x_empty.npy", np.zeros((0, 3))); np.save("q_empty.npy", np.zeros((0, 3)))
np.save("x_strings.npy", np.array([["a", "b", "c"]] * 10))
np.save("x_complex.npy", x.astype(np.complex128))
np.save("x_3d.npy", x.reshape(10, 20, 3))
raw = open("x.npy", "rb").read(); open("x_truncated.npy", "wb").write(raw[: len(raw) // 2])
np.save("x_small.npy", x[:4])
s = np.zeros((2, 4097), np.complex128); s[1, 7] = np.nan; np.save("s_nan.npy", s)
np.save("s_real.npy", np.zeros((2, 4097)))
np.save("mc_bad.npy", np.array([1.0, 1.2, np.inf]))
EOF
  knn=$bin/knn rbf=$bin/rbf chirp=$bin/chirp
  mkdir -p outdir
  run_case "knn: missing --data file" 2 1 "^knn: .*missing\.npy" "" -- "$mprun" -n 2 "$knn" --data missing.npy --queries q.npy
  run_case "knn: truncated .npy" 2 1 "^knn: .*x_truncated" "" -- "$mprun" -n 2 "$knn" --data x_truncated.npy --queries q.npy
  run_case "knn: strings (<U1)" 2 1 "^knn: .*x_strings" "" -- "$mprun" -n 2 "$knn" --data x_strings.npy --queries q.npy
  run_case "knn: complex128" 2 1 "^knn: .*x_complex" "" -- "$mprun" -n 2 "$knn" --data x_complex.npy --queries q.npy
  run_case "knn: 3-D array" 2 1 "^knn: .*x_3d" "" -- "$mprun" -n 2 "$knn" --data x_3d.npy --queries q.npy
  run_case "knn: NaN in the data, -n 8" 2 1 "^knn: .*(nan|NaN)" "" -- "$mprun" -n 8 "$knn" --data x_nan.npy --queries q.npy
  run_case "knn: empty data" 2 1 "^knn: " "" -- "$mprun" -n 2 "$knn" --data x_empty.npy --queries q.npy
  run_case "knn: empty queries" "0|2" any "" "" -- "$mprun" -n 2 "$knn" --data x.npy --queries q_empty.npy --out outdir/emptyq
  run_case "knn: k > n" 2 1 "^knn: .*-k|^knn: .*k " "" -- "$mprun" -n 2 "$knn" --data x_small.npy --queries q.npy -k 5
  run_case "knn: -k 0" 2 1 "^knn: " "" -- "$mprun" -n 2 "$knn" --data x.npy --queries q.npy -k 0
  run_case "knn: --out in a missing directory" 2 1 "^knn: .*nowhere" "" -- "$mprun" -n 2 "$knn" --data x.npy --queries q.npy --out nowhere/nn
  all_or_nothing "knn: missing directory leaves no output" nowhere/nn_dist.npy nowhere/nn_idx.npy
  run_case "knn: --out under /proc (read-only)" "1|2" 1 "^knn: " "" -- "$mprun" -n 2 "$knn" --data x.npy --queries q.npy --out /proc/nn
  printf 'old' >outdir/old_dist.npy
  run_case "knn: existing output file is replaced" 0 0 "" "" -- "$mprun" -n 2 "$knn" --data x.npy --queries q.npy -k 3 --out outdir/old
  "$py" -c 'import numpy as np; d = np.load("outdir/old_dist.npy"); assert d.shape == (20, 3), d.shape' 2>/dev/null &&
    all_or_nothing "knn: replaced output is a valid (20,3) .npy" outdir/old_dist.npy outdir/old_idx.npy ||
    { cases=$((cases + 1)); failures=$((failures + 1)); echo "knn: replaced output FAIL: not a (20,3) .npy"; }
  run_case "knn: bad data keeps an existing output" 2 1 "^knn: " "" -- "$mprun" -n 2 "$knn" --data x_nan.npy --queries q.npy -k 3 --out outdir/old
  "$py" -c 'import numpy as np; d = np.load("outdir/old_dist.npy"); assert d.shape == (20, 3)' 2>/dev/null &&
    echo "knn: the earlier output is intact                 ok" ||
    { failures=$((failures + 1)); echo "knn: the earlier output was damaged FAIL"; }
  run_case "rbf: missing --points" 2 1 "^rbf: .*missing\.npy" "" -- "$mprun" -n 2 "$rbf" --points missing.npy
  run_case "rbf: NaN in the points" 2 1 "^rbf: .*(nan|NaN)" "" -- "$mprun" -n 2 "$rbf" --points x_nan.npy --out outdir/D.npy
  all_or_nothing "rbf: NaN leaves no output" outdir/D.npy
  run_case "rbf: empty points" 2 1 "^rbf: " "" -- "$mprun" -n 2 "$rbf" --points x_empty.npy
  run_case "rbf: truncated .npy" 2 1 "^rbf: .*x_truncated" "" -- "$mprun" -n 2 "$rbf" --points x_truncated.npy
  run_case "rbf: unknown --phi" 2 1 "^rbf: .*unknown function" "" -- "$mprun" -n 2 "$rbf" --random 10,2 --phi nope
  run_case "rbf: --eps -1" 2 1 "^rbf: .*eps" "" -- "$mprun" -n 2 "$rbf" --random 10,2 --phi gaussian --eps -1
  run_case "rbf: --random 10" 2 1 "^rbf: " "" -- "$mprun" -n 2 "$rbf" --random 10
  run_case "chirp: NaN in a signal" 2 1 "^chirp: .*nan" "" -- "$mprun" -n 2 "$chirp" --samples 4097 --signals s_nan.npy --out outdir/c
  all_or_nothing "chirp: NaN leaves no output" outdir/c_snr.npy outdir/c_match.npy outdir/c_best.npy
  run_case "chirp: float64 signals (not complex)" 2 1 "^chirp: .*complex128" "" -- "$mprun" -n 2 "$chirp" --samples 4097 --signals s_real.npy
  run_case "chirp: inf in the bank file" 2 1 "^chirp: .*inf" "" -- "$mprun" -n 2 "$chirp" --bank-file mc_bad.npy --signal-mc 1.2 --samples 4097
  run_case "chirp: inverted bank" 2 1 "^chirp: " "" -- "$mprun" -n 2 "$chirp" --bank 1.7:0.8:0.01 --signal-mc 1.2
  run_case "chirp: --samples 1" 2 1 "^chirp: .*samples" "" -- "$mprun" -n 2 "$chirp" --samples 1 --signal-mc 1.2
  run_case "chirp: no signal source" 2 1 "^chirp: .*exactly one" "" -- "$mprun" -n 2 "$chirp"
  run_case "knn: --random 2000000000,8,1 (too big)" 2 1 "^knn: " "" -- "$mprun" -n 2 "$knn" --random 2000000000,8,1
  run_case "knn: SIGINT mid-run, output all or nothing" "0|130" any "" "INT@0.3" -- "$mprun" -n 2 "$knn" --random 300000,8,100000 -k 5 --out outdir/int
  all_or_nothing "knn: SIGINT leaves all or nothing" outdir/int_dist.npy outdir/int_idx.npy
fi

leftover=$(ls /dev/shm | grep -c '^spmd-' || true)
echo "battery: $cases cases, $failures failed; spmd-* entries in /dev/shm now: $leftover"
[ "$failures" -eq 0 ]
