// Errors of MPI programs: under MPI_ERRORS_ARE_FATAL one line naming the call and the
// problem and a non-zero exit; under MPI_ERRORS_RETURN the error codes; MPI_Abort's code
// as mprun's exit code; a rank that dies while a peer waits for it stops the job.
// Nothing may be left behind in any case.
#include <catch2/catch.hpp>

#include "../support/run.hpp"

namespace {
test::Run errors(int ranks, const std::string& args) {
    const std::string program = test::bin("mpi_errors") + " " + args;
    test::Run r = test::run(
        ranks ? test::bin("mprun") + " -n " + std::to_string(ranks) + " " + program : program);
    CHECK(test::nothing_left_of(r.pid));
    return r;
}
}  // namespace

TEST_CASE("a wrong argument under MPI_ERRORS_ARE_FATAL stops the job with one line") {
    auto r = errors(4, "fatal-rank");
    CHECK(r.code == 1);
    CHECK(r.err ==
          "mprun: rank 3 called abort: MPI_Send: destination rank 7 is out of range for a "
          "communicator of size 4; stopping the other ranks\n");
    r = errors(3, "fatal-truncate");
    CHECK(r.code == 1);
    CHECK(r.err ==
          "mprun: rank 0 called abort: MPI_Recv: the message from rank 0 with tag 0 does not fit "
          "the receive buffer of 8 bytes; stopping the other ranks\n");
    r = errors(2, "fatal-comm");
    CHECK(r.code == 1);
    CHECK_THAT(r.err, Catch::Matchers::EndsWith(
                          "called abort: MPI_Barrier: the communicator is MPI_COMM_NULL; stopping "
                          "the other ranks\n"));
    r = errors(2, "fatal-type");
    CHECK(r.code == 1);
    CHECK_THAT(r.err, Catch::Matchers::EndsWith(
                          "called abort: MPI_Send: unknown datatype handle 4242; stopping the "
                          "other ranks\n"));
}

TEST_CASE("without mprun a fatal error is one line and exit code 1") {
    auto r = errors(0, "fatal-rank");
    CHECK(r.code == 1);
    CHECK(r.err ==
          "mpi_errors: rank 0 called abort: MPI_Send: destination rank 4 is out of range for a "
          "communicator of size 1\n");
}

TEST_CASE("MPI_ERRORS_RETURN returns the standard error classes") {
    for (int ranks : {0, 1, 3}) {
        auto r = errors(ranks, "return");
        CHECK(r.code == 0);
        CHECK(r.out == "errors: checks passed\n");
    }
}

TEST_CASE("MPI_Abort ends the job with its error code") {
    for (int ranks : {0, 1, 4}) {
        auto r = errors(ranks, "abort 7");
        CHECK(r.code == 7);
    }
    auto r = errors(3, "abort 42");
    CHECK(r.code == 42);
    CHECK(r.err ==
          "mprun: rank 1 called abort: MPI_Abort with error code 42; stopping the other "
          "ranks\n");
}

TEST_CASE("a rank killed while a peer waits for it in MPI_Recv stops the job") {
    auto r = errors(3, "dead");
    CHECK(r.code == 137);
    CHECK(r.err == "mprun: rank 1 killed by signal SIGKILL; stopping the other ranks\n");
}

TEST_CASE("a rank killed while a peer waits in a large MPI_Send to it stops the job") {
    auto r = errors(3, "dead-large");
    CHECK(r.code == 137);
    CHECK(r.err == "mprun: rank 1 killed by signal SIGKILL; stopping the other ranks\n");
}

TEST_CASE("a rank killed in the middle of split copies of 16 MiB stops the job") {
    for (int victim : {0, 1}) {
        INFO("rank " << victim << " killed");
        auto r = errors(3, "dead-split " + std::to_string(victim));
        CHECK(r.code == 137);
        CHECK(r.err == "mprun: rank " + std::to_string(victim) +
                           " killed by signal SIGKILL; stopping the other ranks\n");
    }
}

TEST_CASE("a rank killed in the middle of a single-copy MPI_Allreduce stops the job") {
    for (int ranks : {2, 3}) {
        INFO(ranks << " ranks");
        // SPMD_REDUCE_SINGLE_COPY=1: the single copy even with more ranks than cores.
        const test::Run r = test::run(test::bin("mprun") + " -n " + std::to_string(ranks) +
                                      " -x SPMD_REDUCE_SINGLE_COPY=1 " + test::bin("mpi_errors") +
                                      " dead-allreduce");
        CHECK(test::nothing_left_of(r.pid));
        CHECK(r.code == 137);
        CHECK(r.err == "mprun: rank 1 killed by signal SIGKILL; stopping the other ranks\n");
    }
}

TEST_CASE("returning from main without MPI_Finalize is reported") {
    auto r = errors(2, "no-finalize");
    CHECK(r.code != 0);
    CHECK_THAT(r.err, Catch::Matchers::Contains("while its World was open"));
}
