// World::map: results equal a serial loop's, in input order, for every schedule, chunk and
// rank count, on every rank or on one root only; strings and vectors of varying sizes go
// through the variable-size path; maps that follow each other with no barrier run fn once
// per index; a rank stalled inside fn has the rest of its range taken by the others; the
// shared segments it uses are gone afterwards; results of other sizes and alignments
// share the scratch; a rank that comes late to finished maps takes nothing; a root's
// results are right whether it computes every block itself or copies every block.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <cstdint>
#include <spmd/launch.hpp>
#include <spmd/world.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "../support/run.hpp"

using Catch::Matchers::Contains;

namespace {

void check(bool ok, const std::string& what) {
    if (!ok) throw std::runtime_error(what);
}

std::int64_t square_plus(std::size_t i) {
    return std::int64_t(i * i) + 7;
}

std::string word_of(std::size_t i) {  // lengths 0..16, contents a function of i
    return std::string(i % 17, char('a' + i % 26));
}

std::vector<double> halves_of(std::size_t i) {
    std::vector<double> v(i % 5);
    for (std::size_t k = 0; k < v.size(); ++k) v[k] = double(i) + 0.5 * double(k);
    return v;
}

template <class F>
auto serial(std::size_t n, F fn) {
    std::vector<decltype(fn(std::size_t(0)))> out;
    for (std::size_t i = 0; i < n; ++i) out.push_back(fn(i));
    return out;
}

}  // namespace

TEST_CASE("map returns a serial loop's results in order, for every schedule") {
    const int ranks = GENERATE(1, 2, 4, 9);
    const auto policy =
        GENERATE(spmd::Schedule::static_, spmd::Schedule::dynamic, spmd::Schedule::guided);
    const std::size_t chunk = GENERATE(0, 3);
    const std::size_t n = GENERATE(0, 1, 1000);
    const auto expect = serial(n, square_plus);
    CAPTURE(ranks, spmd::to_string(policy), chunk, n);
    REQUIRE_NOTHROW(spmd::launch(ranks, [&](spmd::World& world) {
        const auto got = world.map(n, square_plus, policy, chunk);
        check(got == expect, "rank " + std::to_string(world.rank()) + ": wrong map results");
    }));
}

TEST_CASE("map with a root gives the results to that rank only") {
    const int ranks = GENERATE(1, 2, 4, 9);
    const std::size_t n = 777;
    REQUIRE_NOTHROW(spmd::launch(ranks, [&](spmd::World& world) {
        const int root = world.size() - 1;
        const auto got = world.map(n, square_plus, spmd::Root{root});
        if (world.rank() == root)
            check(got == serial(n, square_plus), "root's results differ from the serial loop");
        else
            check(got.empty(), "a rank other than root got results");
        const auto words = world.map(n, word_of, spmd::Root{root}, spmd::Schedule::guided);
        check(world.rank() == root ? words == serial(n, word_of) : words.empty(),
              "root-only string results are wrong");
    }));
}

TEST_CASE("map carries strings and vectors of varying sizes") {
    const int ranks = GENERATE(1, 2, 4, 9);
    const auto policy =
        GENERATE(spmd::Schedule::static_, spmd::Schedule::dynamic, spmd::Schedule::guided);
    const std::size_t n = GENERATE(0, 1, 500);
    CAPTURE(ranks, spmd::to_string(policy), n);
    REQUIRE_NOTHROW(spmd::launch(ranks, [&](spmd::World& world) {
        check(world.map(n, word_of, policy) == serial(n, word_of), "string results differ");
        check(world.map(n, halves_of, policy, 2) == serial(n, halves_of), "vector results differ");
        auto pairs = [](std::size_t i) { return std::pair{word_of(i), int(i)}; };
        check(world.map(n, pairs, policy) == serial(n, pairs), "pair results differ");
    }));
}

