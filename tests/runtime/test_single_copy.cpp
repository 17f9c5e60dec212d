// The single copy of large messages (a sender writes straight into a recv that waits for
// it) against the ring path it falls back to: the same values, order per (source, tag),
// any_source, probe then recv, buffers too small, every alignment; the ring when the
// system refuses the single copy; and a peer dying around one, with no hang and no leak.
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <spmd/detail/single_copy.hpp>
#include <spmd/detail/wait.hpp>
#include <spmd/launch.hpp>
#include <thread>
#include <vector>

#include "../support/expect.hpp"
#include "../support/refuse.hpp"
#include "../support/run.hpp"

namespace {
using spmd::detail::single_copies;
using test::expect;
using test::refuse;

std::vector<std::byte> pattern(std::size_t n, std::uint32_t seed) {
    std::vector<std::byte> v(n);
    for (std::size_t i = 0; i < n; ++i) v[i] = std::byte((i * 2654435761u ^ seed) >> 7);
    return v;
}

constexpr int data_tag = 5, stop_tag = 9;

// Rank 0 sends rank 1 large messages, each acknowledged, until one went by single copy
// (rank 1 is back in its recv before rank 0 sends, nearly always at once) and, with
// `until_read`, rank 1 also read one half of a split itself, or `rounds` messages went,
// then a last one (which may go either way). Rank 1 checks every byte. Returns this
// rank's count of single copies (rank 0's writes, rank 1's reads).
std::uint64_t exchange(spmd::World& world, std::size_t bytes, int rounds, bool until_read = false) {
    const std::uint64_t before = single_copies();
    if (world.rank() == 0) {
        std::uint64_t ack[2] = {};  // message index, rank 1's reads so far
        for (int i = 0; i < rounds && (single_copies() == before || (until_read && !ack[1])); ++i) {
            world.send(1, data_tag, pattern(bytes, std::uint32_t(i)));
            world.recv(1, data_tag, std::span<std::uint64_t>(ack, 2));
            expect(ack[0] == std::uint64_t(i), "wrong ack");
        }
        world.send(1, stop_tag, std::vector<std::byte>(bytes));
    } else if (world.rank() == 1) {
        std::vector<std::byte> in(bytes + 4096);
        for (int i = 0;; ++i) {
            const spmd::Status s = world.recv(0, spmd::any_tag, std::span(in));
            if (s.tag == stop_tag) break;
            expect(s.bytes == bytes, "wrong size");
            expect(std::vector<std::byte>(in.begin(), in.begin() + std::ptrdiff_t(bytes)) ==
                       pattern(bytes, std::uint32_t(i)),
                   "wrong bytes in message " + std::to_string(i));
            const std::uint64_t ack[2] = {std::uint64_t(i), single_copies() - before};
            world.send(0, data_tag, std::span<const std::uint64_t>(ack, 2));
        }
    }
    return single_copies() - before;
}

}  // namespace

TEST_CASE("a large message into a waiting recv goes by single copy, byte for byte") {
    const std::size_t bytes =
        GENERATE(std::size_t(spmd::detail::single_copy_bytes), spmd::detail::single_copy_bytes + 1,
                 std::size_t(1) << 20, (std::size_t(16) << 20) + 3);
    INFO("bytes = " << bytes);
    REQUIRE_NOTHROW(spmd::launch(2, [&](spmd::World& world) {
        const std::uint64_t copies = exchange(world, bytes, 1000);
        if (world.rank() == 0) expect(copies >= 1, "never by single copy");
    }));
}

TEST_CASE("below the threshold, and into a buffer too small, a message takes the ring") {
    REQUIRE_NOTHROW(spmd::launch(2, [&](spmd::World& world) {
        const std::uint64_t copies = exchange(world, spmd::detail::single_copy_bytes - 1, 50);
        if (world.rank() == 0) expect(copies == 0, "a small message went by single copy");
        if (world.rank() == 0) {
            for (int i = 0; i < 20; ++i) {
                world.send(1, 3, pattern(1 << 20, 3));
                world.barrier();
            }
            expect(single_copies() == 0, "wrote past a recv's buffer");
        } else {
            for (int i = 0; i < 20; ++i) {
                std::vector<std::byte> small(64 << 10);
                bool threw = false;
                try {
                    world.recv(0, 3, std::span(small));
                } catch (const spmd::Error& e) {
                    threw = std::string(e.what()).find("more than the buffer's 65536") !=
                            std::string::npos;
                }
                expect(threw, "no error for a small buffer");
                expect(world.recv_vector<std::byte>(0, 3) == pattern(1 << 20, 3), "kept");
                world.barrier();
            }
        }
    }));
}

