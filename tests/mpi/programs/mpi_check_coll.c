/* Collectives against their definitions, on MPI_COMM_WORLD (World's fast paths) and on
 * sub-communicators (point-to-point algorithms): values computed independently here from
 * each rank's known inputs. Includes MPI_IN_PLACE, MAXLOC/MINLOC ties (lowest rank wins),
 * a non-commutative user operation (rank order), scans and the v-variants. */
#include <stdlib.h>
#include <string.h>

#include "check.h"

/* Non-commutative and associative: 2x2 integer matrix product, row-major. */
static void matmul(void* in, void* inout, int* len, MPI_Datatype* type) {
    (void)type;
    int* a = in;
    int* b = inout;
    for (int k = 0; k < *len; ++k, a += 4, b += 4) {
        int c[4] = {a[0] * b[0] + a[1] * b[2], a[0] * b[1] + a[1] * b[3], a[2] * b[0] + a[3] * b[2],
                    a[2] * b[1] + a[3] * b[3]};
        memcpy(b, c, sizeof c);
    }
}
/* A user op on MPI_DOUBLE_INT sees C's struct layout: sums values, keeps the largest index. */
struct double_int {
    double v;
    int i;
};
static void sum_value_max_index(void* in, void* inout, int* len, MPI_Datatype* type) {
    (void)type;
    const struct double_int* a = in;
    struct double_int* b = inout;
    for (int k = 0; k < *len; ++k) {
        b[k].v += a[k].v;
        if (a[k].i > b[k].i) b[k].i = a[k].i;
    }
}
static void mat_of(int r, int* m) {
    m[0] = 1;
    m[1] = r + 1;
    m[2] = 0;
    m[3] = 1 + (r % 2);
}
static void mat_prod(int lo, int hi, int* out) { /* M_lo * ... * M_hi */
    int acc[4] = {1, 0, 0, 1}, m[4];
    for (int r = lo; r <= hi; ++r) {
        mat_of(r, m);
        int len = 1;
        matmul(acc, m, &len, NULL);
        memcpy(acc, m, sizeof acc);
    }
    memcpy(out, acc, sizeof acc);
}

