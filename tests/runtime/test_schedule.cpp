// Loop schedules: every index of [0, n) goes to exactly one rank, for every policy.
#include <atomic>
#include <catch2/catch.hpp>
#include <cstdint>
#include <spmd/launch.hpp>
#include <stdexcept>
#include <string>

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
    const int size = GENERATE(1, 2, 3, 4, 7);
    const std::size_t chunk = GENERATE(0, 1, 3, 10);
    for (std::size_t n : {0, 1, 5, 10, 31, 1000}) {
        INFO("ranks=" << size << " chunk=" << chunk << " n=" << n);
        REQUIRE_NOTHROW(spmd::launch(size, [&](spmd::World& world) {
            const std::size_t N = std::size_t(world.size()), me = std::size_t(world.rank());
            // owner[i] = 1 + the rank that took index i; 0 if nobody did.
            auto owner = world.shared<std::int32_t>("owner", n);
            std::size_t ranges = 0;
            for (spmd::Range r : world.schedule(n, spmd::Schedule::static_, chunk)) {
                ++ranges;
                // A chunked range is exactly one chunk (the last may be short).
                if (chunk > 0 && (r.begin % chunk != 0 || r.end != std::min(n, r.begin + chunk)))
                    throw std::runtime_error("range [" + std::to_string(r.begin) + ", " +
                                             std::to_string(r.end) + ") is not one chunk");
                for (std::size_t i = r.begin; i < r.end; ++i) owner[i] = std::int32_t(me) + 1;
            }
            // Without a chunk, one block per rank (an empty one is not handed out).
            if (chunk == 0 && ranges > 1) throw std::runtime_error("more than one block");
            world.barrier();
            if (me != 0) return;
            for (std::size_t i = 0; i < n; ++i) {
                // Round-robin: chunk k goes to rank k mod N. Blocks: rank r holds the
                // indices i with floor(r n / N) <= i < floor((r + 1) n / N), so block sizes
                // differ by at most one and follow rank order.
                std::size_t want = chunk > 0 ? i / chunk % N : 0;
                if (chunk == 0)
                    while ((want + 1) * n / N <= i) ++want;
                if (owner[i] != std::int32_t(want) + 1)
                    throw std::runtime_error("index " + std::to_string(i) + " went to rank " +
                                             std::to_string(owner[i] - 1) + ", not " +
                                             std::to_string(want));
            }
        }));
    }
}

TEST_CASE("schedule names") {
    CHECK(spmd::parse_schedule("static") == spmd::Schedule::static_);
    CHECK(spmd::parse_schedule("guided") == spmd::Schedule::guided);
    CHECK(spmd::to_string(spmd::Schedule::dynamic) == "dynamic");
    CHECK_THROWS_WITH(spmd::parse_schedule("fastest"), Catch::Matchers::Contains("'fastest'"));
}
