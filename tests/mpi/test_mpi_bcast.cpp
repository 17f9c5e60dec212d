// MPI_Bcast on MPI_COMM_WORLD through the broadcast board or by single copy, for 1 to 9
// ranks: the check program (tests/mpi/programs/mpi_check_bcast.c) compares every byte
// with its pattern, for every root and every size around the board's and the single
// copy's boundaries, at odd offsets, back to back and beside point-to-point traffic; also
// with the single copy refused on every rank or on one (the value then comes by message);
// a rank killed while the others broadcast stops the job.
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

TEST_CASE("MPI_Bcast with the single copy refused on every rank, or on the root or a reader") {
    const std::string check = test::bin("mpi_check_bcast");
    // The board throughout; then a root whose writes are refused (its readers read the
    // heads themselves) and a reader that cannot read root's buffer (it gets a message,
    // and each root keeps to the board once a reader refused).
    const std::string refusing[] = {
        "env SPMD_NO_SINGLE_COPY=1 " + test::bin("mprun") + " -n 2 " + check,
        test::bin("mprun") +
            " -n 2 sh -c '[ $SPMD_RANK = 0 ] && export SPMD_NO_SINGLE_COPY=1; exec " + check + "'",
        test::bin("mprun") +
            " -n 2 sh -c '[ $SPMD_RANK = 1 ] && export SPMD_NO_SINGLE_COPY=1; exec " + check + "'"};
    for (const std::string& command : refusing) {
        INFO(command);
        const test::Run r = test::run(command);
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

TEST_CASE("a root or reader killed in a run of single-copy broadcasts stops the job") {
    for (int victim = 0; victim < 2; ++victim) {
        INFO("rank " << victim << " killed");
        const test::Run r = test::run(test::bin("mprun") + " -n 2 " + test::bin("mpi_errors") +
                                      " dead-bcast-pair " + std::to_string(victim));
        CHECK(r.code == 137);
        CHECK(r.err == "mprun: rank " + std::to_string(victim) +
                           " killed by signal SIGKILL; stopping the other ranks\n");
        CHECK(test::nothing_left_of(r.pid));
    }
}
