// After the first failure, mprun names the cause once and then what the survivors found
// wrong themselves (a dead writer's half-written shared map), once per distinct message,
// however many ranks said it; ranks that were only stopped say nothing.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <ranges>
#include <spmd/launch.hpp>
#include <spmd/shared_map.hpp>
#include <string>
#include <vector>

#include "../support/run.hpp"

namespace {
const std::string mprun = test::bin("mprun");
const std::string rank_program = test::bin("spmd_test_rank");
const std::string half_written =
    "shared_map 'tally': rank 1 died inside an update, so the container may be half-written";
}  // namespace

TEST_CASE("a writer killed inside a shared_map update: mprun names the death and the map") {
    SECTION("one survivor") {
        const test::Run r = test::run(mprun + " -n 2 " + rank_program + " map_writer_dies");
        CHECK(r.code == 128 + 9);
        CHECK(test::lines(r.err) ==
              std::vector<std::string>{
                  "mprun: rank 1 killed by signal SIGKILL; stopping the other ranks",
                  "mprun: rank 0 also failed: " + half_written});
        CHECK(test::nothing_left_of(r.pid));
    }
    SECTION("three survivors say it once") {
        const test::Run r = test::run(mprun + " -n 4 " + rank_program + " map_writer_dies");
        CHECK(r.code == 128 + 9);
        CHECK(test::lines(r.err) ==
              std::vector<std::string>{
                  "mprun: rank 1 killed by signal SIGKILL; stopping the other ranks",
                  "mprun: ranks 0, 2 and 3 also failed: " + half_written});
        CHECK(test::nothing_left_of(r.pid));
    }
}

TEST_CASE("ranks stopped by another's failure add no line of their own") {
    // The others wait in a barrier and are stopped by the abort (spmd::Aborted).
    const test::Run r = test::run(mprun + " -n 3 " + rank_program + " fail 0 throw");
    CHECK(r.code == 1);
    CHECK(test::lines(r.err) ==
          std::vector<std::string>{
              "mprun: rank 0 failed: deliberate failure in rank 0; stopping the other ranks"});
    CHECK(test::nothing_left_of(r.pid));
}

TEST_CASE("spmd::launch's error names the survivors' reason after the cause") {
    std::string message;
    try {
        spmd::launch(2,
                     [](spmd::World& world) {
                         if (world.rank() == 0) signal(SIGTERM, SIG_IGN);  // reports before it goes
                         auto map = world.shared_map<int, int>("tally");
                         auto out = world.shared<int>("rank 0 out of the barrier", 1);
                         world.barrier();
                         if (world.rank() == 1) {
                             // Rank 0 still in the barrier would only see rank 1 leave it.
                             while (std::atomic_ref<int>(out[0]).load() == 0) usleep(100);
                             map.update(std::vector<std::pair<int, int>>{{1, 1}} |
                                        std::views::transform([](auto pair) {
                                            raise(SIGKILL);
                                            return pair;
                                        }));
                         }
                         std::atomic_ref<int>(out[0]).store(1);
                         for (;;) map.set(-1, 0);
                     },
                     {.grace_seconds = 20});
    } catch (const spmd::Error& e) {
        message = e.what();
    }
    CHECK(message == "rank 1 killed by signal SIGKILL; rank 0 also failed: " + half_written);
}
