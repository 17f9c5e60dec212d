/* Point-to-point calls against their definitions: blocking and nonblocking sends and
 * receives, wildcards and the status, probe and Get_count, PROC_NULL, Request_free,
 * Ssend, strided datatypes, and rings that must not deadlock at any message size. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

static void fill(char* buf, int n, int seed) {
    for (int i = 0; i < n; ++i) buf[i] = (char)((i * 31 + seed * 7) & 0x7f);
}
static int same(const char* buf, int n, int seed) {
    for (int i = 0; i < n; ++i)
        if (buf[i] != (char)((i * 31 + seed * 7) & 0x7f)) return 0;
    return 1;
}

int main(int argc, char** argv) {
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    check_rank = rank;
    const int right = (rank + 1) % size, left = (rank + size - 1) % size;

    /* Ring of Isend then Recv, and of Sendrecv, at sizes from one byte to beyond the
     * pair ring's capacity: neither may deadlock. */
    const int sizes[] = {1, 8, 2000, 4096, 100000, 3 << 20};
    for (int k = 0; k < 6; ++k) {
        const int n = sizes[k];
        char* out = malloc(n);
        char* in = malloc(n);
        fill(out, n, rank);
        MPI_Request req;
        MPI_Status st;
        MPI_Isend(out, n, MPI_CHAR, right, 5, MPI_COMM_WORLD, &req);
        MPI_Recv(in, n, MPI_CHAR, left, 5, MPI_COMM_WORLD, &st);
        MPI_Wait(&req, MPI_STATUS_IGNORE);
        CHECK(req == MPI_REQUEST_NULL, "Wait sets the request to MPI_REQUEST_NULL");
        CHECK(same(in, n, left), "Isend ring of %d bytes carried the left rank's data", n);
        CHECK(st.MPI_SOURCE == left && st.MPI_TAG == 5, "status %d/%d", st.MPI_SOURCE, st.MPI_TAG);
        int count = -1;
        MPI_Get_count(&st, MPI_CHAR, &count);
        CHECK(count == n, "Get_count %d, want %d", count, n);
        memset(in, 0, n);
        MPI_Sendrecv(out, n, MPI_CHAR, right, 6, in, n, MPI_CHAR, left, 6, MPI_COMM_WORLD, &st);
        CHECK(same(in, n, left), "Sendrecv ring of %d bytes", n);
        free(out);
        free(in);
    }

    /* A large Isend left pending across a barrier: rank 0's barrier keeps streaming it
     * to rank 1, which receives it before its own barrier. */
    if (size >= 2) {
        const int n = 5 << 20;
        char* buf = malloc(n);
        if (rank == 0) {
            fill(buf, n, 3);
            MPI_Request req;
            MPI_Isend(buf, n, MPI_CHAR, 1, 50, MPI_COMM_WORLD, &req);
            MPI_Barrier(MPI_COMM_WORLD);
            MPI_Wait(&req, MPI_STATUS_IGNORE);
        } else {
            if (rank == 1) {
                MPI_Recv(buf, n, MPI_CHAR, 0, 50, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
                CHECK(same(buf, n, 3), "Isend across a barrier");
            }
            MPI_Barrier(MPI_COMM_WORLD);
        }
        free(buf);
    }

    /* Many messages in flight from everyone to everyone (more than an inbox holds). */
    {
        const int per = 100;
        int* out = malloc(sizeof(int) * per * size);
        int* in = malloc(sizeof(int) * per * size);
        MPI_Request* reqs = malloc(sizeof(MPI_Request) * 2 * per * size);
        int k = 0;
        for (int r = 0; r < size; ++r)
            for (int i = 0; i < per; ++i) {
                MPI_Irecv(&in[r * per + i], 1, MPI_INT, r, i, MPI_COMM_WORLD, &reqs[k++]);
            }
        for (int r = 0; r < size; ++r)
            for (int i = 0; i < per; ++i) {
                out[r * per + i] = rank * 100000 + r * 1000 + i;
                MPI_Isend(&out[r * per + i], 1, MPI_INT, r, i, MPI_COMM_WORLD, &reqs[k++]);
            }
        MPI_Waitall(k, reqs, MPI_STATUSES_IGNORE);
        for (int r = 0; r < size; ++r)
            for (int i = 0; i < per; ++i)
                CHECK(in[r * per + i] == r * 100000 + rank * 1000 + i,
                      "all-to-all message %d from %d", i, r);
        free(out);
        free(in);
        free(reqs);
    }

    /* Order: messages from one source with one tag arrive in sending order; a receive
     * with a specific tag skips others; ANY_TAG takes the oldest. */
    if (size >= 2) {
        if (rank == 0) {
            for (int i = 0; i < 5; ++i) MPI_Send(&i, 1, MPI_INT, 1, 10 + (i % 2), MPI_COMM_WORLD);
        } else if (rank == 1) {
            int v;
            MPI_Status st;
            MPI_Recv(&v, 1, MPI_INT, 0, 11, MPI_COMM_WORLD, &st);
            CHECK(v == 1, "first tag-11 message is 1, got %d", v);
            MPI_Recv(&v, 1, MPI_INT, MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &st);
            CHECK(v == 0 && st.MPI_TAG == 10 && st.MPI_SOURCE == 0, "ANY_TAG takes the oldest: %d",
                  v);
            MPI_Recv(&v, 1, MPI_INT, 0, 11, MPI_COMM_WORLD, &st);
            CHECK(v == 3, "then 3, got %d", v);
            MPI_Recv(&v, 1, MPI_INT, 0, 10, MPI_COMM_WORLD, &st);
            CHECK(v == 2, "then 2, got %d", v);
            MPI_Recv(&v, 1, MPI_INT, 0, 10, MPI_COMM_WORLD, &st);
            CHECK(v == 4, "then 4, got %d", v);
        }
    }

    /* Probe and Get_count size the receive; Iprobe finds nothing when nothing is sent. */
    {
        int flag = 1;
        MPI_Status st;
        MPI_Iprobe(MPI_ANY_SOURCE, 999, MPI_COMM_WORLD, &flag, &st);
        CHECK(flag == 0, "Iprobe found a message nobody sent");
        const int n = 37 + rank;
        double* out = malloc(sizeof(double) * n);
        for (int i = 0; i < n; ++i) out[i] = rank + i / 8.0;
        MPI_Request req;
        MPI_Isend(out, n, MPI_DOUBLE, right, 7, MPI_COMM_WORLD, &req);
        MPI_Probe(left, 7, MPI_COMM_WORLD, &st);
        int count = 0;
        MPI_Get_count(&st, MPI_DOUBLE, &count);
        CHECK(count == 37 + left, "Get_count after Probe: %d, want %d", count, 37 + left);
        CHECK(st.MPI_SOURCE == left && st.MPI_TAG == 7, "Probe status");
        MPI_Get_count(&st, MPI_INT, &count);
        CHECK(count == 2 * (37 + left), "Get_count in ints %d", count);
        MPI_Get_count(&st, MPI_DOUBLE_INT, &count);
        int dsize;
        MPI_Type_size(MPI_DOUBLE_INT, &dsize);
        CHECK((8 * (37 + left)) % dsize != 0 ? count == MPI_UNDEFINED : 1, "Get_count undefined");
        double* in = malloc(sizeof(double) * (37 + left));
        do MPI_Iprobe(left, 7, MPI_COMM_WORLD, &flag, &st);
        while (!flag);
        MPI_Recv(in, 37 + left, MPI_DOUBLE, st.MPI_SOURCE, st.MPI_TAG, MPI_COMM_WORLD, &st);
        CHECK(in[36] == left + 36 / 8.0, "probed message content");
        int done = 0;
        while (!done) MPI_Test(&req, &done, MPI_STATUS_IGNORE);
        free(out);
        free(in);
    }

    /* PROC_NULL: sends and receives complete at once with the standard's status. */
    {
        int v = 42;
        MPI_Status st;
        MPI_Send(&v, 1, MPI_INT, MPI_PROC_NULL, 0, MPI_COMM_WORLD);
        MPI_Recv(&v, 1, MPI_INT, MPI_PROC_NULL, 0, MPI_COMM_WORLD, &st);
        int count = -1;
        MPI_Get_count(&st, MPI_INT, &count);
        CHECK(st.MPI_SOURCE == MPI_PROC_NULL && st.MPI_TAG == MPI_ANY_TAG && count == 0 && v == 42,
              "PROC_NULL status");
    }

    /* Waitany, Testall, Request_free, Ssend, and sends to oneself. */
    {
        int got[3] = {-1, -1, -1}, mine[3] = {rank, rank * 2, rank * 3};
        MPI_Request r[3];
        for (int i = 0; i < 3; ++i)
            MPI_Irecv(&got[i], 1, MPI_INT, left, 20 + i, MPI_COMM_WORLD, &r[i]);
        MPI_Request s;
        MPI_Isend(&mine[1], 1, MPI_INT, right, 21, MPI_COMM_WORLD, &s);
        MPI_Request_free(&s);
        CHECK(s == MPI_REQUEST_NULL, "Request_free sets MPI_REQUEST_NULL");
        MPI_Ssend(&mine[0], 1, MPI_INT, right, 20, MPI_COMM_WORLD);
        MPI_Send(&mine[2], 1, MPI_INT, right, 22, MPI_COMM_WORLD);
        int seen = 0;
        for (int k = 0; k < 3; ++k) {
            int index;
            MPI_Status st;
            MPI_Waitany(3, r, &index, &st);
            CHECK(index >= 0 && index < 3 && st.MPI_TAG == 20 + index, "Waitany index %d", index);
            seen |= 1 << index;
        }
        CHECK(seen == 7, "Waitany saw every request");
        int index;
        MPI_Waitany(3, r, &index, MPI_STATUS_IGNORE);
        CHECK(index == MPI_UNDEFINED, "Waitany of null requests gives MPI_UNDEFINED");
        CHECK(got[0] == left && got[1] == 2 * left && got[2] == 3 * left, "Waitany data");
        int flag = 0, a = 5, b = 0;
        MPI_Request two[2];
        MPI_Irecv(&b, 1, MPI_INT, rank, 30, MPI_COMM_WORLD, &two[0]);
        MPI_Isend(&a, 1, MPI_INT, rank, 30, MPI_COMM_WORLD, &two[1]);
        while (!flag) MPI_Testall(2, two, &flag, MPI_STATUSES_IGNORE);
        CHECK(b == 5 && two[0] == MPI_REQUEST_NULL, "send to self, Testall");
    }

    /* Strided types: a column of a row-major matrix, sent as MPI_Type_vector. */
    {
        enum { R = 5, C = 4 };
        double m[R][C], col[R];
        for (int i = 0; i < R; ++i)
            for (int j = 0; j < C; ++j) m[i][j] = rank * 100 + i * 10 + j;
        MPI_Datatype column;
        MPI_Type_vector(R, 1, C, MPI_DOUBLE, &column);
        MPI_Type_commit(&column);
        int tsize;
        MPI_Type_size(column, &tsize);
        CHECK(tsize == R * (int)sizeof(double), "vector size %d", tsize);
        MPI_Sendrecv(&m[0][2], 1, column, right, 40, col, R, MPI_DOUBLE, left, 40, MPI_COMM_WORLD,
                     MPI_STATUS_IGNORE);
        for (int i = 0; i < R; ++i)
            CHECK(col[i] == left * 100 + i * 10 + 2, "column element %d", i);
        double back[R][C];
        memset(back, 0, sizeof back);
        MPI_Sendrecv(col, R, MPI_DOUBLE, right, 41, &back[0][1], 1, column, left, 41,
                     MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        for (int i = 0; i < R; ++i)
            CHECK(back[i][1] == ((left + size - 1) % size) * 100 + i * 10 + 2 && back[i][0] == 0,
                  "unpacked column %d", i);
        MPI_Datatype pair;
        MPI_Type_contiguous(2, MPI_INT, &pair);
        MPI_Type_commit(&pair);
        MPI_Type_size(pair, &tsize);
        CHECK(tsize == 8, "contiguous size");
        MPI_Type_free(&column);
        MPI_Type_free(&pair);
        CHECK(column == MPI_DATATYPE_NULL, "Type_free nulls the handle");
    }
    /* The pair types are structs of a value and an int: their size counts the two members,
     * their extent is the C struct's, and the padding between is neither sent nor written. */
    {
        struct double_int {
            double value;
            int index;
        };
        struct short_int {
            short value;
            int index;
        };
        int tsize;
        MPI_Type_size(MPI_DOUBLE_INT, &tsize);
        CHECK(tsize == (int)(sizeof(double) + sizeof(int)), "MPI_DOUBLE_INT size %d", tsize);
        MPI_Type_size(MPI_SHORT_INT, &tsize);
        CHECK(tsize == (int)(sizeof(short) + sizeof(int)), "MPI_SHORT_INT size %d", tsize);
        MPI_Type_size(MPI_2INT, &tsize);
        CHECK(tsize == 2 * (int)sizeof(int), "MPI_2INT size %d", tsize);
        MPI_Type_size(MPI_LONG_DOUBLE_INT, &tsize);
        CHECK(tsize == (int)(sizeof(long double) + sizeof(int)), "MPI_LONG_DOUBLE_INT size %d",
              tsize);

        enum { n = 5 };
        struct double_int out[n], in[n];
        struct short_int sout[n], sin[n];
        memset(in, 0x5a, sizeof in);
        memset(sin, 0x5a, sizeof sin);
        for (int i = 0; i < n; ++i) {
            out[i].value = rank + i / 4.0;
            out[i].index = 10 * rank + i;
            sout[i].value = (short)(rank - i);
            sout[i].index = 100 * rank + i;
        }
        MPI_Status st;
        MPI_Sendrecv(out, n, MPI_DOUBLE_INT, right, 43, in, n, MPI_DOUBLE_INT, left, 43,
                     MPI_COMM_WORLD, &st);
        int count = 0;
        MPI_Get_count(&st, MPI_DOUBLE_INT, &count);
        CHECK(count == n, "Get_count of MPI_DOUBLE_INT: %d, want %d", count, n);
        MPI_Get_count(&st, MPI_BYTE, &count);
        CHECK(count == n * (int)(sizeof(double) + sizeof(int)), "MPI_DOUBLE_INT bytes: %d", count);
        MPI_Sendrecv(sout, n, MPI_SHORT_INT, right, 44, sin, n, MPI_SHORT_INT, left, 44,
                     MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        unsigned char pad[sizeof(struct double_int)];
        memset(pad, 0x5a, sizeof pad);
        for (int i = 0; i < n; ++i) {
            CHECK(in[i].value == left + i / 4.0 && in[i].index == 10 * left + i,
                  "MPI_DOUBLE_INT element %d", i);
            CHECK(sin[i].value == (short)(left - i) && sin[i].index == 100 * left + i,
                  "MPI_SHORT_INT element %d", i);
            const size_t gap = offsetof(struct short_int, index) - sizeof(short);
            CHECK(memcmp((char*)&sin[i] + sizeof(short), pad, gap) == 0,
                  "MPI_SHORT_INT's padding %d is left as it was", i);
        }
    }
    return finish("p2p");
}
