// spmd::launch: forked ranks in the current process, failures named and reported.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <csignal>
#include <cstdlib>
#include <spmd/launch.hpp>

#include "../support/run.hpp"

using Catch::Matchers::Contains;

TEST_CASE("every rank runs once and sees its rank and the size") {
    const int size = GENERATE(1, 3, 17);
    spmd::launch(size, [](spmd::World& world) {
        auto seen = world.shared<int>("seen", std::size_t(world.size()));
        seen[std::size_t(world.rank())] = world.rank() + 100;
        world.barrier();
        for (int r = 0; r < world.size(); ++r)
            if (seen[std::size_t(r)] != r + 100) throw std::runtime_error("missing rank");
    });
    // The parent's view: nothing of the job is left.
    CHECK(test::segments_of(getpid()) == 0);
}

TEST_CASE("a failing rank is named with its cause") {
    SECTION("exception") {
        REQUIRE_THROWS_WITH(spmd::launch(3,
                                         [](spmd::World& w) {
                                             if (w.rank() == 1) throw std::runtime_error("boom");
                                             w.barrier();
                                         }),
                            "rank 1 failed: boom");
    }
    SECTION("exit code") {
        REQUIRE_THROWS_WITH(spmd::launch(2,
                                         [](spmd::World& w) {
                                             if (w.rank() == 0) _exit(7);
                                             w.barrier();
                                         }),
                            "rank 0 exited with code 7");
    }
    SECTION("signal") {
        REQUIRE_THROWS_WITH(spmd::launch(2,
                                         [](spmd::World& w) {
                                             if (w.rank() == 1) std::raise(SIGABRT);
                                             w.barrier();
                                         }),
                            "rank 1 killed by signal SIGABRT");
    }
    SECTION("abort") {
        REQUIRE_THROWS_WITH(spmd::launch(4,
                                         [](spmd::World& w) {
                                             if (w.rank() == 2) w.abort("no data");
                                             w.barrier();
                                         }),
                            "rank 2 called abort: no data");
    }
    CHECK(test::segments_of(getpid()) == 0);
}

TEST_CASE("bad sizes are refused") {
    CHECK_THROWS_AS(spmd::launch(0, [](spmd::World&) {}), spmd::UsageError);
    CHECK_THROWS_AS(spmd::launch(1025, [](spmd::World&) {}), spmd::UsageError);
}
