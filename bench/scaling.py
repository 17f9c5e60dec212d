#!/usr/bin/env python3
"""The scaling picture: time against ranks (1, 2, 4, 8) for barrier, all_reduce and the
three kernels, mprun beside Debian's OpenMPI where the project has an anchor
(bench/mpi/barrier.c and allreduce.c, built with mpicc by bench/mpi/run.sh).

    bench/scaling.py [--out docs/scaling.png] [--repeats 3] [--ranks 1,2,4,8] [--quick]
    bench/scaling.py --from-csv docs/scaling.csv [--out other.png]   # draw again, no runs

The mprun benchmarks write their figures through SPMD_BENCH_CSV (bench/bench_common.hpp);
the anchors' key=value lines are added to the same table, which is kept beside the
picture (OUT with .csv), with the load average before each rank count and at the end
(rows bench=loadavg; the picture's title gives their range). Each point is the median of
--repeats runs; the runs of the benchmarks take turns, so that a busy minute falls on
all of them alike.
Needs build/bin (./setup.sh builds it), gnuplot (Debian: gnuplot-nox) and, for the
anchors, mpicc and mpirun (Debian: libopenmpi-dev openmpi-bin); without those the
picture shows mprun alone and says so.
"""
import argparse
import csv
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "build", "bin")


def fail(message, code=2):
    print("scaling.py: " + message, file=sys.stderr)
    sys.exit(code)


def key_values(line):
    return dict(word.split("=", 1) for word in line.split() if "=" in word)


def run(command, env=None):
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        fail("'%s' failed (exit %d): %s" % (" ".join(command), done.returncode,
                                             done.stderr.strip()[-400:]), 1)
    return done.stdout


# (series, benchmark line's bench=, extra key filter, figure in seconds from a row)
def seconds_of(row):
    bench = row["bench"]
    if bench == "loadavg":
        return None
    if bench in ("barrier", "allreduce"):
        return float(row["usec"]) * 1e-6
    if bench == "knn":
        return float(row["build_s"]) + float(row["query_s"])
    if bench == "rbf_shared":
        return float(row["seconds"])
    if bench == "chirp":
        return float(row["per_signal_s"]) * float(row["signals"])
    return None


def series_of(row):
    impl = row.get("impl") or "mprun"
    bench = row["bench"]
    if bench == "allreduce" and row.get("count") != "1":
        return None
    name = {"barrier": "barrier", "allreduce": "all_reduce, 1 double", "knn": "knn",
            "rbf_shared": "rbf", "chirp": "chirp"}.get(bench)
    return (name, impl) if name else None


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=os.path.join(ROOT, "docs", "scaling.png"))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--ranks", default="1,2,4,8")
    parser.add_argument("--quick", action="store_true",
                        help="small problems and short timings: checks the script, not the machine")
    parser.add_argument("--from-csv", help="draw the figures of this table instead of measuring")
    args = parser.parse_args()
    if args.from_csv:
        if not shutil.which("gnuplot"):
            fail("gnuplot not found (Debian: apt-get install gnuplot-nox)")
        try:
            with open(args.from_csv) as f:
                rows = list(csv.DictReader(f))
        except OSError as e:
            fail("cannot read %s: %s" % (args.from_csv, e.strerror))
        if not rows or "bench" not in rows[0] or "ranks" not in rows[0]:
            fail("%s is not a table of benchmark figures (no bench and ranks columns)"
                 % args.from_csv)
        draw(rows, args.out)
        print("scaling.py: wrote %s" % args.out, file=sys.stderr)
        return
    try:
        ranks = [int(r) for r in args.ranks.split(",")]
    except ValueError:
        fail("--ranks takes whole numbers separated by commas, not '%s'" % args.ranks)
    if not ranks or min(ranks) < 1:
        fail("--ranks takes numbers >= 1, not '%s'" % args.ranks)
    if args.repeats < 1:
        fail("--repeats must be at least 1")
    if not shutil.which("gnuplot"):
        fail("gnuplot not found (Debian: apt-get install gnuplot-nox)")
    needed = ["mprun", "bench_barrier", "bench_allreduce", "bench_knn", "bench_rbf", "bench_chirp"]
    missing = [b for b in needed if not os.access(os.path.join(BIN, b), os.X_OK)]
    if missing:
        fail("build/bin lacks %s: build first (./setup.sh, or cmake --build build)"
             % ", ".join(missing))
    anchors = shutil.which("mpicc") is not None and shutil.which("mpirun") is not None
    if not anchors:
        print("scaling.py: no mpicc/mpirun: mprun alone (Debian: libopenmpi-dev openmpi-bin)",
              file=sys.stderr)

    seconds = "0.05" if args.quick else "0.3"
    knn = ["--n", "20000" if args.quick else "400000", "--q", "20000" if args.quick else "200000",
           "--d", "3"]
    rbf = ["n=%d" % (800 if args.quick else 4000), "reps=1"]
    chirp = ["--signals", "2" if args.quick else "8", "--fft", "estimate", "--rounds", "1"]
    csv_path = os.path.splitext(args.out)[0] + ".csv"
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    if os.path.exists(csv_path):
        os.unlink(csv_path)
    env = dict(os.environ, SPMD_BENCH_CSV=csv_path)
    anchor_rows = []
    mprun = os.path.join(BIN, "mprun")

    def note_load(n):
        anchor_rows.append({"bench": "loadavg", "ranks": str(n),
                            "load1": open("/proc/loadavg").read().split()[0]})
    for n in ranks:
        note_load(n)
        for repeat in range(args.repeats):
            print("scaling.py: %d rank(s), run %d of %d" % (n, repeat + 1, args.repeats),
                  file=sys.stderr)
            for program, options in (("bench_barrier", ["--seconds", seconds]),
                                     ("bench_allreduce", ["--seconds", seconds]),
                                     ("bench_knn", knn), ("bench_rbf", rbf),
                                     ("bench_chirp", chirp)):
                run([mprun, "-n", str(n), os.path.join(BIN, program)] + options, env)
            if anchors:
                for program in ("barrier", "allreduce"):
                    out = run([os.path.join(ROOT, "bench", "mpi", "run.sh"), program, str(n),
                               "-t", seconds])
                    anchor_rows += [key_values(l) for l in out.splitlines() if "bench=" in l]

    note_load(0)  # at the end
    with open(csv_path) as f:
        rows = list(csv.DictReader(f))
    rows += anchor_rows
    # The whole table, anchors included, beside the picture: the union of the keys.
    fields = []
    for row in rows:
        fields += [k for k in row if k not in fields]
    with open(csv_path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)

    draw(rows, args.out)
    print("scaling.py: wrote %s and %s" % (args.out, csv_path), file=sys.stderr)


