// World::fail: a rank's own error line and exit code travel with the job's failure record,
// so the launcher reports that line, once, whichever rank is reaped first.
#include <catch2/catch.hpp>
#include <string>

#include "spmd/launch.hpp"
#include "spmd/world.hpp"

TEST_CASE("World::fail: the failing rank's line is the job's error, whoever exits first") {
    for (int failing : {0, 2}) {
        INFO("failing rank " << failing);
        // The peers wait in a barrier and are stopped by the failure (spmd::Aborted); they
        // may well be reaped before the failing rank.
        REQUIRE_THROWS_WITH(spmd::launch(3,
                                         [&](spmd::World& world) {
                                             if (world.rank() == failing)
                                                 world.fail("prog: bad input here", 2);
                                             world.barrier();
                                         }),
                            "prog: bad input here");
    }
    // Every rank failing alike: still one line, the first rank's to claim the record.
    REQUIRE_THROWS_WITH(
        spmd::launch(4, [](spmd::World& world) { world.fail("prog: same for all", 2); }),
        "prog: same for all");
}
