/* Shared by the MPI check programs: CHECK records a failure with where and why; finish()
 * makes rank 0 print "checks passed" (or the failure count) and sets the exit code. */
#ifndef CHECK_H
#define CHECK_H
#include <mpi.h>
#include <stdio.h>

static int check_rank = -1;
static int check_failures = 0;

#define CHECK(cond, ...)                                                        \
    do {                                                                        \
        if (!(cond)) {                                                          \
            ++check_failures;                                                   \
            printf("rank %d FAIL line %d (%s): ", check_rank, __LINE__, #cond); \
            printf(__VA_ARGS__);                                                \
            printf("\n");                                                       \
            fflush(stdout);                                                     \
        }                                                                       \
    } while (0)

static int finish(const char* what) {
    int total = 0;
    MPI_Allreduce(&check_failures, &total, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    if (check_rank == 0) {
        if (total == 0)
            printf("%s: checks passed\n", what);
        else
            printf("%s: %d checks failed\n", what, total);
    }
    MPI_Finalize();
    return total == 0 ? 0 : 1;
}
#endif
