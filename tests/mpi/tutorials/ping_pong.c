/* Tutorial: two ranks pass a counter back and forth until it reaches a limit. */
#include <mpi.h>
#include <stdio.h>

int main(int argc, char** argv) {
    const int limit = 10;
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (size != 2) {
        fprintf(stderr, "World size must be two for %s\n", argv[0]);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    int count = 0;
    const int partner = (rank + 1) % 2;
    while (count < limit) {
        if (rank == count % 2) {
            count++;
            MPI_Send(&count, 1, MPI_INT, partner, 0, MPI_COMM_WORLD);
            printf("%d sent and incremented count %d to %d\n", rank, count, partner);
        } else {
            MPI_Recv(&count, 1, MPI_INT, partner, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            printf("%d received count %d from %d\n", rank, count, partner);
        }
    }
    MPI_Finalize();
    return 0;
}
