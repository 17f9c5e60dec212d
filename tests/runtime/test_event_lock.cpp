// spmd::Event and spmd::Lock: set/clear/wait/wait_for across ranks; mutual exclusion of a
// plain shared counter; misuse is an error; a holder that dies or leaves main holding the
// lock fails the next waiter with a message naming it; nobody hangs when a peer dies.
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <spmd/event.hpp>
#include <spmd/launch.hpp>
#include <spmd/lock.hpp>
#include <stdexcept>
#include <string>

#include "../support/expect.hpp"

using Catch::Matchers::Contains;
using namespace std::chrono_literals;

namespace {

using test::expect;

// A page the test process shares with the ranks it forks: launch reports only the first
// failing rank, so a rank that fails second leaves its message here for the test to read.
struct Mailbox {
    char* text = static_cast<char*>(
        mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0));
    ~Mailbox() { munmap(text, 4096); }
    void post(const char* message) const { std::strncpy(text, message, 4095); }
    std::string read() const { return text; }
};

double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

TEST_CASE("an event in a world of size 1: set, clear, is_set, wait, wait_for") {
    spmd::World world;
    spmd::Event event(world, "e");
    CHECK_FALSE(event.is_set());
    CHECK_FALSE(event.wait_for(0s));
    const auto start = std::chrono::steady_clock::now();
    CHECK_FALSE(event.wait_for(30ms));
    CHECK(seconds_since(start) >= 0.030);
    event.set();
    event.set();  // idempotent
    CHECK(event.is_set());
    event.wait();
    CHECK(event.wait_for(1ms));
    CHECK(event.wait_for(std::chrono::hours::max()));
    event.clear();
    CHECK_FALSE(event.is_set());
    CHECK_FALSE(event.wait_for(std::chrono::duration<double>(0.001)));
}

