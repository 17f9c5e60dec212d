/* ring: a token goes around the ranks. Rank 0 starts it with the value 0; each rank adds
 * its own rank and passes it on; back at rank 0 it holds 0 + 1 + ... + (size - 1).
 *   mprun -n 4 ./ring */
#include <mpi.h>
#include <stdio.h>

int main(int argc, char** argv) {
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    const int next = (rank + 1) % size, prev = (rank + size - 1) % size;
    int token = 0;
    if (rank != 0) {
        MPI_Recv(&token, 1, MPI_INT, prev, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        printf("Rank %d received token %d from rank %d\n", rank, token, prev);
    }
    token += rank;
    MPI_Send(&token, 1, MPI_INT, next, 0, MPI_COMM_WORLD);
    if (rank == 0) {
        MPI_Recv(&token, 1, MPI_INT, prev, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        printf("Rank 0 received token %d from rank %d: the sum of all ranks\n", token, prev);
    }
    MPI_Finalize();
    return 0;
}
