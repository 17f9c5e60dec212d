// Collectives on elements of any size: 1 and 3 bytes (pieces that do not divide a scratch
// slot), and 1 and 4 MiB (larger than a rank's whole scratch slot, which used to give
// zero-sized pieces and loop forever), against serial references, for 1 to 4 ranks.
#include <sys/resource.h>

#include <array>
#include <catch2/catch.hpp>
#include <cstdint>
#include <spmd/launch.hpp>
#include <vector>

namespace {
void expect(bool ok, const std::string& what) {
    if (!ok) throw std::runtime_error(what);
}

template <std::size_t Bytes>
struct Blob {
    std::array<std::uint8_t, Bytes> b;
};

// Byte i of element e of rank r.
std::uint8_t byte_of(int r, std::size_t e, std::size_t i) {
    return std::uint8_t((std::size_t(r) * 131 + e * 17 + i * 7 + (i >> 9)) % 251);
}

template <std::size_t Bytes>
std::vector<Blob<Bytes>> elements(int r, std::size_t count) {
    std::vector<Blob<Bytes>> v(count);
    for (std::size_t e = 0; e < count; ++e)
        for (std::size_t i = 0; i < Bytes; ++i) v[e].b[i] = byte_of(r, e, i);
    return v;
}

// Associative but not commutative, so the reference also checks the rank order:
// (a, b) -> 3a + b per byte, mod 256.
template <std::size_t Bytes>
Blob<Bytes> fold(const Blob<Bytes>& a, const Blob<Bytes>& b) {
    Blob<Bytes> out;
    for (std::size_t i = 0; i < Bytes; ++i) out.b[i] = std::uint8_t(3 * a.b[i] + b.b[i]);
    return out;
}

template <std::size_t Bytes>
void check_all(int size, std::size_t count) {
    using E = Blob<Bytes>;
    REQUIRE_NOTHROW(spmd::launch(size, [count](spmd::World& w) {
        const int N = w.size(), me = w.rank(), root = N - 1;
        const auto mine = elements<Bytes>(me, count);
        std::vector<std::vector<E>> all;
        for (int r = 0; r < N; ++r) all.push_back(elements<Bytes>(r, count));
        std::vector<E> reference = all[0];
        for (int r = 1; r < N; ++r)
            for (std::size_t e = 0; e < count; ++e) reference[e] = fold(reference[e], all[r][e]);
        auto same = [](const std::vector<E>& a, const std::vector<E>& b) {
            for (std::size_t e = 0; e < a.size(); ++e)
                if (a[e].b != b[e].b) return false;
            return a.size() == b.size();
        };
        auto by = [](const E& a, const E& b) { return fold(a, b); };

        std::vector<E> out(count);
        w.all_reduce(std::span<const E>(mine), std::span<E>(out), by);
        expect(same(out, reference), "all_reduce");
        std::vector<E> in_place = mine;
        w.all_reduce(std::span<E>(in_place), by);
        expect(same(in_place, reference), "all_reduce in place");

        std::vector<E> reduced(me == root ? count : 0);
        w.reduce(std::span<const E>(mine), std::span<E>(reduced), by, root);
        if (me == root) expect(same(reduced, reference), "reduce");

        std::vector<E> cast = me == root ? mine : std::vector<E>(count);
        w.broadcast(std::span<E>(cast), root);
        expect(same(cast, all[root]), "broadcast");

        std::vector<E> gathered(count * std::size_t(N)), everyone(count * std::size_t(N));
        w.gather(std::span<const E>(mine), std::span<E>(gathered), root);
        w.all_gather(std::span<const E>(mine), std::span<E>(everyone));
        std::vector<E> expected;
        for (int r = 0; r < N; ++r) expected.insert(expected.end(), all[r].begin(), all[r].end());
        if (me == root) expect(same(gathered, expected), "gather");
        expect(same(everyone, expected), "all_gather");

        // Root scatters the concatenation: rank r gets rank r's elements back.
        std::vector<E> part(count);
        w.scatter(std::span<const E>(expected), std::span<E>(part), root);
        expect(same(part, mine), "scatter");
    }));
}
}  // namespace

TEST_CASE("collectives on elements of 1 B, 3 B, 1 MiB and 4 MiB") {
    // A combining function returns its element by value, so a 4 MiB element puts a few
    // 4 MiB temporaries on the stack: more than the usual 8 MiB limit allows.
    rlimit stack{};
    getrlimit(RLIMIT_STACK, &stack);
    if (stack.rlim_cur != RLIM_INFINITY && stack.rlim_cur < (64 << 20)) {
        stack.rlim_cur = std::min<rlim_t>(64 << 20, stack.rlim_max);
        setrlimit(RLIMIT_STACK, &stack);
    }
    const int size = GENERATE(1, 2, 3, 4);
    INFO("ranks = " << size);
    SECTION("1 B") {
        check_all<1>(size, 300000);
    }
    SECTION("3 B") {
        check_all<3>(size, 200001);
    }
    SECTION("1 MiB") {
        check_all<(1 << 20)>(size, 3);
    }
    SECTION("4 MiB") {
        check_all<(4 << 20)>(size, 2);
    }
}