TEST_CASE("maps back to back: fn runs once per index, results in order, scratch grows") {
    const int ranks = GENERATE(2, 4, 9);
    CAPTURE(ranks);
    REQUIRE_NOTHROW(spmd::launch(ranks, [](spmd::World& world) {
        constexpr std::size_t most = 200000;
        auto calls = world.shared<std::uint32_t>("calls", most);
        std::vector<std::uint32_t> expect(most, 0);  // the same on every rank
        for (int round = 0; round < 40; ++round) {
            // Sizes that shrink and grow (the scratch grows with them), roots and all-rank
            // maps mixed, and no barrier between maps but the one that checks the counts.
            const std::size_t n = round % 5 == 4 ? most : std::size_t(round * 997 % 5000);
            const int root = round % 3 == 0 ? -1 : round % world.size();
            auto fn = [&calls, round](std::size_t i) {
                std::atomic_ref<std::uint32_t>(calls[i]).fetch_add(1);
                return std::int64_t(i) * 3 + round;
            };
            const auto policy = spmd::Schedule(round % 3);
            const auto got =
                root < 0 ? world.map(n, fn, policy) : world.map(n, fn, spmd::Root{root}, policy);
            for (std::size_t i = 0; i < n; ++i) ++expect[i];
            const std::string where = "round " + std::to_string(round) + ": ";
            if (root < 0 || root == world.rank()) {
                check(got.size() == n, where + "wrong count");
                for (std::size_t i = 0; i < n; ++i)
                    check(got[i] == std::int64_t(i) * 3 + round,
                          where + "wrong result at " + std::to_string(i));
            } else {
                check(got.empty(), where + "a rank other than root got results");
            }
            if (round % 5 == 4) {
                world.barrier();
                for (std::size_t i = 0; i < most; ++i)
                    check(std::atomic_ref<std::uint32_t>(calls[i]).load() == expect[i],
                          where + "index " + std::to_string(i) + " ran a wrong number of times");
                world.barrier();
            }
        }
    }));
    CHECK(test::segments_of(getpid()) == 0);
}

namespace {
struct alignas(32) Wide {  // larger and more aligned than a word, with padding
    double x;
    std::int32_t k;
    char tag;
    bool operator==(const Wide&) const = default;
};
}  // namespace

TEST_CASE("maps of results of different sizes and alignments share the scratch") {
    const int ranks = GENERATE(1, 2, 4, 9);
    CAPTURE(ranks);
    REQUIRE_NOTHROW(spmd::launch(ranks, [](spmd::World& world) {
        auto small = [](std::size_t i) { return char('a' + i % 26); };
        auto wide = [](std::size_t i) { return Wide{double(i) / 4, std::int32_t(i), char(i)}; };
        auto real = [](std::size_t i) { return double(i) * 1.5; };
        for (int round = 0; round < 12; ++round) {
            const std::size_t n = std::size_t(round * 7919 % 30000) + 1;
            const int root = round % 2 ? round % world.size() : -1;
            auto one = [&](auto fn) {
                const auto got = root < 0 ? world.map(n, fn) : world.map(n, fn, spmd::Root{root});
                const bool wanted = root < 0 || root == world.rank();
                check(got == (wanted ? serial(n, fn) : decltype(got){}),
                      "round " + std::to_string(round) + ": wrong results");
            };
            one(small);
            one(wide);
            one(real);
        }
    }));
}

TEST_CASE("a rank that comes to maps the others have finished takes nothing") {
    REQUIRE_NOTHROW(spmd::launch(3, [](spmd::World& world) {
        constexpr std::size_t large = 200000, small = 2000;
        auto calls = world.shared<std::uint32_t>("calls", 3 * large);
        auto go = world.shared<std::uint32_t>("late rank may go", 1);
        auto counted = [&](std::size_t map) {
            return [&calls, &world, map](std::size_t i) {
                std::atomic_ref<std::uint32_t>(calls[map * large + i]).fetch_add(1);
                if (map == 2 && world.rank() == 0) usleep(100);  // leave rank 1 some blocks
                return std::int64_t(i * 5 + map);
            };
        };
        // Both halves of the scratch at their largest first (one block per index), so the
        // maps below need no collective allocation and rank 2 can stay away.
        for (int half = 0; half < 2; ++half)
            (void)world.map(
                large, [](std::size_t i) { return std::int64_t(i); }, spmd::Schedule::dynamic, 1);
        // Ranks 0 and 1 run three maps to rank 0 alone; the third reuses the first one's
        // half with far fewer blocks, and rank 1 writes its results where the first one's
        // block words would lie if they shared the half. Rank 2 comes to all three only
        // then: it must find every block taken.
        const std::size_t sizes[3] = {large, 7, small}, chunks[3] = {1, 0, 0};
        if (world.rank() == 2)
            while (std::atomic_ref<std::uint32_t>(go[0]).load() == 0) usleep(1000);
        for (std::size_t map = 0; map < 3; ++map) {
            const auto got = world.map(sizes[map], counted(map), spmd::Root{0},
                                       spmd::Schedule::dynamic, chunks[map]);
            if (world.rank() == 0)
                for (std::size_t i = 0; i < sizes[map]; ++i)
                    check(got[i] == std::int64_t(i * 5 + map), "root's results are wrong");
        }
        if (world.rank() == 0) std::atomic_ref<std::uint32_t>(go[0]).store(1);
        world.barrier();
        for (std::size_t map = 0; map < 3; ++map)
            for (std::size_t i = 0; i < sizes[map]; ++i)
                check(std::atomic_ref<std::uint32_t>(calls[map * large + i]).load() == 1,
                      "map " + std::to_string(map) + " index " + std::to_string(i) +
                          " ran other than once");
    }));
}

