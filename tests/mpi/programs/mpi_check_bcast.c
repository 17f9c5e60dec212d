/* MPI_Bcast on MPI_COMM_WORLD, which goes through the broadcast board (slots of 64 KiB
 * in shared memory, reused once every rank has read them), or from 24 KiB on with no
 * more ranks than cores (512 KiB with more) by single copy from root's buffer (split
 * with root): every size around the slot, board and single-copy boundaries up to 4 MiB
 * from every root (the largest from two), a guard byte past each buffer; buffers at odd
 * offsets;
 * back-to-back broadcasts from changing roots with no barrier between them, so that
 * ranks run ahead onto slots the others still read; broadcasts interleaved with
 * point-to-point messages in flight; and a rank whose count differs from the root's,
 * under MPI_ERRORS_RETURN, after which the board still carries the next broadcast. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "payload.h"

int main(int argc, char** argv) {
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    check_rank = rank;
    const long slot = 64 << 10, single = 24 << 10;
    const long sizes[] = {0,          1,
                          8,          2015,
                          2016,       2017,
                          single - 1, single,
                          single + 1, 3 * 8192 + 5,
                          slot - 1,   slot,
                          slot + 1,   4 * slot - 1,
                          4 * slot,   4 * slot + 1,
                          5 * slot,   1L << 20,
                          4L << 20,   (4L << 20) + 3};
    const int nsizes = (int)(sizeof sizes / sizeof sizes[0]);
    char* buf = malloc((size_t)(4L << 20) + 4096 + 4);

    /* Every size from every root (the megabytes from the first and the last: enough to
     * cross the board's rest-by-scratch path, without copying gigabytes at 9 ranks); the
     * byte past the count stays as it was. */
    for (int k = 0; k < nsizes; ++k)
        for (int root = 0; root < size; ++root) {
            const long n = sizes[k];
            if (n >= (1L << 20) && root != 0 && root != size - 1) continue;
            const int seed = root * 31 + k;
            if (rank == root)
                fill(buf, n, seed);
            else
                memset(buf, 0x5a, (size_t)n);
            buf[n] = 0x33;
            MPI_Bcast(buf, (int)n, MPI_BYTE, root, MPI_COMM_WORLD);
            const long wrong = first_wrong(buf, n, seed);
            CHECK(wrong < 0, "Bcast of %ld bytes from %d: byte %ld wrong", n, root, wrong);
            CHECK(buf[n] == 0x33, "Bcast of %ld bytes from %d wrote past the count", n, root);
        }

    /* Buffers at odd offsets (the split's head is a multiple of 4 KiB of the count, not
     * of the address), root's and the others' offsets differing, from every root. */
    const long odd_sizes[] = {single + 1, 100001, (1L << 20) + 7};
    const long offsets[] = {1, 3, 4093};
    for (int k = 0; k < 3; ++k)
        for (int root = 0; root < size; ++root) {
            const long n = odd_sizes[k];
            char* at = buf + offsets[(k + rank) % 3];
            const int seed = 500 + root * 7 + k;
            if (rank == root)
                fill(at, n, seed);
            else
                memset(at, 0x5a, (size_t)n);
            at[n] = 0x33;
            MPI_Bcast(at, (int)n, MPI_BYTE, root, MPI_COMM_WORLD);
            const long wrong = first_wrong(at, n, seed);
            CHECK(wrong < 0, "Bcast of %ld bytes at an odd offset from %d: byte %ld wrong", n, root,
                  wrong);
            CHECK(at[n] == 0x33, "Bcast of %ld bytes at an odd offset wrote past the count", n);
        }

    /* Back to back, roots and sizes changing, no barrier: slots are reused while slow
     * ranks may still be reading them. */
    for (int i = 0; i < 100; ++i) {
        const int root = (i * 7) % size;
        const long n = (i % 4 == 0) ? 8 : (i % 4 == 1) ? 3 * slot + 5 : (i % 4 == 2) ? 100 : single;
        if (rank == root) fill(buf, n, i);
        MPI_Bcast(buf, (int)n, MPI_BYTE, root, MPI_COMM_WORLD);
        const long wrong = first_wrong(buf, n, i);
        CHECK(wrong < 0, "back-to-back Bcast %d (%ld bytes from %d): byte %ld wrong", i, n, root,
              wrong);
    }

    /* Interleaved with point-to-point: each rank's Isend to the next is in flight (small,
     * or large enough to be pulled) while it broadcasts. */
    if (size > 1) {
        const int next = (rank + 1) % size, prev = (rank + size - 1) % size;
        const long p2p_bytes[] = {4, 40000, 300000};
        char* out = malloc(300000);
        char* in = malloc(300000);
        for (int i = 0; i < 30; ++i) {
            const long m = p2p_bytes[i % 3];
            fill(out, m, 1000 + rank * 50 + i);
            MPI_Request req;
            MPI_Isend(out, (int)m, MPI_BYTE, next, i, MPI_COMM_WORLD, &req);
            const int root = i % size;
            double v[4] = {0, 0, 0, 0};
            if (rank == root)
                for (int j = 0; j < 4; ++j) v[j] = i + j * 0.25;
            MPI_Bcast(v, 4, MPI_DOUBLE, root, MPI_COMM_WORLD);
            CHECK(v[0] == i && v[3] == i + 0.75, "Bcast %d between messages", i);
            MPI_Recv(in, (int)m, MPI_BYTE, prev, i, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            MPI_Wait(&req, MPI_STATUS_IGNORE);
            const long wrong = first_wrong(in, m, 1000 + prev * 50 + i);
            CHECK(wrong < 0, "message %d from %d beside a Bcast: byte %ld wrong", i, prev, wrong);
        }
        free(out);
        free(in);
    }

    /* A count that differs from root's (larger, then smaller): MPI_ERR_TRUNCATE on the
     * others, and the next
     * broadcast still arrives whole. */
    if (size > 1) {
        MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
        for (int larger = 0; larger < 2; ++larger) { /* root's count larger, then smaller */
            const long n = (rank == 0) == larger ? slot + 100 : 8;
            if (rank == 0) fill(buf, n, 5);
            const int code = MPI_Bcast(buf, (int)n, MPI_BYTE, 0, MPI_COMM_WORLD);
            int cls = MPI_SUCCESS;
            MPI_Error_class(code, &cls);
            CHECK(cls == (rank == 0 ? MPI_SUCCESS : MPI_ERR_TRUNCATE),
                  "Bcast with a count unlike root's returned class %d", cls);
        }
        MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_ARE_FATAL);
        if (rank == size - 1) fill(buf, 2 * slot, 6);
        MPI_Bcast(buf, (int)(2 * slot), MPI_BYTE, size - 1, MPI_COMM_WORLD);
        CHECK(first_wrong(buf, 2 * slot, 6) < 0, "the Bcast after a mismatch");
    }
    free(buf);
    return finish("bcast");
}
