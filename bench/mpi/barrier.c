/* barrier.c - the cost of one MPI_Barrier in a back-to-back loop, mean over the ranks.
 * Prints: bench=barrier impl=<mpi> ranks=<N> iters=<K> usec=<mean> */
#include "mpi_bench.h"

static void barriers(long iters, void* state) {
    (void)state;
    for (long i = 0; i < iters; ++i) MPI_Barrier(MPI_COMM_WORLD);
}

int main(int argc, char** argv) {
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    const struct options o = parse_options(argc, argv, 1000);
    barriers(o.warmup, NULL);
    const long iters = iterations_for(&o, barriers, NULL, 100000000L);
    const double seconds = mean_seconds(iters, barriers, NULL);
    if (rank == 0)
        printf("bench=barrier impl=%s ranks=%d iters=%ld usec=%.3f\n", MPI_IMPL, size, iters,
               seconds * 1e6);
    MPI_Finalize();
    return 0;
}
