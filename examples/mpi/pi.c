/* pi: integrate 4 / (1 + x^2) over [0, 1] with the midpoint rule. Rank r takes the
 * intervals r, r + size, r + 2 size, ...; MPI_Reduce sums the parts on rank 0.
 *   mprun -n 4 ./pi [intervals] */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char** argv) {
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    long n = 0;
    if (rank == 0) n = argc > 1 ? atol(argv[1]) : 1000000;
    MPI_Bcast(&n, 1, MPI_LONG, 0, MPI_COMM_WORLD);
    const double h = 1.0 / (double)n;
    double part = 0;
    for (long i = rank; i < n; i += size) {
        const double x = h * ((double)i + 0.5);
        part += 4.0 / (1.0 + x * x);
    }
    part *= h;
    double pi = 0;
    MPI_Reduce(&part, &pi, 1, MPI_DOUBLE, MPI_SUM, 0, MPI_COMM_WORLD);
    const double pi25 = 3.141592653589793238462643;
    if (rank == 0)
        printf("pi is approximately %.12f, error %.2e\n", pi, pi > pi25 ? pi - pi25 : pi25 - pi);
    MPI_Finalize();
    return 0;
}
