#!/usr/bin/python3
"""Python's own multiprocessing idioms, timed the way bench_pool times mprun's:
  map       : Pool(2).map of trivial calls, results back in order in the parent
  submit    : apply_async(f, (x,)).get(), one at a time
  shared_map: inserts into a Manager().dict() from 2 processes together
Counts can be scaled down (Python is slow); compare per-call figures. Prints one
key=value line per figure, best of --repeat:
  bench=python_map procs=2 calls=N seconds=X usec_per_call=Y
Run: /usr/bin/python3 bench/python_idioms.py [--calls N] [--tasks N] [--inserts N]
"""
import argparse
import multiprocessing as mp
import time


def double_plus_one(i):
    return 2 * i + 1


def next_value(x):
    return x + 1


def insert_keys(shared, first, step, count):
    for k in range(first, count, step):
        shared[k] = 2 * k


def report(name, what, count, seconds):
    print(f"bench={name} procs=2 {what}={count} seconds={seconds:.6f} "
          f"usec_per_op={seconds / count * 1e6:.3f}", flush=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--inserts", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    with mp.Pool(2) as pool:
        pool.map(double_plus_one, range(1000))  # start the workers before timing
        best = float("inf")
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            out = pool.map(double_plus_one, range(args.calls))
            best = min(best, time.perf_counter() - t0)
            assert out[-1] == 2 * args.calls - 1
        report("python_map", "calls", args.calls, best)

        best = float("inf")
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            x = 0
            for _ in range(args.tasks):
                x = pool.apply_async(next_value, (x,)).get()
            best = min(best, time.perf_counter() - t0)
            assert x == args.tasks
        report("python_submit", "tasks", args.tasks, best)

    with mp.Manager() as manager:
        best = float("inf")
        for _ in range(args.repeat):
            shared = manager.dict()
            procs = [mp.Process(target=insert_keys, args=(shared, r, 2, args.inserts))
                     for r in range(2)]
            t0 = time.perf_counter()
            for p in procs:
                p.start()
            for p in procs:
                p.join()
            best = min(best, time.perf_counter() - t0)
            assert len(shared) == args.inserts
        report("python_shared_map", "inserts", args.inserts, best)


if __name__ == "__main__":
    main()
