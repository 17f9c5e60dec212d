// Large reductions by single copy (shm_reduce_single_copy.cpp) against serial references
// combined in rank order, bit for bit, and against the scratch path they fall back to:
// 2..9 ranks (SPMD_REDUCE_SINGLE_COPY=1 takes the single copy on this machine's few
// cores), sizes around the threshold, every op, in place, every root; ranks that refuse
// it or choose otherwise; counts that differ; a rank dying midway.
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <spmd/detail/single_copy.hpp>
#include <spmd/detail/wait.hpp>
#include <spmd/launch.hpp>
#include <string>
#include <thread>
#include <vector>

#include "../support/expect.hpp"
#include "../support/refuse.hpp"
#include "../support/run.hpp"

namespace {
using spmd::detail::single_copies;
using test::expect;

// The size from which a reduction takes the single copy (the runtime's threshold).
constexpr std::size_t threshold_bytes = 32 << 10;

// Rank r's value at index i: fractions of different magnitudes, so that sums and products
// depend on the order they are combined in.
double value(int r, std::size_t i) {
    const double x =
        double(std::int64_t((i * 2654435761u + std::size_t(r) * 40503u) % 20011) - 10005) / 7.0;
    return r % 3 == 0 ? x : r % 3 == 1 ? x * 1e-7 : x * 1e5;
}

template <class T>
bool same_bits(const std::vector<T>& a, const std::vector<T>& b) {
    return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0;
}

// Twelve bytes: chunks of the copy do not divide into whole elements evenly.
struct Triple {
    std::uint32_t v[3];
};

// acc = 3 acc + in: not commutative, so any other order than rank order shows.
struct Ordered {
    Triple operator()(Triple a, Triple b) const {
        for (int k = 0; k < 3; ++k) a.v[k] = a.v[k] * 3 + b.v[k];
        return a;
    }
};

void choose(const char* value) {
    setenv("SPMD_REDUCE_SINGLE_COPY", value, 1);
}

// Every builtin op on doubles, all_reduce apart and in place and reduce to every root
// apart and in place, each compared bit for bit with the rank-order serial reference.
void check_doubles(spmd::World& w, std::size_t n) {
    const int N = w.size(), me = w.rank();
    std::vector<double> mine(n);
    for (std::size_t i = 0; i < n; ++i) mine[i] = value(me, i);
    for (spmd::Op op : {spmd::Op::sum, spmd::Op::prod, spmd::Op::min, spmd::Op::max}) {
        const std::string name = op == spmd::Op::sum    ? "sum"
                                 : op == spmd::Op::prod ? "prod"
                                 : op == spmd::Op::min  ? "min"
                                                        : "max";
        std::vector<double> want(n);
        for (std::size_t i = 0; i < n; ++i) {
            double acc = value(0, i);
            for (int r = 1; r < N; ++r) {
                const double x = value(r, i);
                acc = op == spmd::Op::sum    ? acc + x
                      : op == spmd::Op::prod ? acc * x
                      : op == spmd::Op::min  ? std::min(acc, x)
                                             : std::max(acc, x);
            }
            want[i] = acc;
        }
        std::vector<double> out(n, -1.0);
        w.all_reduce(std::span<const double>(mine), std::span<double>(out), op);
        expect(same_bits(out, want), "all_reduce " + name);
        auto data = mine;
        w.all_reduce(std::span<double>(data), op);
        expect(same_bits(data, want), "all_reduce in place " + name);
        for (int root = 0; root < N; ++root) {
            std::vector<double> got(me == root ? n : 0);
            w.reduce(std::span<const double>(mine), std::span<double>(got), op, root);
            if (me == root)
                expect(same_bits(got, want), "reduce " + name + " to " + std::to_string(root));
            data = mine;
            w.reduce(std::span<const double>(data), std::span<double>(data), op, root);
            if (me == root)
                expect(same_bits(data, want),
                       "reduce in place " + name + " to " + std::to_string(root));
            else
                expect(same_bits(data, mine), "reduce wrote a non-root's buffer");
        }
    }
}

// Integers: sums against exact per-element references, and a non-commutative function
// on 12-byte elements.
void check_integers(spmd::World& w, std::size_t n) {
    const int N = w.size(), me = w.rank();
    std::vector<std::int64_t> ints(n), isum(n, 0);
    for (std::size_t i = 0; i < n; ++i) {
        ints[i] = std::int64_t(i) * 1000003 - std::int64_t(me) * 77;
        for (int r = 0; r < N; ++r) isum[i] += std::int64_t(i) * 1000003 - std::int64_t(r) * 77;
    }
    w.all_reduce(std::span<std::int64_t>(ints), spmd::Op::sum);
    expect(ints == isum, "all_reduce of integers");

    const std::size_t m = n * 2 / 3;  // below the threshold where n is
    std::vector<Triple> triples(m), want(m);
    auto triple = [](int r, std::size_t i) {
        return Triple{{std::uint32_t(i + std::size_t(r)), std::uint32_t(i * 7 + 1),
                       std::uint32_t(std::size_t(r) * 13 + 5)}};
    };
    for (std::size_t i = 0; i < m; ++i) {
        triples[i] = triple(me, i);
        want[i] = triple(0, i);
        for (int r = 1; r < N; ++r) want[i] = Ordered{}(want[i], triple(r, i));
    }
    std::vector<Triple> out(m);
    w.all_reduce(std::span<const Triple>(triples), std::span<Triple>(out), Ordered{});
    expect(same_bits(out, want), "all_reduce in rank order");
}
}  // namespace