TEST_CASE("single copies and ring transfers mixed keep order, values and alignment") {
    // Ranks 1 and 2 send rank 0 large messages on two tags, of odd sizes, from every
    // offset to a 64-byte line; rank 0 takes them by any_source, by (source, tag), and by
    // probe then recv, into buffers at every offset, checking each against its sequence.
    constexpr int per_tag = 40;
    REQUIRE_NOTHROW(spmd::launch(3, [&](spmd::World& world) {
        auto size_of = [](int source, int tag, int i) {
            return (std::size_t(40) << 10) + std::size_t(source * 7777 + tag * 333 + i * 4099);
        };
        auto seed_of = [](int source, int tag, int i) {
            return std::uint32_t(source * 100000 + tag * 1000 + i);
        };
        if (world.rank() != 0) {
            std::vector<std::byte> out(1 << 20);
            for (int i = 0; i < per_tag; ++i)
                for (int tag : {0, 1}) {
                    const std::size_t n = size_of(world.rank(), tag, i);
                    const std::size_t at = std::size_t(i * 13 + tag) % 64;
                    const auto want = pattern(n, seed_of(world.rank(), tag, i));
                    std::memcpy(out.data() + at, want.data(), n);
                    // Pacing only: rank 0 is then mostly blocked in a recv (single copy),
                    // while the other messages queue up (ring).
                    if (i % 2) usleep(1000);
                    world.send(0, tag, std::span<const std::byte>(out.data() + at, n));
                }
            world.barrier();  // rank 0 has taken every message
            const std::uint64_t copies = single_copies();
            world.send(0, 7, std::span<const std::uint64_t>(&copies, 1));
            return;
        }
        int next[3][2] = {};
        std::vector<std::byte> in((1 << 20) + 256);
        auto check = [&](const spmd::Status& s, const std::byte* at) {
            const int i = next[s.source][s.tag]++;
            expect(s.bytes == size_of(s.source, s.tag, i),
                   "message " + std::to_string(i) + " from " + std::to_string(s.source) + " tag " +
                       std::to_string(s.tag) + " overtaken");
            expect(
                std::memcmp(at, pattern(s.bytes, seed_of(s.source, s.tag, i)).data(), s.bytes) == 0,
                "wrong bytes");
            expect(at[s.bytes] == std::byte(0xEE), "wrote past the message");
        };
        for (int k = 0; k < 4 * per_tag; ++k) {
            const std::size_t at = std::size_t(k * 17) % 64;
            std::memset(in.data(), 0xEE, in.size());
            const std::span<std::byte> buffer(in.data() + at, in.size() - 128);
            spmd::Status s;
            switch (k % 3) {
                case 0:
                    s = world.recv(spmd::any_source, spmd::any_tag, buffer);
                    break;
                case 1: {
                    const int source = 1 + k % 2, tag = (k / 2) % 2;
                    if (next[source][tag] == per_tag) {
                        --k;  // that sequence is done: take any other
                        s = world.recv(spmd::any_source, spmd::any_tag, buffer);
                        ++k;
                    } else {
                        s = world.recv(source, tag, buffer);
                    }
                    break;
                }
                default: {
                    const spmd::Status probed = world.probe(spmd::any_source, spmd::any_tag);
                    s = world.recv(probed.source, probed.tag, buffer);
                    expect(
                        s.source == probed.source && s.tag == probed.tag && s.bytes == probed.bytes,
                        "probe and recv disagree");
                }
            }
            check(s, buffer.data());
        }
        for (int source : {1, 2})
            for (int tag : {0, 1}) expect(next[source][tag] == per_tag, "a message missing");
        world.barrier();
        std::uint64_t copies[2] = {};
        for (int source : {1, 2}) world.recv(source, 7, std::span(&copies[source - 1], 1));
        expect(copies[0] + copies[1] > 0, "no message went by single copy");
    }));
}

