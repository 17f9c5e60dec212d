// World in a process started without mprun: a world of size 1 that runs the same code.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <spmd/launch.hpp>
#include <spmd/world.hpp>

#include "../support/run.hpp"

TEST_CASE("without mprun a program is a world of size 1") {
    spmd::World world;
    CHECK(world.rank() == 0);
    CHECK(world.size() == 1);
    world.barrier();
    auto a = world.shared<double>("a", 1000);
    CHECK(a.size() == 1000);
    for (double x : a) CHECK(x == 0.0);  // shared arrays start zeroed
    a[999] = 2.5;
    CHECK(a.span()[999] == 2.5);
    auto empty = world.shared<int>("empty", 0);
    CHECK(empty.empty());
    CHECK_FALSE(world.aborted());
    CHECK(test::segments_of(getpid()) == 0);  // names are removed once mapped
    CHECK_THROWS_WITH(spmd::World(), "a process may hold only one spmd::World at a time");
}

TEST_CASE("shared arrays: every rank sees the same bytes, and mismatched calls are errors") {
    spmd::launch(4, [](spmd::World& world) {
        auto a = world.shared<long>("a", 4);
        a[std::size_t(world.rank())] = world.rank() * 10;
        world.barrier();
        for (int r = 0; r < 4; ++r)
            if (a[std::size_t(r)] != r * 10) throw std::runtime_error("not shared");
    });
    REQUIRE_THROWS_WITH(
        spmd::launch(
            2, [](spmd::World& world) { world.shared<double>(world.rank() ? "b" : "a", 10); }),
        Catch::Matchers::Contains("does not match rank 0's shared(\"a\""));
}

TEST_CASE("a shared array too large for /dev/shm is a clear error") {
    spmd::World world;
    CHECK_THROWS_WITH(world.shared<double>("huge", std::size_t(1) << 50),
                      Catch::Matchers::Contains("does not fit"));
    CHECK_THROWS_WITH(world.shared<double>("overflow", std::size_t(-1) / 2),
                      Catch::Matchers::Contains("too large"));
}
