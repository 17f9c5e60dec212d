// all_reduce of small values (up to 56 bytes) goes through the ranks' value flags, whose
// two lines per rank alternate between calls. These tests run many calls back to back
// with ranks drifting apart, mixed with the scratch path, so that a flag rewritten while
// a peer still reads it would show as a wrong value.
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <spmd/launch.hpp>
#include <thread>
#include <vector>

#include "../support/expect.hpp"

namespace {
using test::expect;
// Rank r's element i in call c: integers, so sums in double are exact in any order.
double value(int r, std::size_t i, int c) {
    return double((r * 7919 + int(i) * 31 + c * 131) % 1001) - 500;
}
}  // namespace

TEST_CASE("small all_reduces back to back with drifting ranks match serial references") {
    const int size = GENERATE(range(1, 10));
    INFO("ranks = " << size);
    REQUIRE_NOTHROW(spmd::launch(size, [](spmd::World& w) {
        const int N = w.size(), me = w.rank();
        for (int c = 0; c < 600; ++c) {
            // 1..8 doubles: 56 bytes is the largest value a flag carries, 64 takes scratch.
            const std::size_t n = std::size_t(c % 8) + 1;
            std::vector<double> data(n), sum(n, 0), hi(n, -1e300);
            for (std::size_t i = 0; i < n; ++i) data[i] = value(me, i, c);
            for (int r = 0; r < N; ++r)
                for (std::size_t i = 0; i < n; ++i) {
                    sum[i] += value(r, i, c);
                    hi[i] = std::max(hi[i], value(r, i, c));
                }
            auto copy = data;
            w.all_reduce(std::span<double>(data), spmd::Op::sum);
            expect(data == sum, "sum in call " + std::to_string(c));
            std::vector<double> out(n);
            w.all_reduce(std::span<const double>(copy), std::span<double>(out), spmd::Op::max);
            expect(out == hi, "max in call " + std::to_string(c));
            // Ranks fall behind by turns, so a fast rank writes its next values while a
            // slow one still reads this call's.
            if ((c + me) % 7 == 0) std::this_thread::yield();
            if (c % 97 == me) std::this_thread::sleep_for(std::chrono::microseconds(200));
            if (c % 97 == 0) w.barrier();  // the scratch path's barrier in between
        }
        // Nothing to reduce is no value at all (the span's data may be null).
        std::vector<double> none;
        w.all_reduce(std::span<double>(none), spmd::Op::sum);
        // A scalar of every width, and a non-commutative user function applied in rank
        // order: ((a0 * 3 + a1) * 3 + a2) ...
        expect(w.all_reduce(std::int8_t(me % 2), spmd::Op::sum) == std::int8_t(N / 2), "int8");
        std::int64_t digits = w.rank() % 3;
        std::int64_t expected = 0;
        for (int r = 0; r < N; ++r) expected = expected * 3 + r % 3;
        w.all_reduce(std::span<std::int64_t>(&digits, 1),
                     [](std::int64_t a, std::int64_t b) { return a * 3 + b; });
        expect(digits == expected, "rank order");
    }));
}

TEST_CASE("a rank that dies leaves no peer hanging in a small all_reduce") {
    REQUIRE_THROWS_WITH(spmd::launch(4,
                                     [](spmd::World& w) {
                                         for (int c = 0; c < 100; ++c) {
                                             if (w.rank() == 2 && c == 50)
                                                 throw std::runtime_error("lost");
                                             w.all_reduce(1.0, spmd::Op::sum);
                                         }
                                     }),
                        "rank 2 failed: lost");
}
