/* Communicators and groups against their definitions: dup, split (colors, keys,
 * MPI_UNDEFINED), split_type, compare, groups (incl, excl, translate_ranks, rank, size),
 * Comm_create, Comm_create_group, and message isolation between communicators. */
#include <stdlib.h>

#include "check.h"

int main(int argc, char** argv) {
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    check_rank = rank;
    int flag = 0;
    MPI_Initialized(&flag);
    CHECK(flag, "Initialized");
    int version, sub;
    MPI_Get_version(&version, &sub);
    CHECK(version == 3, "version");

    int result;
    MPI_Comm dup;
    MPI_Comm_dup(MPI_COMM_WORLD, &dup);
    MPI_Comm_compare(MPI_COMM_WORLD, MPI_COMM_WORLD, &result);
    CHECK(result == MPI_IDENT, "compare ident");
    MPI_Comm_compare(MPI_COMM_WORLD, dup, &result);
    CHECK(result == MPI_CONGRUENT, "compare congruent");
    MPI_Comm_compare(MPI_COMM_WORLD, MPI_COMM_SELF, &result);
    CHECK(result == (size == 1 ? MPI_CONGRUENT : MPI_UNEQUAL), "compare self %d", result);

    /* Messages on dup never match receives on the world, even with ANY_SOURCE/ANY_TAG. */
    {
        const int right = (rank + 1) % size, left = (rank + size - 1) % size;
        int a = rank, b = rank + 1000, x = -1, y = -1;
        MPI_Request r[2];
        MPI_Isend(&a, 1, MPI_INT, right, 0, MPI_COMM_WORLD, &r[0]);
        MPI_Isend(&b, 1, MPI_INT, right, 0, dup, &r[1]);
        MPI_Recv(&y, 1, MPI_INT, MPI_ANY_SOURCE, MPI_ANY_TAG, dup, MPI_STATUS_IGNORE);
        MPI_Recv(&x, 1, MPI_INT, MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        MPI_Waitall(2, r, MPI_STATUSES_IGNORE);
        CHECK(x == left && y == left + 1000, "isolation %d %d", x, y);
    }

    /* Split: colors by rank % 3, keys reverse the order; MPI_UNDEFINED for the last. */
    {
        MPI_Comm part;
        const int color = rank == size - 1 && size > 1 ? MPI_UNDEFINED : rank % 3;
        MPI_Comm_split(MPI_COMM_WORLD, color, size - rank, &part);
        if (color == MPI_UNDEFINED) {
            CHECK(part == MPI_COMM_NULL, "MPI_UNDEFINED gives MPI_COMM_NULL");
        } else {
            int prank, psize, members = 0, before = 0;
            for (int r = 0; r < size; ++r) {
                const int c = r == size - 1 && size > 1 ? -1 : r % 3;
                if (c == color) {
                    ++members;
                    if (r > rank) ++before; /* higher world ranks come first */
                }
            }
            MPI_Comm_rank(part, &prank);
            MPI_Comm_size(part, &psize);
            CHECK(psize == members && prank == before, "split rank %d/%d want %d/%d", prank, psize,
                  before, members);
            int sum = 0;
            MPI_Allreduce(&rank, &sum, 1, MPI_INT, MPI_SUM, part);
            int want = 0;
            for (int r = 0; r < size; ++r)
                if ((r == size - 1 && size > 1 ? -1 : r % 3) == color) want += r;
            CHECK(sum == want, "split allreduce %d want %d", sum, want);
            MPI_Comm_free(&part);
            CHECK(part == MPI_COMM_NULL, "Comm_free nulls the handle");
        }
    }

    /* split_type SHARED: everyone on this machine. */
    {
        MPI_Comm node;
        MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node);
        int nrank, nsize;
        MPI_Comm_rank(node, &nrank);
        MPI_Comm_size(node, &nsize);
        CHECK(nrank == rank && nsize == size, "split_type shared");
        MPI_Comm_compare(node, MPI_COMM_WORLD, &result);
        CHECK(result == MPI_CONGRUENT, "split_type congruent");
        MPI_Comm_free(&node);
    }

    /* Groups: evens, then odds excluded, translated both ways. */
    {
        MPI_Group world_group, evens, odds_out;
        MPI_Comm_group(MPI_COMM_WORLD, &world_group);
        int gsize, grank;
        MPI_Group_size(world_group, &gsize);
        MPI_Group_rank(world_group, &grank);
        CHECK(gsize == size && grank == rank, "world group");
        const int ne = (size + 1) / 2;
        int* even = malloc(sizeof(int) * size);
        int* odd = malloc(sizeof(int) * size);
        int no = 0;
        for (int i = 0; i < ne; ++i) even[i] = 2 * i;
        for (int r = 1; r < size; r += 2) odd[no++] = r;
        MPI_Group_incl(world_group, ne, even, &evens);
        MPI_Group_excl(world_group, no, odd, &odds_out);
        MPI_Group_size(evens, &gsize);
        MPI_Group_rank(evens, &grank);
        CHECK(gsize == ne && grank == (rank % 2 ? MPI_UNDEFINED : rank / 2), "incl rank %d", grank);
        int* all = malloc(sizeof(int) * size);
        int* there = malloc(sizeof(int) * size);
        for (int r = 0; r < size; ++r) all[r] = r;
        MPI_Group_translate_ranks(world_group, size, all, evens, there);
        for (int r = 0; r < size; ++r)
            CHECK(there[r] == (r % 2 ? MPI_UNDEFINED : r / 2), "translate %d -> %d", r, there[r]);
        MPI_Group_translate_ranks(evens, ne, all, odds_out, there);
        for (int i = 0; i < ne; ++i) CHECK(there[i] == i, "incl and excl agree");

        MPI_Comm ecomm;
        MPI_Comm_create(MPI_COMM_WORLD, evens, &ecomm);
        if (rank % 2) {
            CHECK(ecomm == MPI_COMM_NULL, "Comm_create outside the group");
        } else {
            int er, es, sum = 0;
            MPI_Comm_rank(ecomm, &er);
            MPI_Comm_size(ecomm, &es);
            CHECK(er == rank / 2 && es == ne, "Comm_create rank");
            MPI_Allreduce(&rank, &sum, 1, MPI_INT, MPI_SUM, ecomm);
            CHECK(sum == ne * (ne - 1), "Comm_create allreduce %d", sum);
            MPI_Comm_free(&ecomm);
        }
        /* Comm_create_group: only the evens call it. */
        if (rank % 2 == 0) {
            MPI_Comm g;
            MPI_Comm_create_group(MPI_COMM_WORLD, evens, 5, &g);
            int gr, bc = rank == 0 ? 1234 : 0;
            MPI_Comm_rank(g, &gr);
            CHECK(gr == rank / 2, "Comm_create_group rank");
            MPI_Bcast(&bc, 1, MPI_INT, 0, g);
            CHECK(bc == 1234, "Comm_create_group bcast");
            MPI_Barrier(g);
            MPI_Comm_free(&g);
        }
        MPI_Group_free(&evens);
        MPI_Group_free(&odds_out);
        MPI_Group_free(&world_group);
        CHECK(world_group == MPI_GROUP_NULL, "Group_free nulls the handle");
        free(even);
        free(odd);
        free(all);
        free(there);
    }

    /* Many communicators made and freed: context ids are reused. */
    for (int i = 0; i < 600; ++i) {
        MPI_Comm c;
        MPI_Comm_dup(MPI_COMM_WORLD, &c);
        MPI_Comm_free(&c);
    }
    MPI_Comm_free(&dup);
    return finish("communicators");
}
