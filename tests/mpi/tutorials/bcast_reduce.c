/* Tutorial: rank 0 broadcasts parameters; every rank makes numbers from them; Reduce and
 * Allreduce give sums, minima and maxima, and an Allreduce'd mean gives a standard
 * deviation. All values are integers, so any summation order gives the same digits. */
#include <math.h>
#include <mpi.h>
#include <stdio.h>

int main(int argc, char** argv) {
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    int params[2] = {0, 0};
    if (rank == 0) params[0] = 1000, params[1] = 37;
    MPI_Bcast(params, 2, MPI_INT, 0, MPI_COMM_WORLD);
    const int n = params[0];
    double local_sum = 0, local_min = 1e300, local_max = -1e300;
    for (int i = 0; i < n; ++i) {
        const double x = (double)((i * params[1] + rank * 13) % 101);
        local_sum += x;
        local_min = x < local_min ? x : local_min;
        local_max = x > local_max ? x : local_max;
    }
    double global_sum = 0, global_min = 0, global_max = 0;
    MPI_Reduce(&local_sum, &global_sum, 1, MPI_DOUBLE, MPI_SUM, 0, MPI_COMM_WORLD);
    MPI_Reduce(&local_min, &global_min, 1, MPI_DOUBLE, MPI_MIN, 0, MPI_COMM_WORLD);
    MPI_Reduce(&local_max, &global_max, 1, MPI_DOUBLE, MPI_MAX, 0, MPI_COMM_WORLD);
    if (rank == 0)
        printf("Total sum = %.1f, min = %.1f, max = %.1f, avg = %.6f\n", global_sum, global_min,
               global_max, global_sum / (n * size));
    double all_sum = 0;
    MPI_Allreduce(&local_sum, &all_sum, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
    const double mean = all_sum / (n * size);
    double local_sq = 0;
    for (int i = 0; i < n; ++i) {
        const double d = (double)((i * params[1] + rank * 13) % 101) * 4 - mean * 4;
        local_sq += d * d; /* multiples of 1/64 at most: exact in any order */
    }
    double sq = 0;
    MPI_Allreduce(&local_sq, &sq, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
    printf("Rank %d: mean %.6f, standard deviation %.6f\n", rank, mean, sqrt(sq / (n * size)) / 4);
    MPI_Finalize();
    return 0;
}
