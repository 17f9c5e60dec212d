/* Error behaviour, one case per run: mpi_errors CASE.
 *   fatal-rank      MPI_Send to a rank out of range under MPI_ERRORS_ARE_FATAL
 *   fatal-truncate  a receive buffer too small, fatal
 *   fatal-comm      a null communicator, fatal
 *   fatal-type      an unknown datatype handle, fatal
 *   return          the same mistakes under MPI_ERRORS_RETURN: codes and strings
 *   abort CODE      rank 1 (or 0 alone) calls MPI_Abort(MPI_COMM_WORLD, CODE)
 *   dead            rank 1 is killed while rank 0 waits for it in MPI_Recv
 *   dead-large      rank 1 is killed while rank 0 waits in MPI_Send of 1 MiB to it (for
 *                   rank 1 to read it)
 *   dead-bcast      rank 1 is killed while the others broadcast 1 MiB from rank 0 (more
 *                   than the broadcast board holds, so root waits for rank 1 to read),
 *                   then 8 bytes from rank 1
 *   dead-bcast-pair R  of 2 ranks, rank R (0: the root, 1: the reader) is killed
 *                   before the fourth of a run of 16 MiB broadcasts from rank 0 (by
 *                   single copy: the other waits for it in that broadcast)
 *   dead-split R    ranks 0 and 1 trade 16 MiB messages (split copies, both ranks
 *                   copying) until rank 2 kills rank R (0 or 1) in the middle of them
 *   dead-allreduce  every rank repeats MPI_Allreduce of 2^20 doubles until rank 1 kills
 *                   itself 30 ms in (under SPMD_REDUCE_SINGLE_COPY=1, mid single copy)
 *   no-finalize     returns from main without MPI_Finalize */
#define _POSIX_C_SOURCE 200809L
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

static void kill_self(int signal_number) {
    (void)signal_number;
    kill(getpid(), SIGKILL);
}

