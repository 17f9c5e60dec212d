// Point-to-point: a ring of messages of several sizes, any_source/any_tag with the status
// they report, probe, a buffer too small (an error; the message stays), messages to oneself.
#include <catch2/catch.hpp>
#include <cstdint>
#include <set>
#include <vector>

#include "spmd_main.hpp"

namespace {
std::vector<std::uint32_t> pattern(std::size_t n, std::uint32_t seed) {
    std::vector<std::uint32_t> v(n);
    for (std::size_t i = 0; i < n; ++i) v[i] = seed * 2654435761u + std::uint32_t(i);
    return v;
}
}  // namespace

TEST_CASE("a ring of messages of every size arrives intact and in order") {
    auto& w = test::world();
    const int N = w.size(), me = w.rank();
    const int next = (me + 1) % N, prev = (me + N - 1) % N;
    for (std::size_t n :
         {std::size_t(0), std::size_t(2), std::size_t(16384), std::size_t(300000)}) {
        INFO("n = " << n);
        if (me % 2 == 0) {
            w.send(next, 3, pattern(n, std::uint32_t(me)));
            w.send(next, 3, pattern(n, std::uint32_t(me) + 100));
        }
        spmd::Status s;
        const auto first = w.recv_vector<std::uint32_t>(prev, 3, &s);
        CHECK(s.source == prev);
        CHECK(s.tag == 3);
        CHECK(s.bytes == n * 4);
        CHECK(first == pattern(n, std::uint32_t(prev)));
        CHECK(w.recv_vector<std::uint32_t>(prev, 3) == pattern(n, std::uint32_t(prev) + 100));
        if (me % 2 == 1) {
            w.send(next, 3, pattern(n, std::uint32_t(me)));
            w.send(next, 3, pattern(n, std::uint32_t(me) + 100));
        }
        w.barrier();
    }
}

TEST_CASE("any_source and any_tag receive from every rank, with their status") {
    auto& w = test::world();
    const int N = w.size(), me = w.rank();
    if (me != 0) {
        w.send(0, 10 + me, std::vector<int>{me, me * me});
    } else {
        std::set<int> seen;
        for (int k = 1; k < N; ++k) {
            const spmd::Status p = w.probe(spmd::any_source, spmd::any_tag);
            CHECK(p.tag == 10 + p.source);
            CHECK(p.bytes == 2 * sizeof(int));
            std::vector<int> got(2);
            const spmd::Status s = w.recv(spmd::any_source, spmd::any_tag, got);
            CHECK(s.tag == 10 + s.source);
            CHECK(got == std::vector<int>{s.source, s.source * s.source});
            seen.insert(s.source);
        }
        CHECK(int(seen.size()) == N - 1);
    }
    w.barrier();
}

TEST_CASE("a buffer too small is an error and the message stays") {
    auto& w = test::world();
    const int N = w.size(), me = w.rank();
    const int to = (me + 1) % N, from = (me + N - 1) % N;
    w.send(to, 7, pattern(100, 9));  // to itself when alone
    std::vector<std::uint32_t> small(10);
    CHECK_THROWS_WITH(w.recv(from, 7, small),
                      "recv: the message from rank " + std::to_string(from) +
                          " with tag 7 has 400 bytes, more than the buffer's 40 (use probe or "
                          "recv_vector to size it)");
    CHECK(w.recv_vector<std::uint32_t>(from, 7) == pattern(100, 9));
    w.send(me, 8, pattern(1 << 20, 5));  // to itself: never blocks
    CHECK(w.recv_vector<std::uint32_t>(me, 8) == pattern(1 << 20, 5));
    CHECK_THROWS_WITH(w.send(N, 1, pattern(1, 1)),
                      "send: no rank " + std::to_string(N) + " in a world of " + std::to_string(N));
    w.barrier();
}
