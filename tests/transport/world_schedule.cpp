// Loop schedules: over all ranks, every index of [0, n) is handed out exactly once, for
// static, dynamic and guided, default and given chunks, loop after loop (more loops than
// the transport has counter slots, some with nothing in them).
#include <catch2/catch.hpp>
#include <cstdint>
#include <vector>

#include "spmd_main.hpp"

namespace {
// How many times each index went to this rank.
std::vector<std::int32_t> take(spmd::World& w, std::size_t n, spmd::Schedule policy,
                               std::size_t chunk) {
    std::vector<std::int32_t> count(n, 0);
    for (spmd::Range r : w.schedule(n, policy, chunk)) {
        REQUIRE(r.begin < r.end);
        REQUIRE(r.end <= n);
        for (std::size_t i = r.begin; i < r.end; ++i) ++count[i];
    }
    return count;
}
}  // namespace

TEST_CASE("every index is taken exactly once over all ranks") {
    auto& w = test::world();
    for (auto policy : {spmd::Schedule::static_, spmd::Schedule::dynamic, spmd::Schedule::guided})
        for (std::size_t n : {std::size_t(0), std::size_t(1), std::size_t(5), std::size_t(997),
                              std::size_t(100000)})
            for (std::size_t chunk : {std::size_t(0), std::size_t(1), std::size_t(64)}) {
                INFO(spmd::to_string(policy) << " n = " << n << " chunk = " << chunk);
                auto count = take(w, n, policy, chunk);
                w.all_reduce(std::span<std::int32_t>(count), spmd::Op::sum);
                std::size_t wrong = 0;
                for (auto c : count) wrong += c != 1;
                CHECK(wrong == 0);
            }
}

TEST_CASE("twenty loops in a row, with no barrier between them, each covered once") {
    auto& w = test::world();
    const std::size_t n = 5000;
    std::vector<std::int32_t> count(20 * n, 0);
    for (std::size_t loop = 0; loop < 20; ++loop)
        for (spmd::Range r :
             w.schedule(n, loop % 2 ? spmd::Schedule::guided : spmd::Schedule::dynamic, 7))
            for (std::size_t i = r.begin; i < r.end; ++i) ++count[loop * n + i];
    w.all_reduce(std::span<std::int32_t>(count), spmd::Op::sum);
    std::size_t wrong = 0;
    for (auto c : count) wrong += c != 1;
    CHECK(wrong == 0);
}

TEST_CASE("static blocks do not depend on timing") {
    auto& w = test::world();
    const std::size_t n = 1000;
    std::vector<spmd::Range> mine;
    for (spmd::Range r : w.schedule(n, spmd::Schedule::static_)) mine.push_back(r);
    REQUIRE(mine.size() == 1);
    CHECK(mine[0].begin == n * std::size_t(w.rank()) / std::size_t(w.size()));
    CHECK(mine[0].end == n * std::size_t(w.rank() + 1) / std::size_t(w.size()));
}
