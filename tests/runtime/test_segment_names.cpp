// The names of a job's segments: each drawn at random by its creator and recorded in the
// control segment, so that nothing follows from the job's name, yet the job's owner
// finds and removes every one of them, whether a peer ever opened it or not.
#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <spmd/launch.hpp>
#include <stdexcept>
#include <vector>

#include "../support/run.hpp"

namespace {
// The test process owns the jobs it launches: their names start "spmd-<its pid>-".
const pid_t owner = getpid();

std::vector<std::string> own_segments() {
    return test::segment_names_of(owner);
}

// Sends a message large enough for a pair ring and small enough to sit in it unreceived.
void send_bulk(spmd::World& world, int dest) {
    const std::vector<char> payload(100000, 'x');
    world.send(dest, 0, payload);
}
}  // namespace

TEST_CASE("pair rings and shared arrays have their own random names") {
    spmd::launch(3, [](spmd::World& world) {
        if (world.rank() == 0) {
            send_bulk(world, 1);
            send_bulk(world, 2);
        }
        world.barrier();
        // Rank 0 made two rings that nobody opened yet: with the job, three names.
        const auto names = own_segments();
        if (names.size() != 3) throw std::runtime_error("not 3 segments");
        std::vector<std::string> random_parts;
        for (const auto& name : names) {
            if (name.find('.') != std::string::npos) throw std::runtime_error("derived name");
            random_parts.push_back(name.substr(name.rfind('-') + 1));
        }
        std::sort(random_parts.begin(), random_parts.end());
        if (std::adjacent_find(random_parts.begin(), random_parts.end()) != random_parts.end())
            throw std::runtime_error("two segments share a random part");
        world.barrier();  // nobody looks any more
        if (world.rank() != 0) {
            std::vector<char> got(100000);
            world.recv(0, 0, got);
            if (got != std::vector<char>(100000, 'x')) throw std::runtime_error("payload");
        }
        auto a = world.shared<int>("a", 4);
        a[std::size_t(world.rank())] = world.rank() + 1;
        world.barrier();
        if (a[0] + a[1] + a[2] != 6) throw std::runtime_error("shared array");
    });
    CHECK(own_segments().empty());
}

TEST_CASE("the job's owner removes rings that were never opened") {
    SECTION("a job that ends normally") {
        spmd::launch(2, [](spmd::World& world) {
            send_bulk(world, 1 - world.rank());  // neither is received
            world.barrier();
        });
        CHECK(own_segments().empty());
    }
    SECTION("a job that fails") {
        REQUIRE_THROWS_WITH(spmd::launch(3,
                                         [](spmd::World& world) {
                                             send_bulk(world, (world.rank() + 1) % 3);
                                             world.barrier();
                                             if (world.rank() == 2)
                                                 throw std::runtime_error("late");
                                             world.barrier();
                                         }),
                            "rank 2 failed: late");
        CHECK(own_segments().empty());
    }
}
