/* Tutorial: walkers on a 1-D domain split among the ranks take random steps; a walker
 * that leaves a rank's piece is handed to the next rank with MPI_Sendrecv (a ring), until
 * every walker has walked its full length. Each rank prints how many walkers finished
 * with it. Deterministic: each walker draws from its own seeded generator. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct {
    int location, steps_left, seed;
} Walker;

static int next_random(int* seed) {
    *seed = (int)(((unsigned)*seed * 1103515245u + 12345u) & 0x7fffffff);
    return *seed;
}

int main(int argc, char** argv) {
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    const int domain = 20 * size, piece = domain / size, walkers = 10, max_walk = 200;
    const int lo = rank * piece, hi = lo + piece;
    Walker* mine = malloc(sizeof(Walker) * walkers * size * 2);
    int n = 0, finished = 0;
    for (int i = 0; i < walkers; ++i) {
        int seed = rank * 1000 + i + 1;
        mine[n++] = (Walker){lo, next_random(&seed) % max_walk, seed};
    }
    for (;;) {
        Walker* out = malloc(sizeof(Walker) * (n + 1));
        int nout = 0, kept = 0;
        for (int i = 0; i < n; ++i) {
            Walker w = mine[i];
            while (w.steps_left > 0 && w.location < hi) {
                w.location += next_random(&w.seed) % 2;
                w.steps_left--;
            }
            if (w.steps_left == 0)
                finished++;
            else {
                if (w.location == domain) w.location = 0;
                out[nout++] = w;
            }
        }
        (void)kept;
        int in_count = 0;
        const int next = (rank + 1) % size, prev = (rank + size - 1) % size;
        MPI_Sendrecv(&nout, 1, MPI_INT, next, 0, &in_count, 1, MPI_INT, prev, 0, MPI_COMM_WORLD,
                     MPI_STATUS_IGNORE);
        Walker* in = malloc(sizeof(Walker) * (in_count + 1));
        MPI_Sendrecv(out, nout * 3, MPI_INT, next, 1, in, in_count * 3, MPI_INT, prev, 1,
                     MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        for (int i = 0; i < in_count; ++i) in[i].location = in[i].location % domain;
        for (int i = 0; i < in_count; ++i) mine[i] = in[i];
        n = in_count;
        free(out);
        free(in);
        int moving = 0;
        MPI_Allreduce(&n, &moving, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
        if (moving == 0) break;
    }
    printf("Rank %d: %d walkers finished here\n", rank, finished);
    int total = 0;
    MPI_Reduce(&finished, &total, 1, MPI_INT, MPI_SUM, 0, MPI_COMM_WORLD);
    if (rank == 0) printf("All %d walkers finished\n", total);
    free(mine);
    MPI_Finalize();
    return 0;
}
