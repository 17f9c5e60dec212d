// MPI_Bcast on MPI_COMM_WORLD through the broadcast board, for 1 to 9 ranks: the check
// program (tests/mpi/programs/mpi_check_bcast.c) compares every byte with its pattern, for
// every root and every size around the board's boundaries, back to back and beside
// point-to-point traffic; a rank killed while the others broadcast stops the job.
#include <catch2/catch.hpp>

#include "../support/run.hpp"

TEST_CASE("MPI_Bcast on the world: every root, sizes 0 to 4 MiB, slot reuse, beside messages") {
    for (int ranks = 1; ranks <= 9; ++ranks) {
        INFO("on " << ranks << " ranks");
        const test::Run r = test::run(test::bin("mprun") + " -n " + std::to_string(ranks) + " " +
                                      test::bin("mpi_check_bcast"));
        CHECK(r.code == 0);
        CHECK(r.out == "bcast: checks passed\n");
        CHECK(r.err.empty());
        CHECK(test::nothing_left_of(r.pid));
    }
}

TEST_CASE("a rank killed while the others broadcast stops the job") {
    // Root 0's 1 MiB outruns the board while rank 1 no longer reads; then the others
    // wait for a broadcast from the dead rank 1.
    const test::Run r =
        test::run(test::bin("mprun") + " -n 3 " + test::bin("mpi_errors") + " dead-bcast");
    CHECK(r.code == 137);
    CHECK(r.err == "mprun: rank 1 killed by signal SIGKILL; stopping the other ranks\n");
    CHECK(test::nothing_left_of(r.pid));
}
