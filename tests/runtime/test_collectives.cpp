// Collectives against serial references, for every world size 1..9 and lengths that take
// one piece of scratch or several.
#include <catch2/catch.hpp>
#include <cstdint>
#include <spmd/launch.hpp>
#include <vector>

#include "../support/expect.hpp"

namespace {
using test::expect;
// What rank r contributes at index i: integer-valued, so sums are exact in double too.
double value(int r, std::size_t i) {
    return double((r * 7919 + int(i) * 31) % 1001) - 500;
}

std::vector<double> contribution(int r, std::size_t n) {
    std::vector<double> v(n);
    for (std::size_t i = 0; i < n; ++i) v[i] = value(r, i);
    return v;
}
}  // namespace

TEST_CASE("collectives match serial references") {
    const int size = GENERATE(range(1, 10));
    for (std::size_t n : {std::size_t(1), std::size_t(7), std::size_t(1000), std::size_t(150000)}) {
        INFO("ranks = " << size << ", n = " << n);
        REQUIRE_NOTHROW(spmd::launch(size, [n](spmd::World& w) {
            const int N = w.size(), me = w.rank();
            const auto mine = contribution(me, n);
            // References, computed serially by every rank.
            std::vector<double> sum(n, 0), prod(n, 1), lo(n, 1e300), hi(n, -1e300);
            for (int r = 0; r < N; ++r)
                for (std::size_t i = 0; i < n; ++i) {
                    const double x = value(r, i);
                    sum[i] += x;
                    prod[i] *= (x == 0 ? 1 : 1.0 + 1.0 / x);
                    lo[i] = std::min(lo[i], x);
                    hi[i] = std::max(hi[i], x);
                }

            auto data = mine;
            w.all_reduce(std::span<double>(data), spmd::Op::sum);
            expect(data == sum, "all_reduce sum");
            data = mine;
            w.all_reduce(std::span<double>(data), spmd::Op::min);
            expect(data == lo, "all_reduce min");
            data = mine;
            w.all_reduce(std::span<double>(data), spmd::Op::max);
            expect(data == hi, "all_reduce max");
            // prod of 1 + 1/x in rank order: compare with a tolerance (one rounding each).
            for (std::size_t i = 0; i < n; ++i) data[i] = mine[i] == 0 ? 1 : 1.0 + 1.0 / mine[i];
            w.all_reduce(std::span<double>(data), spmd::Op::prod);
            for (std::size_t i = 0; i < n; ++i)
                expect(std::abs(data[i] - prod[i]) <= 1e-12 * std::abs(prod[i]), "prod");
            // A user function on integers.
            std::vector<std::int64_t> bits(n);
            for (std::size_t i = 0; i < n; ++i) bits[i] = std::int64_t(value(me, i)) * 1000003;
            w.all_reduce(std::span<std::int64_t>(bits),
                         [](std::int64_t a, std::int64_t b) { return a ^ b; });
            for (std::size_t i = 0; i < n; ++i) {
                std::int64_t x = 0;
                for (int r = 0; r < N; ++r) x ^= std::int64_t(value(r, i)) * 1000003;
                expect(bits[i] == x, "user function");
            }
            // reduce to a root that is not 0
            const int root = N - 1;
            std::vector<double> out(me == root ? n : 0);
            w.reduce(std::span<const double>(mine), std::span<double>(out), spmd::Op::sum, root);
            if (me == root) expect(out == sum, "reduce");
            // broadcast from the root
            data = me == root ? mine : std::vector<double>(n, -1);
            w.broadcast(std::span<double>(data), root);
            expect(data == contribution(root, n), "broadcast");
            expect(w.broadcast_value(me * 10 + 3, root) == root * 10 + 3, "broadcast_value");
            // gather, all_gather, scatter
            std::vector<double> all(n * std::size_t(N), -1);
            w.all_gather(std::span<const double>(mine), std::span<double>(all));
            for (int r = 0; r < N; ++r)
                for (std::size_t i = 0; i < n; ++i)
                    expect(all[std::size_t(r) * n + i] == value(r, i), "all_gather");
            std::vector<double> gathered(me == 0 ? n * std::size_t(N) : 0);
            w.gather(std::span<const double>(mine), std::span<double>(gathered), 0);
            if (me == 0) expect(gathered == all, "gather");
            std::vector<double> part(n);
            w.scatter(std::span<const double>(me == root ? all : std::vector<double>{}),
                      std::span<double>(part), root);
            expect(part == mine, "scatter");
            // scalar all_reduce and max_loc/min_loc with ties going to the lowest rank
            expect(w.all_reduce(me + 1, spmd::Op::sum) == N * (N + 1) / 2, "scalar sum");
            const auto top = w.max_loc(me % 3);
            expect(top.value == std::min(N - 1, 2) && top.rank == std::min(N - 1, 2), "max_loc");
            const auto bottom = w.min_loc(std::span<const double>(mine));
            std::size_t where = 0;
            int who = 0;
            for (int r = 0; r < N; ++r)
                for (std::size_t i = 0; i < n; ++i)
                    if (value(r, i) < value(who, where)) who = r, where = i;
            expect(bottom.rank == who && bottom.index == where && bottom.value == value(who, where),
                   "min_loc over spans");
        }));
    }
}

TEST_CASE("collectives check roots and sizes") {
    spmd::World world;
    std::vector<double> v(4), small(2);
    CHECK_THROWS_WITH(world.broadcast(std::span<double>(v), 1),
                      Catch::Matchers::Contains("root 1 is not a rank"));
    CHECK_THROWS_WITH(
        world.reduce(std::span<const double>(v), std::span<double>(small), spmd::Op::sum),
        Catch::Matchers::Contains("output holds 2 elements"));
    CHECK_THROWS_WITH(world.all_gather(std::span<const double>(v), std::span<double>(small)),
                      Catch::Matchers::Contains("room for 16 bytes"));
}

TEST_CASE("a rank that dies leaves no peer hanging in a collective") {
    REQUIRE_THROWS_WITH(spmd::launch(4,
                                     [](spmd::World& w) {
                                         if (w.rank() == 1) throw std::runtime_error("lost");
                                         std::vector<double> v(100000, 1.0);
                                         w.all_reduce(std::span<double>(v), spmd::Op::sum);
                                     }),
                        "rank 1 failed: lost");
}