TEST_CASE("a message from the split size on is copied half by each rank") {
    // Rank 1's own single copies are the halves it read; below the split size the sender
    // writes the whole payload and rank 1 reads nothing. Below split_crowded_bytes a split
    // needs a core for each rank (and rank 1 awake: exchange retries until it was).
    using spmd::detail::split_copy_bytes, spmd::detail::split_crowded_bytes;
    const std::size_t bytes =
        GENERATE(split_copy_bytes - 1, split_copy_bytes, split_copy_bytes + 1,
                 split_crowded_bytes - 1, split_crowded_bytes, (std::size_t(3) << 20) + 5);
    INFO("bytes = " << bytes);
    const bool both_copy = bytes >= split_crowded_bytes ||
                           (bytes >= split_copy_bytes && spmd::detail::usable_cores() >= 2);
    REQUIRE_NOTHROW(spmd::launch(2, [&](spmd::World& world) {
        const std::uint64_t copies = exchange(world, bytes, 1000, both_copy);
        if (world.rank() == 0) expect(copies >= 1, "never by single copy");
        if (world.rank() == 1 && bytes < split_copy_bytes)
            expect(copies == 0, "the receiver read a message below the split size");
        if (world.rank() == 1 && both_copy) expect(copies >= 1, "the receiver never read its half");
    }));
}

TEST_CASE("with more ranks awake than cores, a mid-size message is not split") {
    // Both ranks on one core: a split's sender would wait for a receiver that has no core,
    // so below split_crowded_bytes the sender writes the whole message (or it takes the
    // ring); from it on the split still pays.
    using spmd::detail::split_copy_bytes, spmd::detail::split_crowded_bytes;
    // A copy, not the variable: Catch2 makes an lvalue first argument a generator of
    // references, which read garbage under ASan.
    const std::size_t bytes = GENERATE(std::size_t(split_copy_bytes), split_crowded_bytes - 1);
    INFO("bytes = " << bytes);
    cpu_set_t all, one;
    REQUIRE(sched_getaffinity(0, sizeof all, &all) == 0);
    CPU_ZERO(&one);
    for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu)
        if (CPU_ISSET(cpu, &all)) {
            CPU_SET(cpu, &one);
            break;
        }
    REQUIRE(sched_setaffinity(0, sizeof one, &one) == 0);
    std::string failure;
    try {
        spmd::launch(2, [&](spmd::World& world) {
            const std::uint64_t copies = exchange(world, bytes, 50);
            if (world.rank() == 1) expect(copies == 0, "the receiver read half a message");
        });
    } catch (const spmd::Error& e) {
        failure = e.what();
    }
    REQUIRE(sched_setaffinity(0, sizeof all, &all) == 0);
    CHECK(failure == "");
}

TEST_CASE("messages around each threshold arrive whole from and into every offset") {
    // One below, at and one above the single copy, the split and the crowded-split sizes,
    // from each of the 64 offsets to a cache line into another offset, with guard bytes
    // on both sides of the receive buffer: the ring, one write and the split (whichever
    // each message takes) place every byte and nothing else. Rank 1 posts each recv
    // before rank 0 sends, nearly always, so the single copy and the split get their turns.
    using namespace spmd::detail;
    std::vector<std::size_t> sizes;
    for (std::size_t threshold : {single_copy_bytes, split_copy_bytes, split_crowded_bytes})
        for (std::size_t bytes : {threshold - 1, threshold, threshold + 1}) sizes.push_back(bytes);
    REQUIRE_NOTHROW(spmd::launch(2, [&](spmd::World& world) {
        const std::uint64_t before = single_copies();
        const std::size_t largest = split_crowded_bytes + 1;
        std::vector<std::byte> out(largest + 64), in(largest + 192);
        for (std::size_t bytes : sizes)
            for (std::size_t offset = 0; offset < 64; ++offset) {
                const auto seed = std::uint32_t(bytes * 64 + offset);
                const auto want = pattern(bytes, seed);
                if (world.rank() == 0) {
                    std::byte* from = out.data() + offset;
                    std::memcpy(from, want.data(), bytes);
                    world.send(1, data_tag, std::span<const std::byte>(from, bytes));
                    int ack = 0;
                    world.recv(1, data_tag, std::span<int>(&ack, 1));
                    expect(ack == int(offset), "wrong ack");
                } else if (world.rank() == 1) {
                    const std::size_t at = 64 + (offset * 37) % 64;
                    std::memset(in.data(), 0xEE, in.size());
                    const spmd::Status s =
                        world.recv(0, data_tag, std::span<std::byte>(in.data() + at, bytes + 64));
                    const std::string where =
                        std::to_string(bytes) + " bytes from offset " + std::to_string(offset);
                    expect(s.bytes == bytes, "wrong size at " + where);
                    expect(std::memcmp(in.data() + at, want.data(), bytes) == 0,
                           "wrong bytes at " + where);
                    const auto outside = [&](std::size_t from, std::size_t to) {
                        return std::any_of(in.begin() + std::ptrdiff_t(from),
                                           in.begin() + std::ptrdiff_t(to),
                                           [](std::byte b) { return b != std::byte(0xEE); });
                    };
                    expect(!outside(0, at) && !outside(at + bytes, in.size()),
                           "wrote outside the message at " + where);
                    const int ack = int(offset);
                    world.send(0, data_tag, std::span<const int>(&ack, 1));
                }
            }
        // Rank 0's writes (whole or first halves), rank 1's reads (second halves).
        expect(single_copies() > before, "no single copy in either direction");
    }));
}

