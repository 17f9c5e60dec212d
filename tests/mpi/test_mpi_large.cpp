// Large messages through the MPI API, which their receivers pull straight from the
// sender's memory: the check program (tests/mpi/programs/mpi_check_large.c) compares
// every payload with its pattern, for 1 to 5 ranks, and again with the single copy
// refused (SPMD_NO_SINGLE_COPY=1), when every large send falls back to the pair ring.
#include <catch2/catch.hpp>

#include "../support/run.hpp"

namespace {
void passes(const std::string& environment) {
    for (int ranks = 1; ranks <= 5; ++ranks) {
        INFO(environment << " on " << ranks << " ranks");
        const test::Run r = test::run(environment + test::bin("mprun") + " -n " +
                                      std::to_string(ranks) + " " + test::bin("mpi_check_large"));
        CHECK(r.code == 0);
        CHECK(r.out == "large: checks passed\n");
        CHECK(r.err.empty());
        CHECK(test::nothing_left_of(r.pid));
    }
}
}  // namespace

TEST_CASE("large messages: posted and late receives, send-first pairs, windows, truncation") {
    passes("");
}

TEST_CASE("large messages when the single copy is refused: the ring carries them") {
    passes("env SPMD_NO_SINGLE_COPY=1 ");
}
