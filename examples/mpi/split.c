/* split: the ranks form a grid of rows of 4; MPI_Comm_split makes one communicator per
 * row (color = row) ordered by column (key = column). Each row sums its world ranks.
 * Then a group of the even world ranks becomes a communicator with MPI_Comm_create.
 *   mprun -n 8 ./split */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char** argv) {
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    const int row = rank / 4, column = rank % 4;
    MPI_Comm row_comm;
    MPI_Comm_split(MPI_COMM_WORLD, row, column, &row_comm);
    int row_rank, row_size, row_sum = 0;
    MPI_Comm_rank(row_comm, &row_rank);
    MPI_Comm_size(row_comm, &row_size);
    MPI_Allreduce(&rank, &row_sum, 1, MPI_INT, MPI_SUM, row_comm);
    printf("World rank %d: row %d, rank %d of %d in the row, sum of the row's world ranks %d\n",
           rank, row, row_rank, row_size, row_sum);

    MPI_Group world_group, even_group;
    MPI_Comm_group(MPI_COMM_WORLD, &world_group);
    const int evens = (size + 1) / 2;
    int* ranks = malloc(sizeof(int) * evens);
    for (int i = 0; i < evens; ++i) ranks[i] = 2 * i;
    MPI_Group_incl(world_group, evens, ranks, &even_group);
    MPI_Comm even_comm;
    MPI_Comm_create(MPI_COMM_WORLD, even_group, &even_comm);
    if (even_comm != MPI_COMM_NULL) {
        int even_rank, count = 0, one = 1;
        MPI_Comm_rank(even_comm, &even_rank);
        MPI_Allreduce(&one, &count, 1, MPI_INT, MPI_SUM, even_comm);
        printf("World rank %d: rank %d of the %d even ranks\n", rank, even_rank, count);
        MPI_Comm_free(&even_comm);
    }
    MPI_Group_free(&even_group);
    MPI_Group_free(&world_group);
    MPI_Comm_free(&row_comm);
    free(ranks);
    MPI_Finalize();
    return 0;
}