TEST_CASE("where the system refuses the single copy, messages take the ring") {
    // Either half of a split copy, or both, refused: what was refused follows through the
    // ring, byte for byte (exchange checks every byte), and the other half still goes.
    const bool sender_refuses = GENERATE(true, false), receiver_refuses = GENERATE(true, false);
    INFO("sender refuses writev: " << sender_refuses
                                   << ", receiver refuses readv: " << receiver_refuses);
    REQUIRE_NOTHROW(spmd::launch(2, [&](spmd::World& world) {
        if (world.rank() == 0 && sender_refuses) refuse(SYS_process_vm_writev);
        if (world.rank() == 1 && receiver_refuses) refuse(SYS_process_vm_readv);
        const std::uint64_t copies = exchange(world, std::size_t(1) << 20, 200);
        if (world.rank() == 0 && sender_refuses) expect(copies == 0, "a write got through");
        if (world.rank() == 0 && !sender_refuses) expect(copies >= 1, "no write went");
        if (world.rank() == 1 && receiver_refuses) expect(copies == 0, "a read got through");
        if (world.rank() == 1 && !receiver_refuses) expect(copies >= 1, "no read went");
    }));
}

TEST_CASE("a peer dying around a single copy hangs no one and leaks nothing") {
    enum Death { receiver_before, receiver_during, sender_during };
    const Death death = GENERATE(receiver_before, receiver_during, sender_during);
    INFO((death == receiver_before   ? "the receiver dies in its recv"
          : death == receiver_during ? "the receiver dies mid-read (or just before)"
                                     : "the sender dies mid-write"));
    const bool receiver_dies = death != sender_during;
    std::string what;
    try {
        spmd::launch(2, [&](spmd::World& world) {
            const std::size_t bytes = std::size_t(64) << 20;
            std::vector<std::byte> buffer(bytes, std::byte(1));
            if (world.rank() == 1) {
                const pid_t me = getpid();
                world.send(0, 1, std::span<const pid_t>(&me, 1));
                std::thread killer;
                if (death == receiver_during)
                    killer = std::thread([] {
                        usleep(52'000);
                        raise(SIGKILL);
                    });
                world.recv(0, 2, std::span(buffer));
                if (killer.joinable()) killer.join();
                if (receiver_dies) throw std::runtime_error("receiver survived");
                return;
            }
            pid_t receiver = 0;
            world.recv(1, 1, std::span<pid_t>(&receiver, 1));
            usleep(50'000);  // rank 1 is blocked in its recv by now (if not, the ring)
            if (death == receiver_before) {
                kill(receiver, SIGKILL);
                world.send(1, 2, buffer);  // into a dead rank's posted recv: must fail
            } else if (death == receiver_during) {
                world.send(1, 2, buffer);  // the receiver dies while it reads: must fail
                world.barrier();
            } else {
                std::thread killer([] {
                    usleep(2'000);
                    raise(SIGKILL);
                });
                world.send(1, 2, buffer);
                killer.join();
            }
        });
    } catch (const spmd::Error& e) {
        what = e.what();
    }
    INFO(what);
    CHECK_THAT(what, Catch::Matchers::Contains(receiver_dies ? "rank 1" : "rank 0"));
    CHECK(test::segments_of(getpid()) == 0);
}
