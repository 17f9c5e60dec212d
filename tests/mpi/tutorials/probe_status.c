/* Tutorial: rank 0 sends a message of a length it picks; rank 1 probes it, sizes its
 * buffer with MPI_Get_count, receives it and reads the status fields. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char** argv) {
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    for (int round = 0; round < 3; ++round) {
        const int amount = 17 + 41 * round;
        if (rank == 0 && size > 1) {
            int* numbers = malloc(sizeof(int) * amount);
            for (int i = 0; i < amount; ++i) numbers[i] = i * round;
            MPI_Send(numbers, amount, MPI_INT, 1, 100 + round, MPI_COMM_WORLD);
            printf("0 sent %d numbers to 1 with tag %d\n", amount, 100 + round);
            free(numbers);
        } else if (rank == 1) {
            MPI_Status status;
            MPI_Probe(0, MPI_ANY_TAG, MPI_COMM_WORLD, &status);
            int count;
            MPI_Get_count(&status, MPI_INT, &count);
            int* buf = malloc(sizeof(int) * count);
            MPI_Recv(buf, count, MPI_INT, status.MPI_SOURCE, status.MPI_TAG, MPI_COMM_WORLD,
                     &status);
            MPI_Get_count(&status, MPI_INT, &count);
            printf("1 dynamically received %d numbers from %d, tag %d, last %d\n", count,
                   status.MPI_SOURCE, status.MPI_TAG, buf[count - 1]);
            free(buf);
        }
    }
    MPI_Finalize();
    return 0;
}
