// Loop schedules: every index of [0, n) goes to exactly one rank, for every policy.
#include <atomic>
#include <catch2/catch.hpp>
#include <cstdint>
#include <spmd/launch.hpp>

TEST_CASE("every index is handed out exactly once") {
    const auto policy =
        GENERATE(spmd::Schedule::static_, spmd::Schedule::dynamic, spmd::Schedule::guided);
    const int size = GENERATE(1, 2, 3, 5, 9);
    const std::size_t chunk = GENERATE(0, 1, 7);
    for (std::size_t n : {0, 1, 7, 1000, 100000}) {
        INFO(spmd::to_string(policy) << " ranks=" << size << " chunk=" << chunk << " n=" << n);
        REQUIRE_NOTHROW(spmd::launch(size, [&](spmd::World& world) {
            auto hits = world.shared<std::uint8_t>("hits", n);
            // Two loops in a row: the counter word is reused by generation, not reset.
            for (int pass = 0; pass < 2; ++pass) {
                for (spmd::Range r : world.schedule(n, policy, chunk))
                    for (std::size_t i = r.begin; i < r.end; ++i)
                        std::atomic_ref<std::uint8_t>(hits[i]).fetch_add(1);
            }
            world.barrier();
            for (std::size_t i = 0; i < n; ++i)
                if (hits[i] != 2)
                    throw std::runtime_error("index " + std::to_string(i) + " taken " +
                                             std::to_string(int(hits[i])) + " times in 2 passes");
        }));
    }
}

TEST_CASE("static schedule: balanced blocks, or round-robin chunks") {
    spmd::World world;  // size 1: one block
    auto loop = world.schedule(10, spmd::Schedule::static_);
    auto it = loop.begin();
    CHECK((*it).begin == 0);
    CHECK((*it).end == 10);
    CHECK(++it == loop.end());
    CHECK(spmd::parse_schedule("guided") == spmd::Schedule::guided);
    CHECK_THROWS_WITH(spmd::parse_schedule("fastest"), Catch::Matchers::Contains("'fastest'"));
}
