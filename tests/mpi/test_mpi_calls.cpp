// Every call of the MPI subset against its definition, for 1 to 9 ranks: the check
// programs (tests/mpi/programs) compute each expected value independently and print
// "checks passed" only when all agree on every rank.
#include <catch2/catch.hpp>

#include "../support/run.hpp"

using Catch::Matchers::Contains;

namespace {
void passes(const std::string& program, const std::string& what) {
    for (int ranks = 1; ranks <= 9; ++ranks) {
        INFO(program << " on " << ranks << " ranks");
        const test::Run r = test::run(test::bin("mprun") + " -n " + std::to_string(ranks) + " " +
                                      test::bin(program));
        CHECK(r.code == 0);
        CHECK(r.out == what + ": checks passed\n");
        CHECK(r.err.empty());
        CHECK(test::nothing_left_of(r.pid));
    }
}
}  // namespace

TEST_CASE("point-to-point: blocking, nonblocking, probe, status, datatypes, rings at any size") {
    passes("mpi_check_p2p", "p2p");
}

TEST_CASE("collectives on the world, self, dup and split communicators") {
    passes("mpi_check_coll", "collectives");
}

TEST_CASE("communicators and groups") {
    passes("mpi_check_comm", "communicators");
}

TEST_CASE("a program built with spmd_mpi runs without mprun as a world of size 1") {
    for (const char* program : {"mpi_check_p2p", "mpi_check_coll", "mpi_check_comm"}) {
        const test::Run r = test::run(test::bin(program));
        CHECK(r.code == 0);
        CHECK_THAT(r.out, Contains("checks passed"));
    }
}
