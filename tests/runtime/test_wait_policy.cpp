// The wait policy's polling budget: with more ranks than cores a wait polls only while
// the ranks that are awake (not asleep in a wait's futex stage) fit on the cores; and a
// rank asleep in a wait is counted in the job's asleep ranks exactly while it sleeps.
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <spmd/detail/job.hpp>
#include <spmd/detail/wait.hpp>
#include <spmd/launch.hpp>
#include <string>

#include "../support/expect.hpp"

using test::expect;

namespace {
spmd::detail::WaitPolicy policy_of(int ranks, int cores, const std::atomic<std::uint32_t>* asleep) {
    spmd::detail::WaitPolicy policy{};
    policy.polls = 100;
    policy.max_polls = 4000;
    policy.ranks = ranks;
    policy.cores = cores;
    policy.asleep = asleep;
    return policy;
}
}  // namespace

TEST_CASE("a wait polls only while the ranks awake fit on the cores") {
    std::atomic<std::uint32_t> asleep{0};
    SECTION("a core for every rank: always the adaptive budget") {
        CHECK(policy_of(2, 2, &asleep).budget() == 100);
        CHECK(policy_of(1, 8, nullptr).budget() == 100);
    }
    SECTION("more ranks than cores, nobody asleep or no count known: no polls") {
        CHECK(policy_of(4, 2, &asleep).budget() == 0);
        CHECK(policy_of(4, 2, nullptr).budget() == 0);
    }
    SECTION("more ranks than cores, enough of them asleep: polls again") {
        const int ranks = GENERATE(3, 4, 8, 9);
        INFO("ranks = " << ranks << " on 2 cores");
        for (int sleeping = 0; sleeping <= ranks; ++sleeping) {
            asleep = std::uint32_t(sleeping);
            INFO("asleep = " << sleeping);
            CHECK(policy_of(ranks, 2, &asleep).budget() == (ranks - sleeping <= 2 ? 100 : 0));
        }
    }
}

TEST_CASE("a rank asleep in a wait counts in the job's asleep ranks until it wakes") {
    setenv("SPMD_WAIT_YIELD_US", "0", 1);  // a wait goes to its futex after a few yields
    const auto run = [] {
        spmd::launch(2, [](spmd::World& world) {
            const auto& asleep = world.job().header().asleep;
            int value = 0;
            if (world.rank() == 1) {
                world.recv(0, 7, std::span<int>(&value, 1));
                expect(value == 42, "received " + std::to_string(value));
                // Rank 0 sent without waiting and waits for nothing more.
                expect(asleep.load() == 0,
                       "asleep is " + std::to_string(asleep.load()) + " after the wait ended");
                return;
            }
            for (int ms = 0; asleep.load() == 0; ++ms) {
                expect(ms < 60000, "rank 1 was never counted asleep in its recv");
                usleep(1000);
            }
            expect(asleep.load() == 1,
                   "asleep is " + std::to_string(asleep.load()) + " with one rank asleep");
            value = 42;
            world.send(1, 7, std::span<const int>(&value, 1));
        });
    };
    CHECK_NOTHROW(run());
    unsetenv("SPMD_WAIT_YIELD_US");
}
