// Large pulled messages split between receiver and sender (both copy a half): the check
// program (tests/mpi/programs/mpi_check_split.c) compares every payload with its pattern
// around the split's threshold, at odd sizes and offsets, from a sender busy computing,
// and in windows of 64; for 2, 3 and 5 ranks (two pairs and one rank sitting out), and
// with the single copy refused.
#include <catch2/catch.hpp>

#include "../support/run.hpp"

namespace {
void passes(const std::string& environment, std::initializer_list<int> rank_counts) {
    for (int ranks : rank_counts) {
        INFO(environment << " on " << ranks << " ranks");
        const test::Run r = test::run(environment + test::bin("mprun") + " -n " +
                                      std::to_string(ranks) + " " + test::bin("mpi_check_split"));
        CHECK(r.code == 0);
        CHECK(r.out == "split: checks passed\n");
        CHECK(r.err.empty());
        CHECK(test::nothing_left_of(r.pid));
    }
}
}  // namespace

TEST_CASE("split copies: thresholds, odd sizes and offsets, a computing sender, windows") {
    passes("", {2, 3, 5});
}

TEST_CASE("split copies when the single copy is refused: the ring carries them") {
    passes("env SPMD_NO_SINGLE_COPY=1 ", {3});
}
