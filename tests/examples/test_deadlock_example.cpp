// The deadlock example: its deliberate deadlock is diagnosed as a cycle with mprun's own
// exit code, for 2, 3 and 4 ranks; with --fixed the same exchange completes.
#include <algorithm>
#include <catch2/catch.hpp>

#include "../support/run.hpp"

TEST_CASE("deadlock is reported with its cycle; deadlock --fixed completes") {
    const int size = GENERATE(2, 3, 4);
    const std::string run =
        test::bin("mprun") + " -n " + std::to_string(size) + " " + test::bin("deadlock");
    std::string cycle = "mprun: deadlock: ";
    for (int r = 0; r < size; ++r)
        cycle += (r ? "; rank " : "rank ") + std::to_string(r) + " waits in recv from rank " +
                 std::to_string((r + 1) % size) + " (tag 0)";

    test::Run r = test::run(run);
    CHECK(r.code == 123);
    CHECK(r.err == cycle + "\n");
    CHECK(r.out.empty());
    CHECK(test::nothing_left_of(r.pid));

    r = test::run(run + " --fixed");
    CHECK(r.code == 0);
    CHECK(r.err.empty());
    auto lines = test::lines(r.out);
    std::sort(lines.begin(), lines.end());
    REQUIRE(int(lines.size()) == size);
    for (int k = 0; k < size; ++k) {
        const int right = (k + 1) % size;
        CHECK(lines[std::size_t(k)] == "rank " + std::to_string(k) + " got " +
                                           std::to_string(right * 10) + " from rank " +
                                           std::to_string(right));
    }
    CHECK(test::nothing_left_of(r.pid));
}
