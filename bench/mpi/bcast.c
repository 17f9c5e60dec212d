/* bcast.c - MPI_Bcast from rank 0 of 8 B and 1 MiB. Each iteration starts after a barrier
 * and only the broadcast is timed, so the root cannot run ahead of the others; the
 * figure is the mean over the ranks of the time spent in the broadcast.
 * Prints: bench=bcast impl=.. ranks=.. bytes=.. iters=.. usec=<mean> */
#include <string.h>

#include "mpi_bench.h"

struct broadcast {
    size_t bytes;
    char* buffer;
    double in_bcast; /* seconds spent inside MPI_Bcast */
};

static void broadcasts(long iters, void* state) {
    struct broadcast* b = state;
    for (long i = 0; i < iters; ++i) {
        MPI_Barrier(MPI_COMM_WORLD);
        const double start = MPI_Wtime();
        MPI_Bcast(b->buffer, (int)b->bytes, MPI_BYTE, 0, MPI_COMM_WORLD);
        b->in_bcast += MPI_Wtime() - start;
    }
}

int main(int argc, char** argv) {
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    const struct options o = parse_options(argc, argv, 100);
    struct broadcast b;
    b.buffer = malloc(1 << 20);
    if (!b.buffer) MPI_Abort(MPI_COMM_WORLD, 1);
    memset(b.buffer, rank == 0 ? 7 : 0, 1 << 20);
    const size_t sizes[] = {8, 1 << 20};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; ++k) {
        b.bytes = sizes[k];
        broadcasts(o.warmup, &b);
        const long iters = iterations_for(&o, broadcasts, &b, 10000000L);
        b.in_bcast = 0;
        MPI_Barrier(MPI_COMM_WORLD);
        broadcasts(iters, &b);
        double mine = b.in_bcast / (double)iters, sum = 0;
        MPI_Allreduce(&mine, &sum, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
        if (b.buffer[b.bytes - 1] != 7) MPI_Abort(MPI_COMM_WORLD, 1);
        if (rank == 0)
            printf("bench=bcast impl=%s ranks=%d bytes=%zu iters=%ld usec=%.3f\n", MPI_IMPL, size,
                   b.bytes, iters, sum / size * 1e6);
    }
    free(b.buffer);
    MPI_Finalize();
    return 0;
}
