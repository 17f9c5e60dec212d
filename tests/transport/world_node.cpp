// node() and shared arrays: every rank of a host agrees on the host's ranks, the hosts
// together hold every rank once, and a shared array is one array for the ranks of a host
// (zeroed, and what one writes the others read after a barrier). Queue, Event and Lock,
// which stand on shared arrays and the host's control segment, work between them.
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
#include <spmd/event.hpp>
#include <spmd/lock.hpp>
#include <spmd/queue.hpp>
#include <string>
#include <vector>

#include "spmd_main.hpp"

TEST_CASE("node() describes hosts that every rank agrees on") {
    auto& w = test::world();
    const spmd::Node& node = w.node();
    REQUIRE(node.count >= 1);
    REQUIRE(node.index >= 0);
    REQUIRE(node.index < node.count);
    REQUIRE(!node.ranks.empty());
    CHECK(std::is_sorted(node.ranks.begin(), node.ranks.end()));
    REQUIRE(node.local_rank >= 0);
    REQUIRE(node.local_rank < int(node.ranks.size()));
    CHECK(node.ranks[std::size_t(node.local_rank)] == w.rank());

    // Each rank's host index and the lowest rank of its host, on every rank.
    const int N = w.size();
    struct Seen {
        int index, first, size, count;
    };
    const Seen mine{node.index, node.ranks.front(), int(node.ranks.size()), node.count};
    std::vector<Seen> all(static_cast<std::size_t>(N));
    w.all_gather(std::span<const Seen>(&mine, 1), std::span<Seen>(all));
    std::vector<int> per_host(std::size_t(node.count), 0);
    for (int r = 0; r < N; ++r) {
        const Seen& s = all[std::size_t(r)];
        CHECK(s.count == node.count);
        // Same host index <=> same lowest rank <=> listed in that host's ranks.
        const bool here = std::binary_search(node.ranks.begin(), node.ranks.end(), r);
        CHECK(here == (s.index == node.index));
        CHECK(here == (s.first == node.ranks.front()));
        ++per_host[std::size_t(s.index)];
    }
    for (int h = 0; h < node.count; ++h) CHECK(per_host[std::size_t(h)] >= 1);
    CHECK(all[0].index == 0);  // the host of rank 0 comes first
}

TEST_CASE("a shared array is one zeroed array for the ranks of a host") {
    auto& w = test::world();
    const auto& node = w.node();
    auto a = w.shared<std::int64_t>("slots", std::size_t(w.size()) * 1000);
    for (std::size_t i = 0; i < a.size(); ++i) REQUIRE(a[i] == 0);
    w.barrier();
    for (std::size_t i = 0; i < 1000; ++i) a[std::size_t(w.rank()) * 1000 + i] = w.rank() * 7 + 1;
    w.barrier();
    for (int r = 0; r < w.size(); ++r) {
        const bool here = std::binary_search(node.ranks.begin(), node.ranks.end(), r);
        for (std::size_t i = 0; i < 1000; i += 111)
            CHECK(a[std::size_t(r) * 1000 + i] == (here ? r * 7 + 1 : 0));
    }
}

TEST_CASE("a shared array starts on a page, whatever its size and type") {
    auto& w = test::world();
    const auto page = std::uintptr_t(sysconf(_SC_PAGESIZE));
    // Sizes that end mid-page, so that the ranks' shares of the zeroing do too.
    for (std::size_t n :
         {std::size_t(1), std::size_t(100), std::size_t(4096), std::size_t(1 << 20) + 13}) {
        auto bytes = w.shared<std::uint8_t>("bytes" + std::to_string(n), n);
        CHECK(reinterpret_cast<std::uintptr_t>(bytes.data()) % page == 0);
        CHECK(std::all_of(bytes.begin(), bytes.end(), [](std::uint8_t b) { return b == 0; }));
    }
    struct alignas(64) Line {
        std::uint8_t b[64];
    };
    auto lines = w.shared<Line>("lines", 3);
    CHECK(reinterpret_cast<std::uintptr_t>(lines.data()) % alignof(Line) == 0);
    // The page-aligned array is still one array for the host: the last byte of the first
    // host rank's write is what every rank of the host reads.
    auto last = w.shared<std::uint8_t>("last", 5000);
    if (w.node().local_rank == 0) last[4999] = 42;
    w.barrier();
    CHECK(last[4999] == 42);
}

TEST_CASE("Queue, Event and Lock work between the ranks of a host") {
    auto& w = test::world();
    const auto& node = w.node();
    const int host_ranks = int(node.ranks.size());
    spmd::Queue<std::int64_t> q(w, "q", 1000);  // room for all: the producer fills it first
    spmd::Lock lock(w, "lock");
    spmd::Event go(w, "go");
    auto total = w.shared<std::int64_t>("total", 1);
    w.barrier();
    if (node.local_rank == 0) {
        for (std::int64_t i = 1; i <= 1000; ++i) q.push(i);
        q.close();
        go.set();
    }
    go.wait();
    std::int64_t sum = 0;
    while (auto item = q.pop()) sum += *item;
    {
        std::lock_guard guard(lock);
        total[0] += sum;
    }
    w.barrier();
    CHECK(total[0] == 1000 * 1001 / 2);
    CHECK(host_ranks >= 1);
}
