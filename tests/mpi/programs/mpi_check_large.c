/* Large messages through the MPI API (the receiver pulls those of 32 KiB and more, or,
 * when it cannot, has them streamed): payloads against their pattern around the
 * threshold and up to 16 MiB, into posted and into late receives; two ranks that both
 * send first; windows of 64 Isends to one receiver that posts its receives late, by tag
 * and from MPI_ANY_SOURCE, in order per (source, tag); truncation; strided datatypes;
 * Ssend; MPI_Iprobe polling past a large message not received yet. Run for any number
 * of ranks; SPMD_NO_SINGLE_COPY=1 takes the fallback. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "payload.h"

enum { window = 64, tags = 4 };

/* The window test's message k from a sender: its size (small, through the ring, pulled),
 * its tag, and its seed. */
static int window_bytes(int k) {
    const int sizes[] = {100, 5000, 40000, 300000};
    return sizes[k % 4];
}
static int window_tag(int k) {
    return (k / 3) % tags;
}
static int window_seed(int source, int k) {
    return source * 1000 + k;
}

int main(int argc, char** argv) {
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    check_rank = rank;
    const long most = 16L << 20;
    char* out = malloc(most);
    char* in = malloc(most);
    const int partner = rank ^ 1; /* pairs (0,1), (2,3), ...; an odd last rank sits out */
    const int paired = partner < size;

    /* Sizes around the threshold and large: rank 0 of a pair sends into a posted receive
     * (Irecv first), then the other way into a late one (the receiver waits in a barrier,
     * which keeps its engine moving, before it calls MPI_Recv). */
    const long sizes[] = {(32 << 10) - 1, 32 << 10, 1 << 20, 16L << 20};
    for (int k = 0; k < 4; ++k) {
        const long n = sizes[k];
        fill(out, n, rank + k);
        memset(in, 0, n);
        MPI_Status st;
        if (paired && rank % 2 == 1) {
            MPI_Request req;
            MPI_Irecv(in, (int)n, MPI_BYTE, partner, 1, MPI_COMM_WORLD, &req);
            MPI_Barrier(MPI_COMM_WORLD);
            MPI_Wait(&req, &st);
        } else {
            MPI_Barrier(MPI_COMM_WORLD);
            if (paired) MPI_Send(out, (int)n, MPI_BYTE, partner, 1, MPI_COMM_WORLD);
        }
        if (paired && rank % 2 == 1) {
            long bad = first_wrong(in, n, partner + k);
            CHECK(bad < 0, "posted receive of %ld bytes: byte %ld wrong", n, bad);
            int count = -1;
            MPI_Get_count(&st, MPI_BYTE, &count);
            CHECK(count == n && st.MPI_SOURCE == partner && st.MPI_TAG == 1,
                  "status of %ld bytes: count %d source %d tag %d", n, count, st.MPI_SOURCE,
                  st.MPI_TAG);
            MPI_Send(out, (int)n, MPI_BYTE, partner, 2, MPI_COMM_WORLD);
        }
        if (paired && rank % 2 == 0) {
            MPI_Barrier(MPI_COMM_WORLD); /* the message arrives before this receive */
            memset(in, 0, n);
            MPI_Recv(in, (int)n, MPI_BYTE, partner, 2, MPI_COMM_WORLD, &st);
            long bad = first_wrong(in, n, partner + k);
            CHECK(bad < 0, "late receive of %ld bytes: byte %ld wrong", n, bad);
        } else {
            MPI_Barrier(MPI_COMM_WORLD);
        }
    }

    /* Both ranks of a pair send 4 MiB first and receive after: no deadlock. */
    if (paired) {
        const int n = 4 << 20;
        fill(out, n, 50 + rank);
        MPI_Send(out, n, MPI_BYTE, partner, 3, MPI_COMM_WORLD);
        MPI_Recv(in, n, MPI_BYTE, partner, 3, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        long bad = first_wrong(in, n, 50 + partner);
        CHECK(bad < 0, "send-first exchange: byte %ld wrong", bad);
    }

    /* A rank that polls with MPI_Iprobe for a small message sent after a large one it
     * does not receive yet still gets it: the large one's sender is not held. */
    if (paired) {
        const int n = 1 << 20;
        int flag = 0, small = 0;
        if (rank % 2 == 0) {
            fill(out, n, 60);
            small = 61;
            MPI_Send(out, n, MPI_BYTE, partner, 10, MPI_COMM_WORLD);
            MPI_Send(&small, 1, MPI_INT, partner, 11, MPI_COMM_WORLD);
        } else {
            while (!flag) MPI_Iprobe(partner, 11, MPI_COMM_WORLD, &flag, MPI_STATUS_IGNORE);
            MPI_Recv(&small, 1, MPI_INT, partner, 11, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            MPI_Recv(in, n, MPI_BYTE, partner, 10, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            long bad = first_wrong(in, n, 60);
            CHECK(small == 61 && bad < 0, "Iprobe poll: small %d, byte %ld wrong", small, bad);
        }
    }

    /* Every other rank sends rank 0 a window of 64 messages of mixed sizes and tags with
     * MPI_Isend before rank 0 posts a receive; rank 0 then takes them tag by tag, last
     * tag first, from MPI_ANY_SOURCE: from each source, messages of one tag in order. */
    MPI_Request reqs[window];
    char* outs[window];
    if (rank != 0)
        for (int k = 0; k < window; ++k) {
            outs[k] = malloc(window_bytes(k));
            fill(outs[k], window_bytes(k), window_seed(rank, k));
            MPI_Isend(outs[k], window_bytes(k), MPI_BYTE, 0, window_tag(k), MPI_COMM_WORLD,
                      &reqs[k]);
        }
    MPI_Barrier(MPI_COMM_WORLD);
    if (rank == 0 && size > 1) {
        int* next = calloc((size_t)size * tags, sizeof(int)); /* next k per (source, tag) */
        for (int tag = tags - 1; tag >= 0; --tag) {
            int per_source = 0;
            for (int k = 0; k < window; ++k) per_source += window_tag(k) == tag;
            for (int m = 0; m < per_source * (size - 1); ++m) {
                MPI_Status st;
                MPI_Recv(in, 300000, MPI_BYTE, MPI_ANY_SOURCE, tag, MPI_COMM_WORLD, &st);
                const int s = st.MPI_SOURCE;
                int* k = &next[s * tags + tag];
                while (*k < window && window_tag(*k) != tag) ++*k;
                int count = -1;
                MPI_Get_count(&st, MPI_BYTE, &count);
                CHECK(*k < window && count == window_bytes(*k),
                      "window: message from %d tag %d has %d bytes", s, tag, count);
                if (*k < window && count == window_bytes(*k)) {
                    long bad = first_wrong(in, count, window_seed(s, *k));
                    CHECK(bad < 0, "window: message %d from %d out of order or wrong at %ld", *k, s,
                          bad);
                }
                ++*k;
            }
        }
        free(next);
    }
    if (rank != 0) {
        MPI_Waitall(window, reqs, MPI_STATUSES_IGNORE);
        for (int k = 0; k < window; ++k) free(outs[k]);
    }

    /* Truncation of a pulled message, into a posted and into a late receive. */
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    if (paired) {
        const int n = 1 << 20;
        fill(out, n, 7);
        MPI_Request req;
        if (rank % 2 == 1) MPI_Irecv(in, n / 2, MPI_BYTE, partner, 4, MPI_COMM_WORLD, &req);
        MPI_Barrier(MPI_COMM_WORLD);
        if (rank % 2 == 0) {
            MPI_Send(out, n, MPI_BYTE, partner, 4, MPI_COMM_WORLD);
            MPI_Send(out, n, MPI_BYTE, partner, 5, MPI_COMM_WORLD);
        } else {
            MPI_Status st;
            int err = MPI_Wait(&req, &st);
            int cls = -1;
            MPI_Error_class(err, &cls);
            CHECK(cls == MPI_ERR_TRUNCATE, "posted receive too small: error class %d", cls);
            err = MPI_Recv(in, n - 1, MPI_BYTE, partner, 5, MPI_COMM_WORLD, &st);
            MPI_Error_class(err, &cls);
            CHECK(cls == MPI_ERR_TRUNCATE, "late receive too small: error class %d", cls);
        }
    } else {
        MPI_Barrier(MPI_COMM_WORLD);
    }
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_ARE_FATAL);

    /* Strided types of 1.5 MiB of data: every third double sent, into every second. */
    if (paired) {
        const int blocks = 196608; /* 1.5 MiB of doubles */
        MPI_Datatype every_third, every_second;
        MPI_Type_vector(blocks, 1, 3, MPI_DOUBLE, &every_third);
        MPI_Type_vector(blocks, 1, 2, MPI_DOUBLE, &every_second);
        MPI_Type_commit(&every_third);
        MPI_Type_commit(&every_second);
        double* from = malloc(sizeof(double) * 3 * blocks);
        double* to = calloc(2 * (size_t)blocks, sizeof(double));
        for (int i = 0; i < 3 * blocks; ++i) from[i] = rank * 1e7 + i;
        MPI_Sendrecv(from, 1, every_third, partner, 6, to, 1, every_second, partner, 6,
                     MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        int wrong = 0;
        for (int i = 0; i < blocks; ++i)
            wrong += to[2 * i] != partner * 1e7 + 3.0 * i || to[2 * i + 1] != 0;
        CHECK(wrong == 0, "strided exchange: %d elements wrong", wrong);
        MPI_Type_free(&every_third);
        MPI_Type_free(&every_second);
        free(from);
        free(to);
    }

    /* Ssend of 2 MiB around a ring: returns once the receive has matched it. */
    if (size > 1) {
        const int n = 2 << 20, right = (rank + 1) % size, left = (rank + size - 1) % size;
        fill(out, n, 90 + rank);
        MPI_Request req;
        MPI_Irecv(in, n, MPI_BYTE, left, 8, MPI_COMM_WORLD, &req);
        MPI_Ssend(out, n, MPI_BYTE, right, 8, MPI_COMM_WORLD);
        MPI_Wait(&req, MPI_STATUS_IGNORE);
        long bad = first_wrong(in, n, 90 + left);
        CHECK(bad < 0, "Ssend ring: byte %ld wrong", bad);
    }

    free(out);
    free(in);
    return finish("large");
}