int main(int argc, char** argv) {
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    check_rank = rank;
    const char* what = argc > 1 ? argv[1] : "";
    int v = 1;
    if (strcmp(what, "fatal-rank") == 0) {
        if (rank == size - 1) MPI_Send(&v, 1, MPI_INT, size + 3, 0, MPI_COMM_WORLD);
        MPI_Barrier(MPI_COMM_WORLD);
    } else if (strcmp(what, "fatal-truncate") == 0) {
        int big[4] = {1, 2, 3, 4};
        MPI_Send(big, 4, MPI_INT, 0, 0, MPI_COMM_WORLD);
        if (rank == 0)
            MPI_Recv(big, 2, MPI_INT, MPI_ANY_SOURCE, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        MPI_Barrier(MPI_COMM_WORLD);
    } else if (strcmp(what, "fatal-comm") == 0) {
        MPI_Barrier(MPI_COMM_NULL);
    } else if (strcmp(what, "fatal-type") == 0) {
        MPI_Send(&v, 1, 4242, 0, 0, MPI_COMM_WORLD);
    } else if (strcmp(what, "return") == 0) {
        MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
        int code = MPI_Send(&v, 1, MPI_INT, size + 3, 0, MPI_COMM_WORLD);
        CHECK(code == MPI_ERR_RANK, "out-of-range rank gives MPI_ERR_RANK, got %d", code);
        code = MPI_Send(&v, 1, 4242, 0, 0, MPI_COMM_WORLD);
        CHECK(code == MPI_ERR_TYPE, "bad type gives MPI_ERR_TYPE, got %d", code);
        code = MPI_Send(&v, -1, MPI_INT, 0, 0, MPI_COMM_WORLD);
        CHECK(code == MPI_ERR_COUNT, "negative count gives MPI_ERR_COUNT");
        code = MPI_Send(&v, 1, MPI_INT, 0, -5, MPI_COMM_WORLD);
        CHECK(code == MPI_ERR_TAG, "negative tag gives MPI_ERR_TAG");
        code = MPI_Bcast(&v, 1, MPI_INT, size, MPI_COMM_WORLD);
        CHECK(code == MPI_ERR_ROOT, "bad root gives MPI_ERR_ROOT");
        code = MPI_Allreduce(&v, &v, 1, MPI_DOUBLE, MPI_BAND, MPI_COMM_WORLD);
        CHECK(code == MPI_ERR_OP, "BAND on doubles gives MPI_ERR_OP, got %d", code);
        int big[4] = {1, 2, 3, 4}, small[2] = {0, 0};
        MPI_Status st;
        MPI_Sendrecv(big, 4, MPI_INT, rank, 9, small, 2, MPI_INT, rank, 9, MPI_COMM_WORLD, &st);
        code = st.MPI_ERROR;
        CHECK(code == MPI_ERR_TRUNCATE, "truncation in the status, got %d", code);
        MPI_Request r;
        MPI_Isend(big, 4, MPI_INT, rank, 10, MPI_COMM_WORLD, &r);
        MPI_Request_free(&r);
        code = MPI_Recv(small, 2, MPI_INT, rank, 10, MPI_COMM_WORLD, &st);
        CHECK(code == MPI_ERR_TRUNCATE && small[0] == 1 && small[1] == 2, "MPI_Recv truncated: %d",
              code);
        char text[MPI_MAX_ERROR_STRING];
        int len = 0;
        MPI_Error_string(MPI_ERR_TRUNCATE, text, &len);
        CHECK(len > 0 && strstr(text, "truncated") != NULL, "Error_string: %s", text);
        int cls = -1;
        MPI_Error_class(MPI_ERR_RANK, &cls);
        CHECK(cls == MPI_ERR_RANK, "Error_class");
        code = MPI_Comm_size(MPI_COMM_NULL, &v);
        CHECK(code == MPI_ERR_COMM, "MPI_COMM_NULL gives MPI_ERR_COMM, got %d", code);
        /* The other handler is per communicator: a dup inherits ERRORS_RETURN. */
        MPI_Comm dup;
        MPI_Comm_dup(MPI_COMM_WORLD, &dup);
        code = MPI_Send(&v, 1, MPI_INT, size, 0, dup);
        CHECK(code == MPI_ERR_RANK, "dup inherits the handler");
        MPI_Comm_free(&dup);
        return finish("errors");
    } else if (strcmp(what, "abort") == 0) {
        const int code = argc > 2 ? atoi(argv[2]) : 1;
        if (rank == (size > 1 ? 1 : 0)) MPI_Abort(MPI_COMM_WORLD, code);
        MPI_Barrier(MPI_COMM_WORLD); /* the others wait here until the job stops */
    } else if (strcmp(what, "dead") == 0) {
        if (rank == 1) {
            kill(getpid(), SIGKILL);
        } else if (rank == 0) {
            MPI_Recv(&v, 1, MPI_INT, 1, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        }
        MPI_Barrier(MPI_COMM_WORLD);
    } else if (strcmp(what, "dead-large") == 0) {
        if (rank == 1) {
            kill(getpid(), SIGKILL);
        } else if (rank == 0) {
            char* big = calloc(1 << 20, 1);
            MPI_Send(big, 1 << 20, MPI_BYTE, 1, 0, MPI_COMM_WORLD);
            free(big);
        }
        MPI_Barrier(MPI_COMM_WORLD);
    } else if (strcmp(what, "dead-bcast") == 0) {
        if (rank == 1) kill(getpid(), SIGKILL);
        char* big = calloc(1 << 20, 1);
        MPI_Bcast(big, 1 << 20, MPI_BYTE, 0, MPI_COMM_WORLD);
        MPI_Bcast(big, 8, MPI_BYTE, 1, MPI_COMM_WORLD);
        free(big);
    } else if (strcmp(what, "dead-bcast-pair") == 0) {
        const int victim = argc > 2 ? atoi(argv[2]) : 1;
        const int n = 16 << 20;
        char* big = calloc(n, 1);
        for (int i = 0;; ++i) { /* until the job stops */
            if (i == 3 && rank == victim) kill(getpid(), SIGKILL);
            MPI_Bcast(big, n, MPI_BYTE, 0, MPI_COMM_WORLD);
        }
    } else if (strcmp(what, "dead-split") == 0) {
        const int victim = argc > 2 ? atoi(argv[2]) : 1;
        int pid = (int)getpid();
        if (rank == victim) MPI_Send(&pid, 1, MPI_INT, 2, 9, MPI_COMM_WORLD);
        if (rank == 2) {
            MPI_Recv(&pid, 1, MPI_INT, victim, 9, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            const struct timespec pause = {0, 30000000}; /* 30 ms: the pair is copying by now, */
            nanosleep(&pause, NULL);                     /* most of its time goes there */
            kill((pid_t)pid, SIGKILL);
        } else if (rank < 2) {
            const int n = 16 << 20;
            char* out = calloc(n, 1);
            char* in = malloc(n);
            for (;;) { /* until the job stops */
                if (rank == 0) MPI_Send(out, n, MPI_BYTE, 1, 0, MPI_COMM_WORLD);
                MPI_Recv(in, n, MPI_BYTE, 1 - rank, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
                if (rank == 1) MPI_Send(out, n, MPI_BYTE, 0, 0, MPI_COMM_WORLD);
            }
        }
        MPI_Barrier(MPI_COMM_WORLD);
    } else if (strcmp(what, "dead-allreduce") == 0) {
        if (rank == 1) {
            struct sigaction die;
            memset(&die, 0, sizeof die);
            die.sa_handler = kill_self;
            sigaction(SIGALRM, &die, NULL);
            struct sigevent event;
            memset(&event, 0, sizeof event);
            event.sigev_notify = SIGEV_SIGNAL;
            event.sigev_signo = SIGALRM;
            timer_t timer;
            const struct itimerspec after = {{0, 0}, {0, 30000000}};
            CHECK(timer_create(CLOCK_MONOTONIC, &event, &timer) == 0 &&
                      timer_settime(timer, 0, &after, NULL) == 0,
                  "timer");
        }
        const int n = 1 << 20;
        double* in = calloc(n, sizeof(double));
        double* out = malloc(n * sizeof(double));
        for (;;) MPI_Allreduce(in, out, n, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
    } else if (strcmp(what, "no-finalize") == 0) {
        return 0;
    }
    MPI_Finalize();
    return 0;
}