TEST_CASE("large reductions by single copy match serial references bit for bit") {
    const int size = GENERATE(range(2, 10));
    choose("1");
    for (std::size_t n : {threshold_bytes / 8 - 1, threshold_bytes / 8, threshold_bytes / 8 + 1,
                          std::size_t(200003)}) {
        INFO("ranks = " << size << ", doubles = " << n);
        REQUIRE_NOTHROW(spmd::launch(size, [n](spmd::World& w) {
            const std::uint64_t before = single_copies();
            check_doubles(w, n);
            check_integers(w, n);
            const bool large = n * sizeof(double) >= threshold_bytes;
            expect((single_copies() > before) == large,
                   large ? "no single copy was made" : "a small reduction made a single copy");
        }));
    }
    unsetenv("SPMD_REDUCE_SINGLE_COPY");
}

TEST_CASE("large elements: some ranks have no sub-range, the result is the same") {
    struct Block {
        std::uint64_t w[8192];  // 64 KiB
    };
    const int size = GENERATE(2, 5, 9);
    choose("1");
    INFO("ranks = " << size);
    REQUIRE_NOTHROW(spmd::launch(size, [](spmd::World& w) {
        const std::size_t n = 5;  // 320 KiB: 5 elements for up to 9 ranks
        std::vector<Block> mine(n), want(n);
        for (std::size_t i = 0; i < n; ++i)
            for (std::size_t k = 0; k < 8192; ++k) {
                mine[i].w[k] = i * 8192 + k + std::uint64_t(w.rank()) * 3;
                want[i].w[k] = 0;
                for (int r = 0; r < w.size(); ++r)
                    want[i].w[k] = want[i].w[k] * 3 + i * 8192 + k + std::uint64_t(r) * 3;
            }
        auto ordered = [](Block a, const Block& b) {
            for (std::size_t k = 0; k < 8192; ++k) a.w[k] = a.w[k] * 3 + b.w[k];
            return a;
        };
        // want was built from 0: rank 0's term enters as 0 * 3 + in(0) = in(0).
        w.all_reduce(std::span<Block>(mine), ordered);
        expect(same_bits(mine, want), "all_reduce of 64 KiB elements");
    }));
    unsetenv("SPMD_REDUCE_SINGLE_COPY");
}

TEST_CASE("the single copy and the scratch path give the same bits") {
    const int size = GENERATE(2, 3, 7);
    INFO("ranks = " << size);
    REQUIRE_NOTHROW(spmd::launch(size, [](spmd::World& w) {
        const std::size_t n = 300007;
        std::vector<double> mine(n), by_copy(n), by_scratch(n);
        for (std::size_t i = 0; i < n; ++i) mine[i] = value(w.rank(), i);
        choose("1");
        std::uint64_t before = single_copies();
        w.all_reduce(std::span<const double>(mine), std::span<double>(by_copy), spmd::Op::sum);
        expect(single_copies() > before, "the single copy was not taken");
        choose("0");
        before = single_copies();
        w.all_reduce(std::span<const double>(mine), std::span<double>(by_scratch), spmd::Op::sum);
        expect(single_copies() == before, "the scratch path made a single copy");
        expect(same_bits(by_copy, by_scratch), "the paths differ");
    }));
}