TEST_CASE("an event releases every waiting rank; a timed wait on a silent one times out") {
    REQUIRE_NOTHROW(spmd::launch(4, [](spmd::World& world) {
        spmd::Event go(world, "go"), never(world, "never");
        if (world.rank() == 0) {
            usleep(20'000);
            go.set();
        } else {
            go.wait();
            expect(go.is_set(), "released before the event was set");
        }
        const auto start = std::chrono::steady_clock::now();
        expect(!never.wait_for(20ms), "wait_for on an event nobody sets returned true");
        expect(seconds_since(start) >= 0.020, "wait_for returned before its timeout");
    }));
}

TEST_CASE("events hand a turn back and forth: set, wait, clear, many rounds") {
    REQUIRE_NOTHROW(spmd::launch(2, [](spmd::World& world) {
        spmd::Event ping(world, "ping"), pong(world, "pong");
        auto turns = world.shared<long>("turns", 1);
        for (int round = 0; round < 2000; ++round) {
            if (world.rank() == 0) {
                ++turns[0];
                ping.set();
                pong.wait();
                pong.clear();
            } else {
                ping.wait();
                ping.clear();
                ++turns[0];
                pong.set();
            }
        }
        world.barrier();
        expect(turns[0] == 4000, "lost turns: " + std::to_string(turns[0]));
    }));
}

TEST_CASE("a waiter is released by a set() that a clear() undoes at once") {
    REQUIRE_NOTHROW(spmd::launch(2, [](spmd::World& world) {
        spmd::Event event(world, "e");
        auto waiting = world.shared<std::uint32_t>("waiting", 1);
        if (world.rank() == 1) {
            std::atomic_ref(waiting[0]).store(1);
            expect(event.wait_for(10s), "the set() was missed");
        } else {
            while (!std::atomic_ref(waiting[0]).load()) usleep(1000);
            usleep(100'000);  // rank 1 is asleep in wait_for by now
            event.set();
            event.clear();
        }
    }));
}

TEST_CASE("a lock makes non-atomic increments of a shared counter exact") {
    const int size = GENERATE(2, 4, 8);
    const long per_rank = size == 8 ? 5000 : 20000;
    INFO("ranks = " << size);
    REQUIRE_NOTHROW(spmd::launch(size, [per_rank](spmd::World& world) {
        spmd::Lock lock(world, "L");
        auto counter = world.shared<long>("counter", 1);
        volatile long* value = &counter[0];  // a plain load and store: no atomicity but the lock's
        world.barrier();
        for (long i = 0; i < per_rank; ++i) {
            if (i % 2 == 0) {
                std::lock_guard guard(lock);
                *value = *value + 1;
            } else {
                std::unique_lock guard(lock, std::try_to_lock);
                if (!guard.owns_lock()) guard.lock();
                *value = *value + 1;
            }
        }
        world.barrier();
        expect(*value == per_rank * world.size(), "counter " + std::to_string(*value) +
                                                      ", expected " +
                                                      std::to_string(per_rank * world.size()));
    }));
}

TEST_CASE("a lock hands over between ranks that sleep in their waits") {
    // No polls and no yields: every wait goes to the futex at once, so a lock is often
    // taken from inside the wait policy's sleep step (which then must not wait on itself).
    setenv("SPMD_WAIT_POLLS", "0", 1);
    setenv("SPMD_WAIT_YIELD_US", "0", 1);
    const auto run = [] {
        spmd::launch(4, [](spmd::World& world) {
            spmd::Lock lock(world, "L");
            auto counter = world.shared<long>("counter", 1);
            volatile long* value = &counter[0];
            for (long i = 0; i < 3000; ++i) {
                std::lock_guard guard(lock);
                *value = *value + 1;
                if (i % 100 == 0) usleep(200);  // long holds: the others fall asleep
            }
            world.barrier();
            expect(*value == 3000 * world.size(), "counter " + std::to_string(*value));
        });
    };
    CHECK_NOTHROW(run());
    unsetenv("SPMD_WAIT_POLLS");
    unsetenv("SPMD_WAIT_YIELD_US");
}

TEST_CASE("lock misuse is an error: relocking, unlocking a lock held by another or by nobody") {
    REQUIRE_NOTHROW(spmd::launch(2, [](spmd::World& world) {
        spmd::Lock lock(world, "L");
        if (world.rank() == 0) {
            expect(lock.owner() == -1, "a new lock is free");
            lock.lock();
            expect(lock.owner() == 0, "owner() names the holder");
            expect(!lock.try_lock(), "try_lock by the holder takes it again");
            bool threw = false;
            try {
                lock.lock();
            } catch (const spmd::Error& e) {
                threw = std::string(e.what()) ==
                        "lock 'L' is already held by this rank (rank 0); spmd::Lock is not "
                        "recursive";
            }
            expect(threw, "lock() by the holder must throw");
        }
        world.barrier();
        if (world.rank() == 1) {
            expect(!lock.try_lock(), "try_lock took a held lock");
            bool threw = false;
            try {
                lock.unlock();
            } catch (const spmd::Error& e) {
                threw = std::string(e.what()) ==
                        "unlock of lock 'L' by rank 1, which does not hold it (rank 0 does)";
            }
            expect(threw, "unlock by a rank that does not hold the lock must throw");
        }
        world.barrier();
        if (world.rank() == 0) lock.unlock();
        world.barrier();
        if (world.rank() == 1) {
            bool threw = false;
            try {
                lock.unlock();
            } catch (const spmd::Error& e) {
                threw = std::string(e.what()).find("(nobody does)") != std::string::npos;
            }
            expect(threw, "unlock of a free lock must throw");
            expect(lock.try_lock(), "try_lock on a free lock failed");
            lock.unlock();
        }
    }));
}

TEST_CASE("a lock whose holder died fails the next waiter with the holder's rank") {
    Mailbox mailbox;
    const auto how = GENERATE(as<std::string>(), "SIGKILL", "_exit", "throw");
    INFO("the holder ends by " << how);
    std::string cause;
    try {
        spmd::launch(
            3,
            [&](spmd::World& world) {
                spmd::Lock lock(world, "L");
                if (world.rank() == 1) lock.lock();
                world.barrier();
                if (world.rank() == 1) {
                    usleep(20'000);  // rank 0 is waiting by now
                    if (how == "SIGKILL") raise(SIGKILL);
                    if (how == "_exit") _exit(3);
                    throw std::runtime_error("holder gives up");
                }
                if (world.rank() == 2) world.barrier();  // a bystander: aborted, not hung
                // The launcher's SIGTERM follows the abort flag at once: survive it until the
                // grace period's SIGKILL, to see what lock() says.
                signal(SIGTERM, SIG_IGN);
                try {
                    lock.lock();
                } catch (const spmd::Error& e) {
                    mailbox.post(e.what());
                    throw;
                }
            },
            spmd::LaunchOptions{.grace_seconds = 5.0});
    } catch (const spmd::Error& e) {
        cause = e.what();
    }
    CHECK_THAT(cause, Contains("rank 1 "));
    CHECK(mailbox.read() == "lock 'L' was held by rank 1, which died");
}

TEST_CASE("a lock held by a rank that left main fails the next waiter, not hangs it") {
    REQUIRE_THROWS_WITH(spmd::launch(2,
                                     [](spmd::World& world) {
                                         spmd::Lock lock(world, "L");
                                         if (world.rank() == 1) lock.lock();
                                         world.barrier();
                                         if (world.rank() == 0) lock.lock();
                                     }),
                        "rank 0 failed: lock 'L' was held by rank 1, which exited without "
                        "unlocking");
}

TEST_CASE("a dead rank leaves nobody blocked in Event::wait or Lock::lock") {
    SECTION("event") {
        REQUIRE_THROWS_WITH(spmd::launch(3,
                                         [](spmd::World& world) {
                                             spmd::Event event(world, "e");
                                             if (world.rank() == 2) {
                                                 usleep(20'000);
                                                 throw std::runtime_error("setter gives up");
                                             }
                                             event.wait();
                                         }),
                            "rank 2 failed: setter gives up");
    }
    SECTION("lock held by a live rank") {
        REQUIRE_THROWS_WITH(spmd::launch(3,
                                         [](spmd::World& world) {
                                             spmd::Lock lock(world, "L");
                                             if (world.rank() == 0) lock.lock();
                                             world.barrier();
                                             if (world.rank() == 1) lock.lock();
                                             if (world.rank() == 2) {
                                                 usleep(20'000);
                                                 throw std::runtime_error("bystander gives up");
                                             }
                                             world.barrier();
                                         }),
                            "rank 2 failed: bystander gives up");
    }
}