static void check_comm(MPI_Comm comm, const char* name) {
    int rank, size;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &size);
    MPI_Barrier(comm);

    /* Bcast from every root, of a short and a long buffer and a strided type. */
    for (int root = 0; root < size; ++root) {
        int v[3] = {rank, rank, rank};
        MPI_Bcast(v, 3, MPI_INT, root, comm);
        CHECK(v[0] == root && v[2] == root, "%s Bcast from %d", name, root);
    }
    {
        const int n = 300000;
        double* big = malloc(sizeof(double) * n);
        for (int i = 0; i < n; ++i) big[i] = rank == size - 1 ? i * 0.5 : -1;
        MPI_Bcast(big, n, MPI_DOUBLE, size - 1, comm);
        CHECK(big[0] == 0 && big[n - 1] == (n - 1) * 0.5, "%s long Bcast", name);
        free(big);
        int m[3][2] = {{rank, -1}, {rank, -1}, {rank, -1}};
        MPI_Datatype col;
        MPI_Type_vector(3, 1, 2, MPI_INT, &col);
        MPI_Type_commit(&col);
        if (rank == 0) m[0][0] = 7, m[1][0] = 8, m[2][0] = 9;
        MPI_Bcast(m, 1, col, 0, comm);
        CHECK(m[0][0] == 7 && m[2][0] == 9 && m[1][1] == -1, "%s strided Bcast", name);
        MPI_Type_free(&col);
    }

    /* Reduce and Allreduce: sums, products, min/max, logical and bitwise ops. */
    {
        long sum = 0, want = (long)size * (size - 1) / 2;
        long mine = rank;
        MPI_Reduce(&mine, &sum, 1, MPI_LONG, MPI_SUM, size - 1, comm);
        if (rank == size - 1) CHECK(sum == want, "%s Reduce sum %ld", name, sum);
        double d[4] = {rank + 1.0, -rank, rank * 0.25, 1.0}, r[4];
        MPI_Allreduce(d, r, 4, MPI_DOUBLE, MPI_MAX, comm);
        CHECK(r[0] == size && r[1] == 0 && r[2] == (size - 1) * 0.25, "%s Allreduce max", name);
        MPI_Allreduce(d, r, 4, MPI_DOUBLE, MPI_MIN, comm);
        CHECK(r[0] == 1 && r[1] == -(size - 1), "%s Allreduce min", name);
        int p = rank + 1, prod = 0, fact = 1;
        for (int i = 2; i <= size; ++i) fact *= i;
        MPI_Allreduce(&p, &prod, 1, MPI_INT, MPI_PROD, comm);
        CHECK(prod == fact, "%s PROD %d", name, prod);
        unsigned bits = 1u << rank, all = 0;
        MPI_Allreduce(&bits, &all, 1, MPI_UNSIGNED, MPI_BOR, comm);
        CHECK(all == (1u << size) - 1, "%s BOR", name);
        MPI_Allreduce(&bits, &all, 1, MPI_UNSIGNED, MPI_BXOR, comm);
        CHECK(all == (1u << size) - 1, "%s BXOR", name);
        unsigned ones = 0xff ^ bits;
        MPI_Allreduce(&ones, &all, 1, MPI_UNSIGNED, MPI_BAND, comm);
        CHECK(all == (0xffu & ~((1u << size) - 1)), "%s BAND %x", name, all);
        int t = rank != 0, land = -1, lor = -1, lxor = -1;
        MPI_Allreduce(&t, &land, 1, MPI_INT, MPI_LAND, comm);
        MPI_Allreduce(&t, &lor, 1, MPI_INT, MPI_LOR, comm);
        MPI_Allreduce(&t, &lxor, 1, MPI_INT, MPI_LXOR, comm);
        CHECK(land == 0 && lor == (size > 1) && lxor == ((size - 1) % 2),
              "%s LAND/LOR/LXOR %d %d %d", name, land, lor, lxor);
        /* MPI_IN_PLACE */
        int x[2] = {rank, 1};
        MPI_Allreduce(MPI_IN_PLACE, x, 2, MPI_INT, MPI_SUM, comm);
        CHECK(x[0] == size * (size - 1) / 2 && x[1] == size, "%s Allreduce IN_PLACE", name);
        int y = rank + 10;
        if (rank == 0)
            MPI_Reduce(MPI_IN_PLACE, &y, 1, MPI_INT, MPI_MAX, 0, comm);
        else
            MPI_Reduce(&y, NULL, 1, MPI_INT, MPI_MAX, 0, comm);
        if (rank == 0) CHECK(y == size + 9, "%s Reduce IN_PLACE %d", name, y);
        /* Long arrays: the fast path splits them across ranks. */
        const int n = 100000;
        float* a = malloc(sizeof(float) * n);
        float* b = malloc(sizeof(float) * n);
        for (int i = 0; i < n; ++i) a[i] = (float)(i % 7 + rank);
        MPI_Allreduce(a, b, n, MPI_FLOAT, MPI_SUM, comm);
        int okay = 1;
        for (int i = 0; i < n; ++i) okay &= b[i] == (float)((i % 7) * size + size * (size - 1) / 2);
        CHECK(okay, "%s long Allreduce", name);
        free(a);
        free(b);
    }

    /* MAXLOC/MINLOC: ties go to the lowest index. */
    {
        struct {
            double v;
            int i;
        } in = {(double)(rank % 2), rank}, out;
        MPI_Allreduce(&in, &out, 1, MPI_DOUBLE_INT, MPI_MAXLOC, comm);
        CHECK(out.v == (size > 1 ? 1 : 0) && out.i == (size > 1 ? 1 : 0), "%s MAXLOC tie %g %d",
              name, out.v, out.i);
        MPI_Allreduce(&in, &out, 1, MPI_DOUBLE_INT, MPI_MINLOC, comm);
        CHECK(out.v == 0 && out.i == 0, "%s MINLOC tie", name);
        int pin[2] = {5, rank}, pout[2];
        MPI_Allreduce(pin, pout, 1, MPI_2INT, MPI_MAXLOC, comm);
        CHECK(pout[0] == 5 && pout[1] == 0, "%s 2INT MAXLOC all equal", name);
        struct {
            float v;
            int i;
        } f = {(float)-rank, size - 1 - rank}, fo;
        MPI_Reduce(&f, &fo, 1, MPI_FLOAT_INT, MPI_MINLOC, 0, comm);
        if (rank == 0) CHECK(fo.v == -(size - 1) && fo.i == 0, "%s FLOAT_INT MINLOC", name);
        struct {
            long v;
            int i;
        } l = {7, rank}, lo;
        MPI_Allreduce(&l, &lo, 1, MPI_LONG_INT, MPI_MINLOC, comm);
        CHECK(lo.v == 7 && lo.i == 0, "%s LONG_INT MINLOC", name);
        MPI_Op op;
        MPI_Op_create(sum_value_max_index, 1, &op);
        struct double_int d[2] = {{rank, 10 * rank}, {0.5, -rank}}, dout[2];
        MPI_Allreduce(d, dout, 2, MPI_DOUBLE_INT, op, comm);
        CHECK(dout[0].v == size * (size - 1) / 2.0 && dout[0].i == 10 * (size - 1) &&
                  dout[1].v == 0.5 * size && dout[1].i == 0,
              "%s user op on MPI_DOUBLE_INT: %g %d %g %d", name, dout[0].v, dout[0].i, dout[1].v,
              dout[1].i);
        MPI_Op_free(&op);
    }

    /* A non-commutative user op: applied in rank order (Reduce, Allreduce, Scan). */
    {
        MPI_Op op;
        MPI_Op_create(matmul, 0, &op);
        MPI_Datatype mat;
        MPI_Type_contiguous(4, MPI_INT, &mat);
        MPI_Type_commit(&mat);
        int m[4], r[4] = {0}, want[4];
        mat_of(rank, m);
        MPI_Allreduce(m, r, 1, mat, op, comm);
        mat_prod(0, size - 1, want);
        CHECK(memcmp(r, want, sizeof want) == 0, "%s user op Allreduce rank order", name);
        MPI_Reduce(m, r, 1, mat, op, size / 2, comm);
        if (rank == size / 2) CHECK(memcmp(r, want, sizeof want) == 0, "%s user op Reduce", name);
        MPI_Scan(m, r, 1, mat, op, comm);
        mat_prod(0, rank, want);
        CHECK(memcmp(r, want, sizeof want) == 0, "%s user op Scan", name);
        MPI_Op_free(&op);
        MPI_Type_free(&mat);
        CHECK(op == MPI_OP_NULL, "Op_free nulls the handle");
    }

    /* Scan, Exscan, Reduce_scatter_block. */
    {
        int v = rank + 1, s = -1;
        MPI_Scan(&v, &s, 1, MPI_INT, MPI_SUM, comm);
        CHECK(s == (rank + 1) * (rank + 2) / 2, "%s Scan %d", name, s);
        s = -7;
        MPI_Exscan(&v, &s, 1, MPI_INT, MPI_SUM, comm);
        if (rank > 0) CHECK(s == rank * (rank + 1) / 2, "%s Exscan %d", name, s);
        int w = rank + 1;
        MPI_Scan(MPI_IN_PLACE, &w, 1, MPI_INT, MPI_PROD, comm);
        int f = 1;
        for (int i = 2; i <= rank + 1; ++i) f *= i;
        CHECK(w == f, "%s Scan IN_PLACE", name);
        int* in = malloc(sizeof(int) * 2 * size);
        for (int i = 0; i < 2 * size; ++i) in[i] = i * (rank + 1);
        int part[2];
        MPI_Reduce_scatter_block(in, part, 2, MPI_INT, MPI_SUM, comm);
        const int tri = size * (size + 1) / 2;
        CHECK(part[0] == 2 * rank * tri && part[1] == (2 * rank + 1) * tri,
              "%s Reduce_scatter_block", name);
        free(in);
    }

    /* Gather(v), Scatter(v), Allgather(v), Alltoall(v), with IN_PLACE where MPI allows. */
    {
        int* all = malloc(sizeof(int) * 2 * size);
        int two[2] = {rank, -rank};
        for (int root = 0; root < size; ++root) {
            for (int i = 0; i < 2 * size; ++i) all[i] = -99;
            MPI_Gather(two, 2, MPI_INT, all, 2, MPI_INT, root, comm);
            if (rank == root)
                for (int r = 0; r < size; ++r)
                    CHECK(all[2 * r] == r && all[2 * r + 1] == -r, "%s Gather", name);
        }
        for (int i = 0; i < 2 * size; ++i) all[i] = rank == 0 ? 1000 + i : -1;
        int got[2];
        MPI_Scatter(all, 2, MPI_INT, got, 2, MPI_INT, 0, comm);
        CHECK(got[0] == 1000 + 2 * rank && got[1] == 1001 + 2 * rank, "%s Scatter", name);
        if (rank == 0) {
            MPI_Scatter(all, 2, MPI_INT, MPI_IN_PLACE, 2, MPI_INT, 0, comm);
            CHECK(all[0] == 1000, "%s Scatter IN_PLACE keeps root's part", name);
        } else {
            MPI_Scatter(NULL, 2, MPI_INT, got, 2, MPI_INT, 0, comm);
            CHECK(got[0] == 1000 + 2 * rank, "%s Scatter (IN_PLACE at root)", name);
        }
        for (int i = 0; i < 2 * size; ++i) all[i] = -1;
        MPI_Allgather(two, 2, MPI_INT, all, 2, MPI_INT, comm);
        for (int r = 0; r < size; ++r)
            CHECK(all[2 * r] == r && all[2 * r + 1] == -r, "%s Allgather", name);
        for (int i = 0; i < 2 * size; ++i) all[i] = i / 2 == rank ? (i % 2 ? -rank : rank) : -5;
        MPI_Allgather(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, all, 2, MPI_INT, comm);
        for (int r = 0; r < size; ++r)
            CHECK(all[2 * r] == r && all[2 * r + 1] == -r, "%s Allgather IN_PLACE", name);
        if (rank == 0) {
            for (int i = 0; i < 2 * size; ++i) all[i] = i < 2 ? 77 + i : -5;
            MPI_Gather(MPI_IN_PLACE, 2, MPI_INT, all, 2, MPI_INT, 0, comm);
            for (int r = 1; r < size; ++r) CHECK(all[2 * r] == r, "%s Gather IN_PLACE", name);
            CHECK(all[0] == 77 && all[1] == 78, "%s Gather IN_PLACE root part", name);
        } else {
            MPI_Gather(two, 2, MPI_INT, NULL, 0, MPI_INT, 0, comm);
        }
        free(all);

        /* v-variants: rank r contributes r + 1 values r*10 + i, placed with a gap. */
        int* counts = malloc(sizeof(int) * size);
        int* displs = malloc(sizeof(int) * size);
        int total = 0;
        for (int r = 0; r < size; ++r) {
            counts[r] = r + 1;
            displs[r] = total + r; /* one unused slot before each part */
            total += r + 1;
        }
        const int span = total + size;
        int* mine = malloc(sizeof(int) * (rank + 1));
        for (int i = 0; i <= rank; ++i) mine[i] = rank * 10 + i;
        int* buf = malloc(sizeof(int) * span);
        for (int i = 0; i < span; ++i) buf[i] = -1;
        MPI_Gatherv(mine, rank + 1, MPI_INT, buf, counts, displs, MPI_INT, size - 1, comm);
        if (rank == size - 1)
            for (int r = 0; r < size; ++r)
                for (int i = 0; i <= r; ++i)
                    CHECK(buf[displs[r] + i] == r * 10 + i, "%s Gatherv", name);
        for (int i = 0; i < span; ++i) buf[i] = -1;
        MPI_Allgatherv(mine, rank + 1, MPI_INT, buf, counts, displs, MPI_INT, comm);
        for (int r = 0; r < size; ++r) {
            for (int i = 0; i <= r; ++i)
                CHECK(buf[displs[r] + i] == r * 10 + i, "%s Allgatherv", name);
            CHECK(buf[displs[r] - 1 + (r == 0)] == (r == 0 ? 0 : -1), "%s Allgatherv gap", name);
        }
        int* part = malloc(sizeof(int) * (rank + 1));
        MPI_Scatterv(buf, counts, displs, MPI_INT, part, rank + 1, MPI_INT, 0, comm);
        for (int i = 0; i <= rank; ++i) CHECK(part[i] == rank * 10 + i, "%s Scatterv", name);

        /* Alltoallv: rank s sends r + 1 values s*100 + r to rank r. */
        int* sc = malloc(sizeof(int) * size);
        int* sd = malloc(sizeof(int) * size);
        int* rc = malloc(sizeof(int) * size);
        int* rd = malloc(sizeof(int) * size);
        int stotal = 0, rtotal = 0;
        for (int r = 0; r < size; ++r) {
            sc[r] = r + 1;
            sd[r] = stotal;
            stotal += r + 1;
            rc[r] = rank + 1;
            rd[r] = rtotal;
            rtotal += rank + 1;
        }
        int* sbuf = malloc(sizeof(int) * stotal);
        int* rbuf = malloc(sizeof(int) * rtotal);
        for (int r = 0; r < size; ++r)
            for (int i = 0; i < sc[r]; ++i) sbuf[sd[r] + i] = rank * 100 + r;
        MPI_Alltoallv(sbuf, sc, sd, MPI_INT, rbuf, rc, rd, MPI_INT, comm);
        for (int s = 0; s < size; ++s)
            for (int i = 0; i < rc[s]; ++i)
                CHECK(rbuf[rd[s] + i] == s * 100 + rank, "%s Alltoallv", name);
        int* a2a = malloc(sizeof(int) * size);
        int* b2b = malloc(sizeof(int) * size);
        for (int r = 0; r < size; ++r) a2a[r] = rank * 1000 + r;
        MPI_Alltoall(a2a, 1, MPI_INT, b2b, 1, MPI_INT, comm);
        for (int s = 0; s < size; ++s) CHECK(b2b[s] == s * 1000 + rank, "%s Alltoall", name);
        MPI_Alltoall(MPI_IN_PLACE, 1, MPI_INT, a2a, 1, MPI_INT, comm);
        for (int s = 0; s < size; ++s)
            CHECK(a2a[s] == s * 1000 + rank, "%s Alltoall IN_PLACE", name);
        free(counts);
        free(displs);
        free(mine);
        free(buf);
        free(part);
        free(sc);
        free(sd);
        free(rc);
        free(rd);
        free(sbuf);
        free(rbuf);
        free(a2a);
        free(b2b);
    }
}

int main(int argc, char** argv) {
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    check_rank = rank;
    check_comm(MPI_COMM_WORLD, "world");
    check_comm(MPI_COMM_SELF, "self");
    MPI_Comm dup, half, odd_first;
    MPI_Comm_dup(MPI_COMM_WORLD, &dup);
    check_comm(dup, "dup");
    MPI_Comm_split(MPI_COMM_WORLD, rank % 2, -rank, &half); /* reversed order inside */
    check_comm(half, "split");
    MPI_Comm_split(MPI_COMM_WORLD, 0, (rank + 1) % size, &odd_first);
    check_comm(odd_first, "rotated");
    MPI_Comm_free(&dup);
    MPI_Comm_free(&half);
    MPI_Comm_free(&odd_first);
    return finish("collectives");
}
