/* allreduce.c - MPI_Allreduce of doubles with MPI_SUM, 1, 1024 and 2^20 of them, separate
 * input and output buffers, back to back; mean over the ranks.
 * Prints: bench=allreduce impl=.. ranks=.. count=<doubles> iters=.. usec=<mean> */
#include "mpi_bench.h"

struct sums {
    int count;
    double *in, *out;
};

static void all_reduces(long iters, void* state) {
    struct sums* s = state;
    for (long i = 0; i < iters; ++i)
        MPI_Allreduce(s->in, s->out, s->count, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
}

int main(int argc, char** argv) {
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    const struct options o = parse_options(argc, argv, 20);
    const int most = 1 << 20;
    struct sums s;
    s.in = malloc(sizeof(double) * most);
    s.out = malloc(sizeof(double) * most);
    if (!s.in || !s.out) MPI_Abort(MPI_COMM_WORLD, 1);
    for (int i = 0; i < most; ++i) {
        s.in[i] = rank + 1.0;
        s.out[i] = 0;
    }
    const int counts[] = {1, 1024, 1 << 20};
    for (size_t k = 0; k < sizeof counts / sizeof counts[0]; ++k) {
        s.count = counts[k];
        all_reduces(o.warmup, &s);
        const long iters = iterations_for(&o, all_reduces, &s, 10000000L);
        const double seconds = mean_seconds(iters, all_reduces, &s);
        /* Every element is 1 + 2 + ... + size: a wrong sum must not pass as a fast one. */
        if (s.out[s.count - 1] != size * (size + 1) / 2.0) {
            fprintf(stderr, "allreduce: rank %d got %g\n", rank, s.out[s.count - 1]);
            MPI_Abort(MPI_COMM_WORLD, 1);
        }
        if (rank == 0)
            printf("bench=allreduce impl=%s ranks=%d count=%d iters=%ld usec=%.3f\n", MPI_IMPL,
                   size, s.count, iters, seconds * 1e6);
    }
    free(s.in);
    free(s.out);
    MPI_Finalize();
    return 0;
}
