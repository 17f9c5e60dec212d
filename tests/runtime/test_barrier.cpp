// The barrier (dissemination, or gather-release with more ranks than cores): no rank
// leaves barrier k before every rank reached it, for sizes that are and are not powers of
// two, over thousands of consecutive barriers.
#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <cstdint>
#include <spmd/detail/wait.hpp>
#include <spmd/launch.hpp>
#include <stdexcept>
#include <string>

namespace {
void check_barriers(int size, long rounds) {
    INFO("ranks = " << size << " on " << spmd::detail::usable_cores() << " cores");
    REQUIRE_NOTHROW(spmd::launch(size, [&](spmd::World& world) {
        auto arrivals = world.shared<std::uint64_t>("arrivals", 1);
        std::atomic_ref<std::uint64_t> count(arrivals[0]);
        const std::uint64_t n = std::uint64_t(world.size());
        for (long k = 0; k < rounds; ++k) {
            count.fetch_add(1);
            world.barrier();
            // Everyone arrived at k; a fast rank may already count for k + 1, no further.
            const std::uint64_t seen = count.load();
            if (seen < (k + 1) * n || seen >= (k + 2) * n)
                throw std::runtime_error("barrier " + std::to_string(k) + " let rank " +
                                         std::to_string(world.rank()) + " through with " +
                                         std::to_string(seen) + " arrivals");
        }
    }));
}
}  // namespace

TEST_CASE("no rank leaves a barrier before all ranks reached it") {
    const int size = GENERATE(1, 2, 3, 4, 5, 7, 8, 16);
    check_barriers(size, size <= 4 ? 3000 : 800);
}

TEST_CASE("both kinds of barrier: a core per rank, and more ranks than cores") {
    // On any machine, whatever its cores: ranks = cores (dissemination) and cores + 1
    // (gather-release), so both kinds run here even where 16 ranks fit on the cores.
    const int cores = spmd::detail::usable_cores();
    check_barriers(std::max(cores, 2), 500);
    check_barriers(cores + 1, 500);
}

TEST_CASE("a rank that dies leaves no peer hanging in the barrier") {
    const int size = GENERATE(2, 3, 8);
    REQUIRE_THROWS_WITH(
        spmd::launch(size,
                     [size](spmd::World& world) {
                         world.barrier();
                         if (world.rank() == size - 1) throw std::runtime_error("rank gives up");
                         for (;;) world.barrier();
                     }),
        Catch::Matchers::Contains("rank " + std::to_string(size - 1) + " failed: rank gives up"));
}