TEST_CASE("by default the single copy is taken only with a core for every rank") {
    unsetenv("SPMD_REDUCE_SINGLE_COPY");
    const int size = GENERATE(2, 3, 5);
    INFO("ranks = " << size << ", cores = " << spmd::detail::usable_cores());
    REQUIRE_NOTHROW(spmd::launch(size, [](spmd::World& w) {
        std::vector<double> v(100000, 1.0 + w.rank());
        const std::uint64_t before = single_copies();
        w.all_reduce(std::span<double>(v), spmd::Op::sum);
        expect(v.front() == w.size() * (w.size() + 1) / 2.0 && v.back() == v.front(), "wrong sum");
        expect((single_copies() > before) == (w.size() <= spmd::detail::usable_cores()),
               "single copy taken: " + std::to_string(single_copies() > before));
    }));
}

TEST_CASE("ranks that cannot or will not take the single copy all take the scratch path") {
    enum Case { one_refuses_reads, one_chooses_scratch, one_overlaps };
    const Case what = GENERATE(one_refuses_reads, one_chooses_scratch, one_overlaps);
    INFO((what == one_refuses_reads     ? "rank 1's process_vm_readv is refused"
          : what == one_chooses_scratch ? "rank 1 has SPMD_REDUCE_SINGLE_COPY=0"
                                        : "rank 1's output overlaps its input in part"));
    REQUIRE_NOTHROW(spmd::launch(3, [what](spmd::World& w) {
        choose(w.rank() == 1 && what == one_chooses_scratch ? "0" : "1");
        if (w.rank() == 1 && what == one_refuses_reads) test::refuse(SYS_process_vm_readv);
        const std::size_t n = 200003;
        std::vector<double> buffer(n + 1000), want(n);
        for (std::size_t i = 0; i < n; ++i) {
            want[i] = value(0, i);
            for (int r = 1; r < w.size(); ++r) want[i] += value(r, i);
        }
        const bool shifted = w.rank() == 1 && what == one_overlaps;
        double* in = buffer.data() + (shifted ? 1000 : 0);
        for (std::size_t i = 0; i < n; ++i) in[i] = value(w.rank(), i);
        for (int round = 0; round < 2; ++round) {
            if (round == 1)
                for (std::size_t i = 0; i < n; ++i) in[i] = value(w.rank(), i);
            const std::uint64_t before = single_copies();
            w.all_reduce(std::span<const double>(in, n), std::span<double>(buffer.data(), n),
                         spmd::Op::sum);
            expect(std::memcmp(buffer.data(), want.data(), n * sizeof(double)) == 0,
                   "wrong sums in round " + std::to_string(round));
            // Round 0 may count the probe's one-byte reads; data never goes by single copy.
            if (round == 1 || what != one_refuses_reads)
                expect(single_copies() == before,
                       "a single copy was made in round " + std::to_string(round));
        }
    }));
}

TEST_CASE("ranks passing different counts to a large reduction are told so") {
    choose("1");
    REQUIRE_THROWS_WITH(spmd::launch(2,
                                     [](spmd::World& w) {
                                         std::vector<double> v(w.rank() == 0 ? 40000 : 50000);
                                         w.all_reduce(std::span<double>(v), spmd::Op::sum);
                                     }),
                        Catch::Matchers::EndsWith("failed: all_reduce: rank 0 passes 40000 "
                                                  "elements, rank 1 50000: every rank must "
                                                  "pass the same count"));
    unsetenv("SPMD_REDUCE_SINGLE_COPY");
}

TEST_CASE("a rank dying in a large reduction ends the job naming it, leaving nothing") {
    const int size = GENERATE(2, 3);
    INFO("ranks = " << size);
    choose("1");
    std::string what;
    try {
        spmd::launch(size, [](spmd::World& w) {
            std::vector<double> in(std::size_t(4) << 20, 1.0), out(in.size());
            std::thread killer;
            if (w.rank() == 1)
                killer = std::thread([] {
                    usleep(30'000);
                    raise(SIGKILL);
                });
            for (;;)
                w.all_reduce(std::span<const double>(in), std::span<double>(out), spmd::Op::sum);
        });
    } catch (const spmd::Error& e) {
        what = e.what();
    }
    unsetenv("SPMD_REDUCE_SINGLE_COPY");
    INFO(what);
    CHECK_THAT(what, Catch::Matchers::Contains("rank 1") && Catch::Matchers::Contains("SIGKILL"));
    CHECK(test::segments_of(getpid()) == 0);
}
