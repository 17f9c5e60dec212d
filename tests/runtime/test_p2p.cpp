// Point-to-point: ordering per (source, tag), any-source/any-tag, every size from 0 bytes
// to 256 MiB, buffers too small, and a dead peer that must not leave a receiver hanging.
#include <catch2/catch.hpp>
#include <cstdint>
#include <numeric>
#include <spmd/detail/job.hpp>
#include <spmd/launch.hpp>
#include <vector>

#include "../support/expect.hpp"

using Catch::Matchers::Contains;

namespace {
using test::expect;
std::vector<std::uint32_t> pattern(std::size_t n, std::uint32_t seed) {
    std::vector<std::uint32_t> v(n);
    for (std::size_t i = 0; i < n; ++i) v[i] = std::uint32_t(i * 2654435761u) ^ seed;
    return v;
}
}  // namespace

TEST_CASE("every rank hears from every other rank") {
    for (int size = 1; size <= 17; ++size) {
        INFO("ranks = " << size);
        REQUIRE_NOTHROW(spmd::launch(size, [](spmd::World& world) {
            for (int to = 0; to < world.size(); ++to)
                if (to != world.rank()) world.send(to, 3, std::vector<int>{world.rank(), to});
            std::vector<int> heard(std::size_t(world.size()), 0);
            for (int k = 0; k < world.size() - 1; ++k) {
                std::vector<int> msg(2);
                const auto status = world.recv(spmd::any_source, 3, msg);
                expect(status.source == msg[0] && msg[1] == world.rank() && status.tag == 3 &&
                           status.count<int>() == 2,
                       "wrong envelope");
                ++heard[std::size_t(msg[0])];
            }
            for (int r = 0; r < world.size(); ++r)
                expect(heard[std::size_t(r)] == (r == world.rank() ? 0 : 1), "missed a rank");
        }));
    }
}

TEST_CASE("messages with one source and tag never overtake each other") {
    REQUIRE_NOTHROW(spmd::launch(4, [](spmd::World& world) {
        const int per_tag = 3000;  // far more than an inbox holds: senders must wait
        if (world.rank() != 0) {
            for (int i = 0; i < per_tag; ++i)
                for (int tag : {0, 1}) {
                    // Every 100th message is large, so it goes through the pair ring.
                    std::vector<int> msg(i % 100 == 0 ? 5000 : 2, i);
                    world.send(0, tag, msg);
                }
            return;
        }
        std::vector<std::vector<int>> next(4, std::vector<int>(2, 0));
        // Take tag 1 first from everyone, then any tag: order per (source, tag) holds.
        for (int i = 0; i < 10; ++i)
            for (int src = 1; src < 4; ++src) {
                auto msg = world.recv_vector<int>(src, 1);
                expect(msg[0] == next[std::size_t(src)][1]++, "tag 1 overtaken");
            }
        for (int k = 0; k < 3 * 2 * per_tag - 30; ++k) {
            spmd::Status status;
            auto msg = world.recv_vector<int>(spmd::any_source, spmd::any_tag, &status);
            int& want = next[std::size_t(status.source)][std::size_t(status.tag)];
            expect(msg[0] == want++, "message from " + std::to_string(status.source) + " tag " +
                                         std::to_string(status.tag) + " overtaken");
            expect(msg.size() == (msg[0] % 100 == 0 ? 5000u : 2u), "wrong length");
        }
    }));
}

TEST_CASE("a receiver that reads a message and then waits elsewhere frees its cell") {
    // The receiver hands read inbox cells back to senders lazily (after its next send, or
    // before any wait): here the sender's last message needs the very cell of the first
    // one, and the receiver's next wait is a barrier that needs the sender.
    constexpr int messages = int(spmd::detail::Inbox::cells) + 1;
    for (int round = 0; round < 3; ++round)
        REQUIRE_NOTHROW(spmd::launch(2, [&](spmd::World& world) {
            if (world.rank() == 1) {
                for (int i = 0; i < messages; ++i) world.send(0, 4, std::vector<int>{i});
                world.barrier();
                return;
            }
            std::vector<int> msg(1);
            world.recv(1, 4, msg);
            expect(msg[0] == 0, "first message");
            world.barrier();
            for (int i = 1; i < messages; ++i) {
                world.recv(1, 4, msg);
                expect(msg[0] == i, "messages out of order");
            }
        }));
}