def draw(rows, out):
    points = {}  # (series, impl) -> ranks -> [seconds]
    for row in rows:
        series, value = series_of(row), seconds_of(row)
        if series and value is not None:
            points.setdefault(series, {}).setdefault(int(row["ranks"]), []).append(value)
    anchors = any(impl != "mprun" for _, impl in points)
    loads = [float(row["load1"]) for row in rows if row["bench"] == "loadavg"]
    load = ("load average %.0f-%.0f during the runs" % (min(loads), max(loads)) if loads
            else "load average not recorded")
    cores = os.cpu_count()
    with tempfile.TemporaryDirectory() as tmp:
        plots = {"left": [], "right": []}
        colours = {}  # one per series: mprun solid, OpenMPI dashed in the same colour
        for (series, impl), by_ranks in sorted(points.items()):
            colour = colours.setdefault(series, len(colours) + 1)
            data = os.path.join(tmp, "%s-%s.dat" % (series.split(",")[0], impl))
            with open(data, "w") as f:
                for n in sorted(by_ranks):
                    values = by_ranks[n]
                    f.write("%d %g %g %g\n" % (n, statistics.median(values), min(values),
                                               max(values)))
            micro = series.startswith(("barrier", "all_reduce"))
            scale = 1e6 if micro else 1
            style = "linecolor %d dashtype %d pointtype %d" % (
                colour, 1 if impl == "mprun" else 2, 7 if impl == "mprun" else 6)
            plots["left" if micro else "right"].append(
                "'%s' using 1:($2*%g):($3*%g):($4*%g) with yerrorlines lw 2 %s title '%s, %s'"
                % (data, scale, scale, scale, style, series, impl))
        script = os.path.join(tmp, "plot.gp")
        with open(script, "w") as f:
            f.write("""set terminal pngcairo noenhanced size 1200,560 font 'sans,11'
set output '%s'
set multiplot layout 1,2 title "mprun scaling on %d cores (%s; median of the runs, bars: min-max)"
set logscale x 2
set logscale y 10
set xrange [0.8:10]
set xtics (1, 2, 4, 8)
set xlabel 'ranks'
set grid
set key below
set ylabel 'microseconds per call'
set title 'barrier and all_reduce%s'
plot %s
set ylabel 'seconds per run'
set title 'kernels (same problem at every rank count)'
plot %s
unset multiplot
""" % (out, cores, load,
       "" if anchors else " (no OpenMPI found)",
       ", ".join(plots["left"]) or "NaN notitle", ", ".join(plots["right"]) or "NaN notitle"))
        done = subprocess.run(["gnuplot", script], capture_output=True, text=True)
        if done.returncode != 0:
            fail("gnuplot failed: " + done.stderr.strip(), 1)


if __name__ == "__main__":
    main()