TEST_CASE("a root map is right when the root computes every block and when it copies all") {
    const int ranks = GENERATE(1, 2, 4, 9);
    CAPTURE(ranks);
    REQUIRE_NOTHROW(spmd::launch(ranks, [](spmd::World& world) {
        constexpr std::size_t n = 50000;
        const int root = world.size() - 1, others = world.size() - 1;
        auto by = world.shared<std::int32_t>("computed by", n);
        auto finished = world.shared<std::uint32_t>("ranks finished", 2);
        auto fn = [&](std::size_t i) {
            std::atomic_ref<std::int32_t>(by[i]).store(world.rank());
            return Wide{double(i) / 8, std::int32_t(i), char(i % 100)};
        };
        auto expect = [](std::size_t i) {
            return Wide{double(i) / 8, std::int32_t(i), char(i % 100)};
        };
        auto wait_for = [&](int which, std::uint32_t count) {
            while (std::atomic_ref<std::uint32_t>(finished[which]).load() < count) usleep(200);
        };
        // Both halves of the scratch at this size first: a root map then needs nobody else.
        for (int half = 0; half < 2; ++half) (void)world.map(n, expect);
        // The others come only after the root has its results: it computed every block
        // itself (straight into its vector), and they find nothing left to take.
        if (world.rank() != root) wait_for(0, 1);
        const auto alone = world.map(n, fn, spmd::Root{root});
        if (world.rank() == root) {
            check(alone == serial(n, expect), "results the root computed alone are wrong");
            std::atomic_ref<std::uint32_t>(finished[0]).store(1);
        }
        world.barrier();
        for (std::size_t i = 0; i < n; ++i)
            check(by[i] == root, "a rank other than the root computed index " + std::to_string(i));
        world.barrier();
        // The root comes only after the others have finished the map: it copies every block.
        if (world.rank() == root) wait_for(1, std::uint32_t(others));
        const auto copied = world.map(n, fn, spmd::Root{root});
        if (world.rank() == root) {
            check(copied == serial(n, expect), "results the root copied are wrong");
            for (std::size_t i = 0; i < n && others > 0; ++i)
                check(by[i] != root, "the root computed index " + std::to_string(i));
        } else {
            std::atomic_ref<std::uint32_t>(finished[1]).fetch_add(1);
        }
    }));
}

TEST_CASE("a rank stalled inside fn: the others take the rest of its range") {
    const int ranks = GENERATE(2, 4);
    CAPTURE(ranks);
    REQUIRE_NOTHROW(spmd::launch(ranks, [](spmd::World& world) {
        const std::size_t n = 100000;
        auto by = world.shared<std::int32_t>("computed by", n);
        // Static blocks: rank 1's is [n/N, 2n/N). It stalls at its first index until some
        // other rank has computed one of its block's last indices (or 30 s have passed).
        const std::size_t first = n / std::size_t(world.size()), last = 2 * first - 1;
        auto fn = [&](std::size_t i) {
            std::atomic_ref<std::int32_t>(by[i]).store(world.rank() + 1);
            if (world.rank() == 1 && i == first)
                for (int wait = 0; wait < 300000; ++wait) {
                    if (std::atomic_ref<std::int32_t>(by[last]).load() != 0) break;
                    usleep(100);
                }
            return double(i) / 2;
        };
        const auto got = world.map(n, fn, spmd::Schedule::static_);
        for (std::size_t i = 0; i < n; ++i) check(got[i] == double(i) / 2, "wrong result");
        check(std::atomic_ref<std::int32_t>(by[last]).load() != 2,
              "rank 1 computed its whole block: nobody took over from it");
    }));
}

TEST_CASE("map leaves no segment behind, and a root out of range is an error") {
    REQUIRE_NOTHROW(spmd::launch(3, [](spmd::World& world) {
        for (int round = 0; round < 20; ++round) (void)world.map(100, word_of);
    }));
    CHECK(test::segments_of(getpid()) == 0);
    REQUIRE_THROWS_WITH(
        spmd::launch(2, [](spmd::World& world) { (void)world.map(4, word_of, spmd::Root{2}); }),
        Contains("map") && Contains("2"));
}