TEST_CASE("sizes from 0 bytes to 256 MiB arrive intact") {
    REQUIRE_NOTHROW(spmd::launch(2, [](spmd::World& world) {
        const std::size_t sizes[] = {0,
                                     1,
                                     495,
                                     496,
                                     497,
                                     4096,
                                     16385,
                                     65536,
                                     (1u << 20) + 7,
                                     std::size_t(64) << 20};  // in 4-byte words
        for (std::size_t n : sizes) {
            if (world.rank() == 0) {
                world.send(1, 9, pattern(n, std::uint32_t(n)));
                std::vector<std::uint32_t> back(n);
                const auto status = world.recv(1, 10, back);
                expect(status.bytes == n * 4 && back == pattern(n, ~std::uint32_t(n)), "echo");
            } else {
                std::vector<std::uint32_t> got(n + 3);  // room to spare is fine
                const auto status = world.recv(0, 9, got);
                expect(status.count<std::uint32_t>() == n, "count");
                got.resize(n);
                expect(got == pattern(n, std::uint32_t(n)), "payload of " + std::to_string(n));
                world.send(0, 10, pattern(n, ~std::uint32_t(n)));
            }
        }
    }));
}

TEST_CASE("a message to oneself, and a large one received after a later small one") {
    REQUIRE_NOTHROW(spmd::launch(2, [](spmd::World& world) {
        world.send(world.rank(), 1, pattern(1 << 20, 5));  // to itself: never blocks
        expect(world.recv_vector<std::uint32_t>(world.rank(), 1) == pattern(1 << 20, 5), "self");
        if (world.rank() == 0) {
            world.send(1, 7, pattern(3 << 20, 7));  // 12 MiB: more than the ring holds
            world.send(1, 5, pattern(10, 5));
        } else {
            expect(world.recv_vector<std::uint32_t>(0, 5) == pattern(10, 5), "small first");
            expect(world.probe(0, 7).bytes == (std::size_t(3) << 20) * 4, "probe");
            expect(world.recv_vector<std::uint32_t>(0, 7) == pattern(3 << 20, 7), "large later");
        }
    }));
}

TEST_CASE("a buffer too small is an error, and the message waits for a larger one") {
    REQUIRE_NOTHROW(spmd::launch(2, [](spmd::World& world) {
        if (world.rank() == 0) {
            world.send(1, 2, pattern(100, 1));
            return;
        }
        std::vector<std::uint32_t> small(10);
        bool threw = false;
        try {
            world.recv(0, 2, small);
        } catch (const spmd::Error& e) {
            threw = std::string(e.what()).find("400 bytes, more than the buffer's 40") !=
                    std::string::npos;
        }
        expect(threw, "no error for a small buffer");
        expect(world.recv_vector<std::uint32_t>(0, 2) == pattern(100, 1), "kept");
    }));
}

TEST_CASE("bad ranks and tags are errors") {
    spmd::World world;
    std::vector<int> v(1);
    CHECK_THROWS_WITH(world.send(1, 0, v), Contains("no rank 1"));
    CHECK_THROWS_WITH(world.send(0, -2, v), Contains("tags are >= 0"));
    CHECK_THROWS_WITH(world.recv(5, 0, v), Contains("no rank 5"));
}

TEST_CASE("a rank that dies leaves no peer hanging in recv or send") {
    REQUIRE_THROWS_WITH(spmd::launch(3,
                                     [](spmd::World& world) {
                                         if (world.rank() == 2) throw std::runtime_error("gone");
                                         std::vector<int> v(1);
                                         if (world.rank() == 0) world.recv(2, 0, v);
                                         // rank 1: a large send that rank 2 never takes
                                         world.send(2, 0, pattern(std::size_t(8) << 20, 0));
                                     }),
                        "rank 2 failed: gone");
}
