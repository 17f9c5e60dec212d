// spmd::Event and spmd::Lock over either transport, as an SPMD program on 1, 2 and 4 ranks
// (under mpirun their word lives in rank 0's memory): one set() releases every waiter,
// turns hand back and forth, timed waits time out; a lock makes non-atomic increments of a
// shared counter exact and its misuse is an error naming the ranks.
#include <catch2/catch.hpp>
#include <cstdint>
#include <spmd/event.hpp>
#include <spmd/lock.hpp>

#include "spmd_main.hpp"

using Catch::Matchers::Contains;

TEST_CASE("events: one set releases every waiter; timed waits; many hand-overs") {
    auto& w = test::world();
    spmd::Event ready(w, "ready");
    spmd::Event back(w, "back");
    CHECK_FALSE(ready.is_set());
    CHECK_FALSE(ready.wait_for(std::chrono::milliseconds(2)));  // nobody sets it
    w.barrier();
    if (w.rank() == 0)
        ready.set();
    else
        ready.wait();
    CHECK(ready.is_set());
    w.barrier();
    if (w.rank() == 0) ready.clear();
    w.barrier();
    CHECK_FALSE(ready.is_set());
    w.barrier();
    if (w.size() == 1) return;
    for (int round = 0; round < 20; ++round) {
        if (w.rank() == 0) {
            ready.set();
            ready.set();  // already set: nothing more to announce
            back.wait();
            CHECK(back.is_set());  // only this rank clears it: the wait ended on a set()
            back.clear();
        } else if (w.rank() == w.size() - 1) {
            CHECK(ready.wait_for(std::chrono::hours(1)));
            CHECK(ready.is_set());
            ready.clear();
            back.set();
        }
        w.barrier();
    }
}

TEST_CASE("a lock makes non-atomic increments of a shared counter exact") {
    auto& w = test::world();
    spmd::Lock lock(w, "counter");
    // Shared by the ranks of one host, which is every rank of these CTest runs.
    auto counter = w.shared<std::uint64_t>("counter", 1);
    constexpr int rounds = 300;
    for (int i = 0; i < rounds; ++i) {
        std::lock_guard guard(lock);
        CHECK(lock.owner() == w.rank());
        const std::uint64_t seen = counter[0];  // a plain read and write: only the lock
        counter[0] = seen + 1;                  // keeps another rank out between them
    }
    w.barrier();
    CHECK(counter[0] == std::uint64_t(rounds) * std::uint64_t(w.node().ranks.size()));
}

TEST_CASE("lock misuse is an error: relocking, unlocking a lock held by another or by nobody") {
    auto& w = test::world();
    spmd::Lock lock(w, "misuse");
    CHECK(lock.owner() == -1);
    w.barrier();
    if (w.rank() == 0) {
        CHECK_THROWS_WITH(lock.unlock(),
                          Contains("by rank 0, which does not hold it (nobody does)"));
        lock.lock();
        CHECK_THROWS_WITH(lock.lock(), Contains("already held by this rank (rank 0)"));
        CHECK_FALSE(lock.try_lock());
    }
    w.barrier();
    if (w.rank() == 1) {
        CHECK_FALSE(lock.try_lock());
        CHECK_THROWS_WITH(lock.unlock(),
                          Contains("by rank 1, which does not hold it (rank 0 does)"));
    }
    w.barrier();
    if (w.rank() == 0) lock.unlock();
    w.barrier();
}
