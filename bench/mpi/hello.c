/* hello.c - the smallest whole MPI job: start, meet at a barrier, finish. run.sh times
 * `mpirun -n N hello` from outside, the figure bench_launch gives for mprun. */
#include <mpi.h>

int main(int argc, char** argv) {
    MPI_Init(&argc, &argv);
    MPI_Barrier(MPI_COMM_WORLD);
    MPI_Finalize();
    return 0;
}
