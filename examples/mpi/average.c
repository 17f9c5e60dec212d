/* average: rank 0 makes numbers, MPI_Scatter hands each rank an equal share, each rank
 * averages its share, MPI_Gather brings the averages back and rank 0 averages them.
 * MPI_Allreduce then gives every rank the overall average directly.
 *   mprun -n 4 ./average [numbers per rank] */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

static double average(const double* v, int n) {
    double sum = 0;
    for (int i = 0; i < n; ++i) sum += v[i];
    return sum / n;
}

int main(int argc, char** argv) {
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    const int per_rank = argc > 1 ? atoi(argv[1]) : 1000;
    double* all = NULL;
    if (rank == 0) {
        all = malloc(sizeof(double) * per_rank * size);
        for (int i = 0; i < per_rank * size; ++i) all[i] = (double)(i % 101); /* exact sums */
    }
    double* mine = malloc(sizeof(double) * per_rank);
    MPI_Scatter(all, per_rank, MPI_DOUBLE, mine, per_rank, MPI_DOUBLE, 0, MPI_COMM_WORLD);
    double my_average = average(mine, per_rank);
    double* averages = rank == 0 ? malloc(sizeof(double) * size) : NULL;
    MPI_Gather(&my_average, 1, MPI_DOUBLE, averages, 1, MPI_DOUBLE, 0, MPI_COMM_WORLD);
    if (rank == 0) {
        printf("Average of all numbers (gathered): %.6f\n", average(averages, size));
        printf("Average of all numbers (computed by rank 0 alone): %.6f\n",
               average(all, per_rank * size));
    }
    double sum = 0, my_sum = my_average * per_rank;
    MPI_Allreduce(&my_sum, &sum, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
    printf("Rank %d: average of its %d numbers %.6f, overall %.6f\n", rank, per_rank, my_average,
           sum / ((double)per_rank * size));
    free(all);
    free(mine);
    free(averages);
    MPI_Finalize();
    return 0;
}
