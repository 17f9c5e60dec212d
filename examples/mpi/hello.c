/* hello: every rank says who it is. Compile with spmdcc, run with mprun:
 *   spmdcc hello.c -o hello && mprun -n 4 ./hello */
#include <mpi.h>
#include <stdio.h>

int main(int argc, char** argv) {
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    printf("Hello world from rank %d of %d\n", rank, size);
    MPI_Finalize();
    return 0;
}
