// Collectives against serial references that every rank computes itself: reductions must
// be bitwise what a left fold in rank order gives (acc = x0; acc = f(acc, x_r)), for few
// elements (gathered whole) and many (reduce-scatter), with a non-commutative function too.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "spmd_main.hpp"

namespace {
// Values whose sums round differently in different orders.
double value(int r, std::size_t i) {
    return (r % 2 ? 1e16 : 1.0) / double(1 + (i * 7 + std::size_t(r) * 13) % 97) +
           std::ldexp(1.0, -int((r * 5 + int(i)) % 40));
}

std::vector<double> contribution(int r, std::size_t n) {
    std::vector<double> v(n);
    for (std::size_t i = 0; i < n; ++i) v[i] = value(r, i);
    return v;
}

bool same_bits(const std::vector<double>& a, const std::vector<double>& b) {
    return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0;
}
}  // namespace

TEST_CASE("all_reduce and reduce are a left fold in rank order, bit for bit") {
    auto& w = test::world();
    for (std::size_t n : {std::size_t(1), std::size_t(7), std::size_t(3000), std::size_t(150001)}) {
        INFO("n = " << n);
        std::vector<double> sum = contribution(0, n);
        std::vector<std::uint64_t> chain(n);  // f(a, b) = 3a + b: the order shows
        for (std::size_t i = 0; i < n; ++i) chain[i] = std::uint64_t(value(0, i) * 1000);
        for (int r = 1; r < w.size(); ++r)
            for (std::size_t i = 0; i < n; ++i) {
                sum[i] = sum[i] + value(r, i);
                chain[i] = chain[i] * 3 + std::uint64_t(value(r, i) * 1000);
            }

        auto data = contribution(w.rank(), n);
        w.all_reduce(std::span<double>(data), spmd::Op::sum);
        CHECK(same_bits(data, sum));

        std::vector<std::uint64_t> mine(n), out(n);
        for (std::size_t i = 0; i < n; ++i) mine[i] = std::uint64_t(value(w.rank(), i) * 1000);
        auto f = [](std::uint64_t a, std::uint64_t b) { return a * 3 + b; };
        w.all_reduce(std::span<const std::uint64_t>(mine), std::span<std::uint64_t>(out), f);
        CHECK(out == chain);

        const int root = w.size() - 1;
        std::vector<double> reduced(n, -1.0);
        const auto in = contribution(w.rank(), n);
        w.reduce(std::span<const double>(in), std::span<double>(reduced), spmd::Op::sum, root);
        if (w.rank() == root)
            CHECK(same_bits(reduced, sum));
        else
            CHECK(reduced == std::vector<double>(n, -1.0));  // untouched off root
    }
}

TEST_CASE("broadcast, gather, all_gather and scatter move every byte") {
    auto& w = test::world();
    const int N = w.size(), me = w.rank();
    for (std::size_t n : {std::size_t(0), std::size_t(3), std::size_t(100000)}) {
        INFO("n = " << n);
        std::vector<std::int32_t> b(n);
        for (std::size_t i = 0; i < n; ++i) b[i] = me == N - 1 ? std::int32_t(i * 5 + 1) : 0;
        w.broadcast(std::span<std::int32_t>(b), N - 1);
        for (std::size_t i = 0; i < n; ++i) REQUIRE(b[i] == std::int32_t(i * 5 + 1));

        std::vector<std::int32_t> mine(n), all(n * std::size_t(N), -1);
        for (std::size_t i = 0; i < n; ++i) mine[i] = std::int32_t(me * 1000003 + int(i));
        w.all_gather(std::span<const std::int32_t>(mine), std::span<std::int32_t>(all));
        for (int r = 0; r < N; ++r)
            for (std::size_t i = 0; i < n; ++i)
                REQUIRE(all[std::size_t(r) * n + i] == std::int32_t(r * 1000003 + int(i)));

        std::vector<std::int32_t> at_root(n * std::size_t(N), -1);
        w.gather(std::span<const std::int32_t>(mine), std::span<std::int32_t>(at_root), 0);
        if (me == 0) CHECK(at_root == all);

        std::vector<std::int32_t> part(n, -1);
        w.scatter(std::span<const std::int32_t>(all), std::span<std::int32_t>(part), 0);
        CHECK(part == mine);
    }
    const auto hi = w.max_loc(double((me * 7) % N));
    int expect_rank = 0;
    for (int r = 0; r < N; ++r)
        if ((r * 7) % N > (expect_rank * 7) % N) expect_rank = r;
    CHECK(hi.rank == expect_rank);
    CHECK(w.all_reduce(me + 1, spmd::Op::sum) == N * (N + 1) / 2);
}

TEST_CASE("a bad root is an error on every rank") {
    auto& w = test::world();
    std::vector<int> v(1);
    CHECK_THROWS_WITH(w.broadcast(std::span<int>(v), w.size()),
                      "broadcast: root " + std::to_string(w.size()) +
                          " is not a rank of a world of " + std::to_string(w.size()));
}
