// spmd::Queue: every pushed item is popped exactly once, in order per producer, for several
// producer/consumer counts; close() drains, then tells every consumer; join() waits for
// task_done(); full and empty edges; a dead rank leaves nobody blocked in push, pop or join.
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <cstdint>
#include <cstdlib>
#include <spmd/launch.hpp>
#include <spmd/queue.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "../support/expect.hpp"

using Catch::Matchers::Contains;

namespace {

using test::expect;

struct Item {
    std::uint32_t producer;
    std::uint32_t check;  // a function of (producer, seq): catches torn or stale slots
    std::uint64_t seq;
};

std::uint64_t mix(std::uint64_t x) {  // splitmix64's finaliser
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

Item make_item(std::uint32_t producer, std::uint64_t seq) {
    return {producer, std::uint32_t(mix(seq * 64 + producer)), seq};
}

std::uint64_t share_of(std::uint64_t items, int parts, int part) {
    return items / std::uint64_t(parts) + (std::uint64_t(part) < items % std::uint64_t(parts));
}

// P producers push (p, 0..n_p) and close once the last is done; C consumers pop until
// closed. Each consumer must see each producer's items in increasing order (tickets are
// FIFO), and the counts and sums of all consumers together must be the pushed ones.
// Odd-numbered producers and consumers use try_push/try_pop first, so both paths mix.
void producers_consumers(int producers, int consumers, std::uint64_t items, std::size_t capacity) {
    spmd::launch(producers + consumers, [=](spmd::World& world) {
        spmd::Queue<Item> queue(world, "items", capacity);
        auto finished = world.shared<std::uint32_t>("finished producers", 1);
        // Per consumer and producer: count, sum of seq, sum of mix(seq).
        auto tallies =
            world.shared<std::uint64_t>("tallies", std::size_t(consumers * producers * 3));
        const int rank = world.rank();
        if (rank < producers) {
            const std::uint64_t n = share_of(items, producers, rank);
            for (std::uint64_t s = 0; s < n; ++s) {
                const Item item = make_item(std::uint32_t(rank), s);
                if (rank % 2 == 0 || !queue.try_push(item)) queue.push(item);
            }
            if (std::atomic_ref(finished[0]).fetch_add(1) + 1 == std::uint32_t(producers))
                queue.close();
        } else {
            const int c = rank - producers;
            std::vector<std::int64_t> last(std::size_t(producers), -1);
            std::vector<std::uint64_t> tally(std::size_t(producers) * 3, 0);
            for (;;) {
                std::optional<Item> item;
                if (c % 2 == 1) item = queue.try_pop();
                if (!item) item = queue.pop();
                if (!item) break;
                const auto p = std::size_t(item->producer);
                expect(p < std::size_t(producers),
                       "item from unknown producer " + std::to_string(p));
                expect(item->check == make_item(item->producer, item->seq).check,
                       "torn item from producer " + std::to_string(p));
                expect(std::int64_t(item->seq) > last[p],
                       "consumer " + std::to_string(c) + " saw producer " + std::to_string(p) +
                           "'s item " + std::to_string(item->seq) + " after " +
                           std::to_string(last[p]));
                last[p] = std::int64_t(item->seq);
                tally[p * 3] += 1;
                tally[p * 3 + 1] += item->seq;
                tally[p * 3 + 2] += mix(item->seq);
            }
            expect(!queue.pop(), "pop after the drain must keep reporting closed");
            for (std::size_t i = 0; i < tally.size(); ++i)
                tallies[std::size_t(c) * tally.size() + i] = tally[i];
        }
        world.barrier();
        if (rank != 0) return;
        for (int p = 0; p < producers; ++p) {
            const std::uint64_t n = share_of(items, producers, p);
            std::uint64_t count = 0, sum = 0, hashes = 0, expected_hashes = 0;
            for (int c = 0; c < consumers; ++c) {
                const std::size_t at = std::size_t(c * producers + p) * 3;
                count += tallies[at];
                sum += tallies[at + 1];
                hashes += tallies[at + 2];
            }
            for (std::uint64_t s = 0; s < n; ++s) expected_hashes += mix(s);
            expect(count == n, "producer " + std::to_string(p) + ": popped " +
                                   std::to_string(count) + " of " + std::to_string(n) + " items");
            expect(sum == n * (n - 1) / 2 && hashes == expected_hashes,
                   "producer " + std::to_string(p) + ": the popped items are not the pushed ones");
        }
    });
}

}  // namespace

TEST_CASE("a million items through 1 producer and 1 consumer, each popped once and in order") {
    REQUIRE_NOTHROW(producers_consumers(1, 1, 1'000'000, 1024));
}

TEST_CASE("P producers x C consumers: the popped multiset is the pushed one") {
    const auto [producers, consumers, items, capacity] =
        GENERATE(table<int, int, std::uint64_t, std::size_t>({
            {2, 2, 1'000'000, 1024},
            {1, 3, 1'000'000, 256},
            {3, 1, 1'000'000, 256},
            {3, 5, 1'000'000, 64},  // 8 ranks on 2 cores
            {2, 2, 20'000, 1},      // every push waits for a pop
            {1, 1, 50'000, 3},      // laps wrap often on a capacity that is no power of two
        }));
    INFO(producers << " producers, " << consumers << " consumers, " << items << " items, capacity "
                   << capacity);
    REQUIRE_NOTHROW(producers_consumers(producers, consumers, items, capacity));
}

TEST_CASE("producers and consumers that sleep in every wait lose no item") {
    // No polls and no yields: each wait on a full or empty queue goes to the futex at once.
    setenv("SPMD_WAIT_POLLS", "0", 1);
    setenv("SPMD_WAIT_YIELD_US", "0", 1);
    CHECK_NOTHROW(producers_consumers(2, 2, 100'000, 4));
    CHECK_NOTHROW(producers_consumers(1, 3, 50'000, 1));
    unsetenv("SPMD_WAIT_POLLS");
    unsetenv("SPMD_WAIT_YIELD_US");
}

TEST_CASE("a queue's edges: capacity, full, empty, closed (world of size 1)") {
    spmd::World world;
    CHECK_THROWS_AS(spmd::Queue<int>(world, "none", 0), spmd::UsageError);
    CHECK_THROWS_WITH(spmd::Queue<int>(world, "none", 0), Contains("queue 'none'"));

    spmd::Queue<int> one(world, "one", 1);
    CHECK(one.capacity() == 1);
    CHECK_FALSE(one.try_pop());
    CHECK(one.try_push(7));
    CHECK_FALSE(one.try_push(8));  // full
    CHECK(one.size_hint() == 1);
    CHECK(one.try_pop() == 7);
    CHECK_FALSE(one.try_pop());     // empty again
    for (int i = 0; i < 10; ++i) {  // lap after lap on one slot
        one.push(i);
        CHECK(one.pop() == i);
    }

    spmd::Queue<long> three(world, "three", 3);
    for (long round = 0; round < 5; ++round) {
        for (long i = 0; i < 3; ++i) CHECK(three.try_push(round * 10 + i));
        CHECK_FALSE(three.try_push(-1));
        for (long i = 0; i < 3; ++i) CHECK(three.pop() == round * 10 + i);
        CHECK_FALSE(three.try_pop());
    }
    three.push(1);
    three.push(2);
    CHECK_FALSE(three.closed());
    three.close();
    three.close();  // idempotent
    CHECK(three.closed());
    CHECK_THROWS_WITH(three.push(3), "push to queue 'three' after it was closed");
    CHECK_THROWS_AS((void)three.try_push(3), spmd::Error);
    CHECK(three.pop() == 1);  // what was pushed before close() still drains
    CHECK(three.try_pop() == 2);
    CHECK_FALSE(three.pop());
    CHECK_FALSE(three.pop());
    CHECK_FALSE(three.try_pop());

    spmd::Queue<int> tasks(world, "tasks", 4);
    tasks.join();  // nothing pushed: nothing to wait for
    tasks.push(1);
    tasks.push(2);
    (void)tasks.pop();
    tasks.task_done();
    (void)tasks.pop();
    tasks.task_done();
    tasks.join();
    CHECK_THROWS_WITH(tasks.task_done(),
                      "task_done() on queue 'tasks' called more times than items were pushed");
}

TEST_CASE("close wakes every blocked consumer after the last item, however many there are") {
    REQUIRE_NOTHROW(spmd::launch(5, [](spmd::World& world) {
        spmd::Queue<int> queue(world, "q", 8);
        auto popped = world.shared<std::uint32_t>("popped", 1);
        world.barrier();
        if (world.rank() == 0) {
            usleep(30'000);  // let the consumers block on the empty queue first
            for (int i = 0; i < 100; ++i) queue.push(i);
            queue.close();
            bool threw = false;
            try {
                queue.push(100);
            } catch (const spmd::Error& e) {
                threw = std::string(e.what()).find("queue 'q'") != std::string::npos;
            }
            expect(threw, "push after close must throw, naming the queue");
        } else {
            while (queue.pop()) std::atomic_ref(popped[0]).fetch_add(1);
            expect(!queue.pop(), "closed stays closed");
        }
        world.barrier();
        expect(popped[0] == 100, "popped " + std::to_string(popped[0]) + " of 100 items");
    }));
}

TEST_CASE("close racing pushes: every push that returned is delivered, no other item is") {
    REQUIRE_NOTHROW(spmd::launch(4, [](spmd::World& world) {
        spmd::Queue<std::uint64_t> queue(world, "q", 16);
        auto counts = world.shared<std::uint64_t>("counts", 4);  // pushed by 0, 1; popped by 3
        world.barrier();
        const int rank = world.rank();
        if (rank < 2) {
            std::uint64_t pushed = 0;
            try {
                for (;; ++pushed) queue.push(pushed);
            } catch (const spmd::Error&) {
            }
            counts[std::size_t(rank)] = pushed;
        } else if (rank == 2) {
            usleep(20'000);
            queue.close();
        } else {
            std::uint64_t popped = 0;
            while (queue.pop()) ++popped;
            counts[3] = popped;
        }
        world.barrier();
        expect(counts[0] + counts[1] == counts[3], std::to_string(counts[0]) + " + " +
                                                       std::to_string(counts[1]) + " pushed, " +
                                                       std::to_string(counts[3]) + " popped");
        expect(counts[3] > 0, "the close came before any push: make the test wait longer");
    }));
}

TEST_CASE("join returns only once every pushed item was marked done") {
    REQUIRE_NOTHROW(spmd::launch(4, [](spmd::World& world) {
        spmd::Queue<int> queue(world, "jobs", 16);
        auto processed = world.shared<std::uint32_t>("processed", 1);
        if (world.rank() == 0) {
            for (int i = 0; i < 1000; ++i) queue.push(i);
            queue.join();
            expect(std::atomic_ref(processed[0]).load() == 1000,
                   "join returned with " + std::to_string(processed[0]) + " of 1000 items done");
            queue.close();
        } else {
            while (auto job = queue.pop()) {
                if (*job % 100 == 0) usleep(1000);  // slow items: join must wait for them
                std::atomic_ref(processed[0]).fetch_add(1);
                queue.task_done();
            }
        }
    }));
}

TEST_CASE("queues are collective: names and capacities must match on every rank") {
    REQUIRE_THROWS_WITH(spmd::launch(2,
                                     [](spmd::World& world) {
                                         spmd::Queue<int> queue(world, "q",
                                                                world.rank() == 0 ? 4 : 5);
                                     }),
                        Contains("does not match rank 0's shared(\"queue 'q'\""));
}

TEST_CASE("a dead rank leaves nobody blocked in pop, push or join") {
    const int size = GENERATE(2, 4);
    SECTION("pop on an empty queue") {
        REQUIRE_THROWS_WITH(spmd::launch(size,
                                         [](spmd::World& world) {
                                             spmd::Queue<int> queue(world, "q", 4);
                                             world.barrier();
                                             if (world.rank() == 0) {
                                                 usleep(20'000);
                                                 throw std::runtime_error("producer gives up");
                                             }
                                             (void)queue.pop();
                                         }),
                            Contains("rank 0 failed: producer gives up"));
    }
    SECTION("push on a full queue") {
        REQUIRE_THROWS_WITH(spmd::launch(size,
                                         [](spmd::World& world) {
                                             spmd::Queue<int> queue(world, "q", 1);
                                             world.barrier();
                                             if (world.rank() == 0) {
                                                 usleep(20'000);
                                                 throw std::runtime_error("consumer gives up");
                                             }
                                             for (;;) queue.push(world.rank());
                                         }),
                            Contains("rank 0 failed: consumer gives up"));
    }
    SECTION("join with items never marked done") {
        REQUIRE_THROWS_WITH(spmd::launch(size,
                                         [](spmd::World& world) {
                                             spmd::Queue<int> queue(world, "q", 4);
                                             if (world.rank() == 0) {
                                                 queue.push(1);
                                                 queue.join();
                                             } else if (world.rank() == 1) {
                                                 (void)queue.pop();
                                                 usleep(20'000);
                                                 throw std::runtime_error("worker gives up");
                                             } else {
                                                 world.barrier();  // blocks: nobody else comes
                                             }
                                         }),
                            Contains("rank 1 failed: worker gives up"));
    }
}
