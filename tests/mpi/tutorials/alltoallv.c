/* Tutorial: every rank sends rank r (r + 1) copies of its own number with MPI_Alltoallv,
 * then MPI_Gatherv collects what each rank received on rank 0. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char** argv) {
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    int *sendcounts = malloc(sizeof(int) * size), *sdispls = malloc(sizeof(int) * size);
    int *recvcounts = malloc(sizeof(int) * size), *rdispls = malloc(sizeof(int) * size);
    int stotal = 0, rtotal = 0;
    for (int r = 0; r < size; ++r) {
        sendcounts[r] = r + 1;
        sdispls[r] = stotal;
        stotal += r + 1;
        recvcounts[r] = rank + 1;
        rdispls[r] = rtotal;
        rtotal += rank + 1;
    }
    int* sendbuf = malloc(sizeof(int) * stotal);
    int* recvbuf = malloc(sizeof(int) * rtotal);
    for (int i = 0; i < stotal; ++i) sendbuf[i] = 10 * rank;
    MPI_Alltoallv(sendbuf, sendcounts, sdispls, MPI_INT, recvbuf, recvcounts, rdispls, MPI_INT,
                  MPI_COMM_WORLD);
    int sum = 0;
    for (int i = 0; i < rtotal; ++i) sum += recvbuf[i];
    printf("Rank %d received %d numbers summing to %d\n", rank, rtotal, sum);
    int* counts = malloc(sizeof(int) * size);
    int* displs = malloc(sizeof(int) * size);
    int total = 0;
    for (int r = 0; r < size; ++r) {
        counts[r] = size * (r + 1);
        displs[r] = total;
        total += counts[r];
    }
    int* all = rank == 0 ? malloc(sizeof(int) * total) : NULL;
    MPI_Gatherv(recvbuf, rtotal, MPI_INT, all, counts, displs, MPI_INT, 0, MPI_COMM_WORLD);
    if (rank == 0) {
        printf("Gathered:");
        for (int i = 0; i < total; ++i) printf(" %d", all[i]);
        printf("\n");
    }
    free(sendcounts);
    free(sdispls);
    free(recvcounts);
    free(rdispls);
    free(sendbuf);
    free(recvbuf);
    free(counts);
    free(displs);
    free(all);
    MPI_Finalize();
    return 0;
}
