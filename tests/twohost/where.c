/* where: each rank of an MPI job says where it runs and what it sees, for the rig's check.
 * Prints "rank=R host=H ranks_on_host=N sum=S": N from MPI's own split by shared memory,
 * S the sum of all ranks by MPI_Allreduce (so the hosts really talked). */
#include <mpi.h>
#include <stdio.h>
#include <unistd.h>

int main(int argc, char** argv) {
    MPI_Init(&argc, &argv);
    int rank = 0, size = 0, on_host = 0, sum = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    MPI_Comm host;
    MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank, MPI_INFO_NULL, &host);
    MPI_Comm_size(host, &on_host);
    MPI_Allreduce(&rank, &sum, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    char name[256] = "";
    gethostname(name, sizeof name - 1);
    printf("rank=%d host=%s ranks_on_host=%d sum=%d\n", rank, name, on_host, sum);
    MPI_Comm_free(&host);
    MPI_Finalize();
    return 0;
}
