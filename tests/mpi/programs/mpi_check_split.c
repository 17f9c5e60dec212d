/* Large pulled messages that the receiver splits with its sender (both copy a half): the
 * payloads against their pattern at the split's threshold - 1, at it, at odd sizes and
 * odd buffer offsets, 1 MiB and 16 MiB, many round trips in a row (a stale half would
 * show); a sender that computes for a while after MPI_Isend before it waits (the
 * receiver must not wait for it); windows of 64 Isends of 1 MiB with the receives posted
 * early and late. Pairs (0,1), (2,3), ...; an odd last rank sits out. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "payload.h"

enum { window = 64 };

/* Keeps the CPU busy for about `seconds` without calling MPI. */
static double compute(double seconds) {
    const double until = MPI_Wtime() + seconds;
    double x = 1;
    while (MPI_Wtime() < until)
        for (int i = 0; i < 1000; ++i) x = x * 1.0000001 + 1e-9;
    return x;
}

int main(int argc, char** argv) {
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    check_rank = rank;
    const long most = (16L << 20) + 64;
    char* out_base = malloc(most);
    char* in_base = malloc(most);
    const int partner = rank ^ 1;
    const int paired = partner < size;
    const int sender = rank % 2 == 0;

    /* Round trips: sender -> receiver into a posted receive, then back. Buffers at offset
     * 0 and at odd offsets (the halves then start mid-page). */
    const long sizes[] = {(64 << 10) - 1, 64 << 10,           (64 << 10) + 1, (256 << 10) + 7,
                          1 << 20,        (3L << 20) + 12345, 16L << 20};
    const int offsets[][2] = {{0, 0}, {3, 5}, {16, 0}};
    int seed = 0;
    for (int o = 0; o < 3; ++o)
        for (int k = 0; k < 7; ++k) {
            char* out = out_base + offsets[o][0];
            char* in = in_base + offsets[o][1];
            const long n = sizes[k];
            const int trips = n <= (1 << 20) ? 20 : 3;
            for (int t = 0; t < trips && paired; ++t, ++seed) {
                MPI_Status st;
                memset(in, 0, n);
                if (sender) {
                    fill(out, n, seed);
                    MPI_Send(out, (int)n, MPI_BYTE, partner, 1, MPI_COMM_WORLD);
                    MPI_Recv(in, (int)n, MPI_BYTE, partner, 2, MPI_COMM_WORLD, &st);
                    const long bad = first_wrong(in, n, seed + 1000);
                    CHECK(bad < 0, "echo of %ld bytes at offsets %d/%d: byte %ld wrong", n,
                          offsets[o][0], offsets[o][1], bad);
                } else {
                    MPI_Recv(in, (int)n, MPI_BYTE, partner, 1, MPI_COMM_WORLD, &st);
                    const long bad = first_wrong(in, n, seed);
                    CHECK(bad < 0, "%ld bytes at offsets %d/%d: byte %ld wrong", n, offsets[o][1],
                          offsets[o][0], bad);
                    int count = -1;
                    MPI_Get_count(&st, MPI_BYTE, &count);
                    CHECK(count == n, "%ld bytes: count %d", n, count);
                    fill(out, n, seed + 1000);
                    MPI_Send(out, (int)n, MPI_BYTE, partner, 2, MPI_COMM_WORLD);
                }
            }
        }

    /* A sender that computes for 50 ms after MPI_Isend before it waits: the receiver
     * reads the whole message meanwhile (the values say only that it arrived whole). */
    if (paired) {
        const long n = 16L << 20;
        if (sender) {
            fill(out_base, n, 77);
            MPI_Request req;
            MPI_Isend(out_base, (int)n, MPI_BYTE, partner, 3, MPI_COMM_WORLD, &req);
            CHECK(compute(0.05) > 0, "compute");
            MPI_Wait(&req, MPI_STATUS_IGNORE);
        } else {
            memset(in_base, 0, n);
            MPI_Recv(in_base, (int)n, MPI_BYTE, partner, 3, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            const long bad = first_wrong(in_base, n, 77);
            CHECK(bad < 0, "receive from a computing sender: byte %ld wrong", bad);
        }
    }

    /* Windows of 64 Isends of 1 MiB, each from its own buffer, to Irecvs posted before
     * (early) and after (late, behind a barrier) the sends. */
    const long n = 1 << 20;
    char* outs = paired && sender ? malloc(window * n) : NULL;
    char* ins = paired && !sender ? malloc(window * n) : NULL;
    for (int late = 0; late < 2; ++late) {
        MPI_Request reqs[window];
        if (paired && !sender && !late)
            for (int w = 0; w < window; ++w)
                MPI_Irecv(ins + w * n, (int)n, MPI_BYTE, partner, 4, MPI_COMM_WORLD, &reqs[w]);
        MPI_Barrier(MPI_COMM_WORLD);
        if (paired && sender)
            for (int w = 0; w < window; ++w) {
                fill(outs + w * n, n, 200 + 64 * late + w);
                MPI_Isend(outs + w * n, (int)n, MPI_BYTE, partner, 4, MPI_COMM_WORLD, &reqs[w]);
            }
        MPI_Barrier(MPI_COMM_WORLD);
        if (paired && !sender && late)
            for (int w = 0; w < window; ++w)
                MPI_Irecv(ins + w * n, (int)n, MPI_BYTE, partner, 4, MPI_COMM_WORLD, &reqs[w]);
        if (paired) MPI_Waitall(window, reqs, MPI_STATUSES_IGNORE);
        if (paired && !sender)
            for (int w = 0; w < window; ++w) {
                const long bad = first_wrong(ins + w * n, n, 200 + 64 * late + w);
                CHECK(bad < 0, "window (%s receives) message %d: byte %ld wrong",
                      late ? "late" : "early", w, bad);
            }
    }
    free(outs);
    free(ins);
    free(out_base);
    free(in_base);
    return finish("split");
}
