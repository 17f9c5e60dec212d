/* pingpong.c - rank 0 and rank 1 trade messages; other ranks wait at the final barrier.
 * Latency: a message there and back, halved, for 8 B to 16 MiB.
 * Bandwidth: rank 0 sends a window of 64 messages (MPI_Isend, one reused buffer, as
 * osu_bw does), rank 1 receives them (MPI_Irecv) and answers with one small message.
 * Prints: bench=pingpong impl=.. ranks=.. bytes=.. iters=.. usec=<one way>
 *         bench=bandwidth impl=.. ranks=.. bytes=.. window=64 iters=.. gbps=<1e9 B/s> */
#include <string.h>

#include "mpi_bench.h"

enum { window = 64 };

struct pair {
    int rank;
    size_t bytes;
    char *out, *in;
};

static void round_trips(long iters, void* state) {
    struct pair* p = state;
    const int count = (int)p->bytes, peer = 1 - p->rank;
    if (p->rank > 1) return;
    for (long i = 0; i < iters; ++i) {
        if (p->rank == 0) {
            MPI_Send(p->out, count, MPI_BYTE, peer, 0, MPI_COMM_WORLD);
            MPI_Recv(p->in, count, MPI_BYTE, peer, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        } else {
            MPI_Recv(p->in, count, MPI_BYTE, peer, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            MPI_Send(p->out, count, MPI_BYTE, peer, 0, MPI_COMM_WORLD);
        }
    }
}

static void windows(long iters, void* state) {
    struct pair* p = state;
    MPI_Request requests[window];
    char ack = 0;
    if (p->rank > 1) return;
    for (long i = 0; i < iters; ++i) {
        for (int w = 0; w < window; ++w) {
            if (p->rank == 0)
                MPI_Isend(p->out, (int)p->bytes, MPI_BYTE, 1, 1, MPI_COMM_WORLD, &requests[w]);
            else
                MPI_Irecv(p->in, (int)p->bytes, MPI_BYTE, 0, 1, MPI_COMM_WORLD, &requests[w]);
        }
        MPI_Waitall(window, requests, MPI_STATUSES_IGNORE);
        if (p->rank == 0)
            MPI_Recv(&ack, 1, MPI_BYTE, 1, 2, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        else
            MPI_Send(&ack, 1, MPI_BYTE, 0, 2, MPI_COMM_WORLD);
    }
}

/* Rank 0's time per iteration: the only clock that sees whole round trips. */
static double rank0_seconds(long iters, loop_fn loop, struct pair* p) {
    MPI_Barrier(MPI_COMM_WORLD);
    const double start = MPI_Wtime();
    loop(iters, p);
    double took = (MPI_Wtime() - start) / (double)iters;
    MPI_Bcast(&took, 1, MPI_DOUBLE, 0, MPI_COMM_WORLD);
    return took;
}

int main(int argc, char** argv) {
    MPI_Init(&argc, &argv);
    int size;
    struct pair p;
    MPI_Comm_rank(MPI_COMM_WORLD, &p.rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (size < 2) {
        if (p.rank == 0) fprintf(stderr, "pingpong: needs at least 2 ranks\n");
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
    const struct options o = parse_options(argc, argv, 100);
    const size_t most = (size_t)16 << 20;
    p.out = malloc(most);
    p.in = malloc(most);
    if (!p.out || !p.in) MPI_Abort(MPI_COMM_WORLD, 1);
    memset(p.out, 1, most);
    memset(p.in, 0, most);

    const size_t latency_sizes[] = {8, 1024, 65536, 1 << 20, 16 << 20};
    for (size_t k = 0; k < sizeof latency_sizes / sizeof latency_sizes[0]; ++k) {
        p.bytes = latency_sizes[k];
        round_trips(o.warmup, &p);
        const long iters = iterations_for(&o, round_trips, &p, 10000000L);
        const double seconds = rank0_seconds(iters, round_trips, &p);
        if (p.rank == 0)
            printf("bench=pingpong impl=%s ranks=%d bytes=%zu iters=%ld usec=%.3f\n", MPI_IMPL,
                   size, p.bytes, iters, seconds / 2 * 1e6);
    }
    const size_t bandwidth_sizes[] = {65536, 1 << 20, 16 << 20};
    for (size_t k = 0; k < sizeof bandwidth_sizes / sizeof bandwidth_sizes[0]; ++k) {
        p.bytes = bandwidth_sizes[k];
        windows(o.warmup < 5 ? o.warmup : 5, &p);
        const long iters = iterations_for(&o, windows, &p, 1000000L);
        const double seconds = rank0_seconds(iters, windows, &p);
        if (p.rank == 0)
            printf("bench=bandwidth impl=%s ranks=%d bytes=%zu window=%d iters=%ld gbps=%.3f\n",
                   MPI_IMPL, size, p.bytes, window, iters,
                   (double)p.bytes * window / seconds / 1e9);
    }
    free(p.out);
    free(p.in);
    MPI_Finalize();
    return 0;
}
