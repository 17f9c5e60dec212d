/* mpi_bench.h - what the project's plain-MPI benchmarks share: options, a time-based
 * iteration count that every rank agrees on, and the name of the MPI underneath.
 * They measure what bench/bench_*.cpp measure for mprun, with the same key=value lines,
 * so that one line of each can be set side by side.
 *   -t SECONDS  aim for this much timed work per figure (default 1)
 *   -i N        a fixed number of timed iterations instead (0: from -t)
 *   -w N        untimed warm-up iterations (default: the benchmark's own)
 */
#ifndef SPMD_MPI_BENCH_H
#define SPMD_MPI_BENCH_H
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#if defined(SPMD_MPI)
#define MPI_IMPL "mprun"
#elif defined(OPEN_MPI)
#define MPI_IMPL "openmpi"
#elif defined(MPICH_VERSION)
#define MPI_IMPL "mpich"
#else
#define MPI_IMPL "mpi"
#endif

struct options {
    double seconds;
    long iters, warmup;
};

static inline struct options parse_options(int argc, char** argv, long default_warmup) {
    struct options o = {1.0, 0, default_warmup};
    int c;
    while ((c = getopt(argc, argv, "t:i:w:")) != -1) {
        if (c == 't')
            o.seconds = atof(optarg);
        else if (c == 'i')
            o.iters = atol(optarg);
        else if (c == 'w')
            o.warmup = atol(optarg);
        else {
            fprintf(stderr, "usage: %s [-t seconds] [-i iterations] [-w warm-up]\n", argv[0]);
            MPI_Abort(MPI_COMM_WORLD, 2);
        }
    }
    if (o.seconds <= 0 || o.iters < 0 || o.warmup < 0) {
        fprintf(stderr, "%s: -t must be > 0, -i and -w >= 0\n", argv[0]);
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
    return o;
}

typedef void (*loop_fn)(long iters, void* state);

/* Timed iterations for about o->seconds of `loop`: batches grow tenfold until one takes
 * 20 ms on rank 0, whose count every rank then adopts (a collective: all ranks call it). */
static inline long iterations_for(const struct options* o, loop_fn loop, void* state, long most) {
    if (o->iters > 0) return o->iters;
    long batch = 1, chosen = 0;
    while (chosen == 0) {
        MPI_Barrier(MPI_COMM_WORLD);
        const double start = MPI_Wtime();
        loop(batch, state);
        const double took = MPI_Wtime() - start;
        long answer = 0;
        if (took >= 0.02 || batch >= most) {
            const double wanted = o->seconds * (double)batch / (took > 0 ? took : 1e-9);
            answer = wanted < 1 ? 1 : wanted > (double)most ? most : (long)wanted;
        }
        MPI_Bcast(&answer, 1, MPI_LONG, 0, MPI_COMM_WORLD);
        chosen = answer;
        batch *= 10;
    }
    return chosen;
}

/* Seconds per iteration of `loop`, averaged over the ranks (a collective). */
static inline double mean_seconds(long iters, loop_fn loop, void* state) {
    int size;
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    MPI_Barrier(MPI_COMM_WORLD);
    const double start = MPI_Wtime();
    loop(iters, state);
    double mine = (MPI_Wtime() - start) / (double)iters, sum = 0;
    MPI_Allreduce(&mine, &sum, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
    return sum / size;
}

#endif
