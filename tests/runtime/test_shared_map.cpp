// SharedMap and SharedVector: concurrent writers lose nothing and duplicate nothing; the
// containers grow past their first size and say clearly when their reservation is full; a
// writer killed inside an update leaves the others an error naming the container and the
// dead rank instead of a hang; no segment or process is left behind.
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <catch2/catch.hpp>
#include <cstring>
#include <ranges>
#include <spmd/launch.hpp>
#include <spmd/shared_map.hpp>
#include <spmd/shared_vector.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "../support/run.hpp"

using Catch::Matchers::Contains;

namespace {

void check(bool ok, const std::string& what) {
    if (!ok) throw std::runtime_error(what);
}

std::string key_of(int rank, int i) {
    return "r" + std::to_string(rank) + "-k" + std::to_string(i);
}
std::string value_of(int rank, int i) {
    return std::string(std::size_t(i % 13), 'v') + std::to_string(rank * i);
}

// Memory shared with the children of spmd::launch, for what they report back.
struct Shared {
    char text[4][512];
    std::atomic<int> flag;
    std::atomic<int> ready;
};
Shared* map_shared() {
    void* p =
        mmap(nullptr, sizeof(Shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    REQUIRE(p != MAP_FAILED);
    return new (p) Shared{};
}

}  // namespace

TEST_CASE("concurrent writers: every key present once with its value") {
    const auto [ranks, keys] = GENERATE(std::pair{1, 3000}, std::pair{2, 3000}, std::pair{4, 3000},
                                        std::pair{9, 1000}, std::pair{8, 10000});
    CAPTURE(ranks, keys);
    REQUIRE_NOTHROW(spmd::launch(ranks, [keys = keys](spmd::World& world) {
        auto map = world.shared_map<std::string, std::string>("words");
        const int me = world.rank();
        // Half one at a time, half in batches: both paths take the lock.
        for (int i = 0; i < keys / 2; ++i) map.set(key_of(me, i), value_of(me, i));
        std::vector<std::pair<std::string, std::string>> batch;
        for (int i = keys / 2; i < keys; ++i) {
            batch.emplace_back(key_of(me, i), value_of(me, i));
            if (batch.size() == 100 || i + 1 == keys) {
                map.update(batch);
                batch.clear();
            }
        }
        world.barrier();
        check(map.size() == std::size_t(world.size() * keys),
              "size " + std::to_string(map.size()) + " is not ranks * keys");
        // Every rank checks another rank's keys, and the items as a whole.
        const int other = (me + 1) % world.size();
        for (int i = 0; i < keys; ++i)
            check(map.get(key_of(other, i)) == value_of(other, i),
                  "wrong value of " + key_of(other, i));
        if (me == 0) {
            const auto items = map.items();
            std::vector<std::pair<std::string, std::string>> expect;
            for (int r = 0; r < world.size(); ++r)
                for (int i = 0; i < keys; ++i) expect.emplace_back(key_of(r, i), value_of(r, i));
            std::sort(expect.begin(), expect.end());
            check(items == expect, "items() is not every (key, value) once, in key order");
        }
    }));
    CHECK(test::segments_of(getpid()) == 0);
}

// Integer keys and values take the lock-free table: the same promises.
TEST_CASE("concurrent writers of integers: every key once with its value, races settled") {
    const auto [ranks, keys] = GENERATE(std::pair{1, 3000}, std::pair{2, 3000}, std::pair{4, 3000},
                                        std::pair{9, 1000}, std::pair{8, 10000});
    CAPTURE(ranks, keys);
    REQUIRE_NOTHROW(spmd::launch(ranks, [keys = keys](spmd::World& world) {
        auto map = world.shared_map<long, long>("numbers");
        const long me = world.rank(), n = world.size();
        auto key = [n](long rank, long i) { return i * n + rank; };  // interleaved slots
        std::vector<std::pair<long, long>> batch;
        for (long i = 0; i < keys; ++i) {
            if (i % 2 == 0) {
                map.set(key(me, i), 7 * key(me, i) + 1);
            } else {
                batch.emplace_back(key(me, i), 7 * key(me, i) + 1);
                if (batch.size() == 100) {
                    map.update(batch);
                    batch.clear();
                }
            }
            if (i < 100) map.set(-1 - i, me);  // every rank writes the same 100 keys
        }
        map.update(batch);
        world.barrier();
        check(map.size() == std::size_t(n * keys + 100),
              "size " + std::to_string(map.size()) + " is not ranks * keys + 100");
        const long other = (me + 1) % n;
        for (long i = 0; i < keys; ++i)
            check(map.get(key(other, i)) == 7 * key(other, i) + 1,
                  "wrong value of " + std::to_string(key(other, i)));
        for (long i = 0; i < 100; ++i) {
            const auto v = map.get(-1 - i);
            check(v && *v >= 0 && *v < n, "a raced key holds no rank's value");
        }
        if (me == 0) {
            const auto items = map.items();
            check(items.size() == std::size_t(n * keys + 100) &&
                      std::is_sorted(items.begin(), items.end()),
                  "items() is not every key once, in key order");
            for (std::size_t j = 100; j < items.size(); ++j)
                check(items[j] == std::pair{long(j - 100), 7 * long(j - 100) + 1},
                      "items() holds a wrong pair");
        }
    }));
    CHECK(test::segments_of(getpid()) == 0);
}

TEST_CASE("map operations: insert, get, contains, erase, overwrite") {
    REQUIRE_NOTHROW(spmd::launch(2, [](spmd::World& world) {
        auto squares = world.shared_map<int, double>("squares");
        if (world.rank() == 0) {
            check(squares.insert(3, 9.0) && !squares.insert(3, 10.0), "insert of a present key");
            squares.set(4, 15.0);
            squares.set(4, 16.0);
            check(squares.erase(4) && !squares.erase(4), "erase");
            squares.set(4, 16.0);
        }
        world.barrier();
        check(squares.get(3) == 9.0 && squares.get(4) == 16.0 && !squares.get(5) &&
                  squares.contains(3) && !squares.contains(5) && squares.size() == 2,
              "values seen by rank " + std::to_string(world.rank()));
        world.barrier();
        if (world.rank() == 1) squares.clear();
        world.barrier();
        check(squares.size() == 0, "clear");
    }));
}

TEST_CASE("a shared vector takes appends from every rank") {
    const int ranks = GENERATE(1, 2, 4, 9);
    REQUIRE_NOTHROW(spmd::launch(ranks, [](spmd::World& world) {
        auto numbers = world.shared_vector<long>("numbers");
        auto names = world.shared_vector<std::string>("names");
        const int me = world.rank();
        for (int i = 0; i < 500; ++i) numbers.push_back(long(me) * 1000 + i);
        numbers.extend(std::views::iota(500, 1000) |
                       std::views::transform([me](int i) { return long(me) * 1000 + i; }));
        names.push_back("rank " + std::to_string(me));
        world.barrier();
        auto all = numbers.snapshot();
        std::sort(all.begin(), all.end());
        std::vector<long> expect;
        for (int r = 0; r < world.size(); ++r)
            for (int i = 0; i < 1000; ++i) expect.push_back(long(r) * 1000 + i);
        check(all == expect, "the vector is not every rank's appends once");
        check(names.size() == std::size_t(world.size()), "names");
        world.barrier();
        if (me == 0) names.set(0, "first");
        world.barrier();
        check(names.get(0) == "first", "set(0) not seen");
        bool threw = false;
        try {
            (void)names.get(std::size_t(world.size()));
        } catch (const spmd::Error& e) {
            threw = std::string(e.what()) ==
                    "shared_vector 'names': index " + std::to_string(world.size()) +
                        " is out of range (size " + std::to_string(world.size()) + ")";
        }
        check(threw, "an index past the end was not reported");
    }));
}

TEST_CASE("a container grows past its first size until its reservation is full") {
    REQUIRE_NOTHROW(spmd::launch(2, [](spmd::World& world) {
        auto map = world.shared_map<long, std::string>("small", 1 << 20);
        if (world.rank() == 0) {
            long i = 0;
            std::string message;
            try {
                for (;; ++i) map.set(i, std::string(200, 'x'));
            } catch (const spmd::Error& e) {
                message = e.what();
            }
            check(message ==
                      "shared_map 'small' is full: its reservation of 1048576 bytes is "
                      "used up (pass a larger reserve_bytes when making it)",
                  "full map said: " + message);
            check(i > 1000 && map.size() == std::size_t(i),
                  "the failed insert changed the map, or it held too little");
        }
        world.barrier();
        check(map.get(0) == std::string(200, 'x'), "rank 1 cannot read the full map");
    }));
    // The lock-free table grows by doubling until the heap cannot hold the next one.
    REQUIRE_NOTHROW(spmd::launch(2, [](spmd::World& world) {
        auto map = world.shared_map<long, long>("small", 1 << 20);
        if (world.rank() == 0) {
            long i = 0;
            std::string message;
            try {
                for (;; ++i) map.set(i, -i);
            } catch (const spmd::Error& e) {
                message = e.what();
            }
            check(message ==
                      "shared_map 'small' is full: its reservation of 1048576 bytes is "
                      "used up (pass a larger reserve_bytes when making it)",
                  "full map said: " + message);
            check(i > 10000 && map.size() == std::size_t(i) && !map.contains(i),
                  "the failed insert changed the map, or it held too little");
            map.set(0, 5);  // overwriting still works in a full table
        }
        world.barrier();
        check(map.get(0) == 5 && map.get(10000) == -10000, "rank 1 cannot read the full map");
    }));
    // Wide values in the smallest reservation: a smaller first table, then "full".
    REQUIRE_NOTHROW(spmd::launch(1, [](spmd::World& world) {
        auto map = world.shared_map<int, std::array<double, 64>>("wide", 64 * 1024);
        int i = 0;
        std::string message;
        try {
            for (;; ++i) map.set(i, std::array<double, 64>{double(i)});
        } catch (const spmd::Error& e) {
            message = e.what();
        }
        check(message.starts_with("shared_map 'wide' is full") && i >= 16 &&
                  map.size() == std::size_t(i) && map.get(i - 1).value()[0] == i - 1,
              "a wide map said: " + message + " after " + std::to_string(i));
    }));
    REQUIRE_THROWS_WITH(
        spmd::launch(1, [](spmd::World& world) { (void)world.shared_vector<int>("tiny", 1000); }),
        Contains("shared_vector 'tiny': a reservation of 1000 bytes is too small"));
}

// Rank 1 dies holding the map's lock; the others then try to write to the map.
void writer_dies_mid_update(spmd::World& world, Shared* shared) {
    // Survivors outlive the launcher's SIGTERM (sent 0.1 s after the abort) so that a
    // loaded machine cannot stop them before they report; one that hung would still be
    // killed when the grace ends, and its report would be missing.
    if (world.rank() != 1) signal(SIGTERM, SIG_IGN);
    auto map = world.shared_map<int, int>("tally");
    world.barrier();
    if (world.rank() == 1) {
        // Only once every survivor is out of the barrier, which throws once the job aborts.
        while (shared->ready < world.size() - 1) usleep(100);
        // The batch is read inside the lock: die half-way through it.
        map.update(std::views::iota(0, 1000) | std::views::transform([shared](int i) {
                       if (i == 500) {
                           shared->flag = 1;
                           raise(SIGKILL);
                       }
                       return std::pair{i, i};
                   }));
        return;
    }
    const int slot = world.rank() == 0 ? 0 : world.rank() - 1;
    ++shared->ready;
    while (shared->flag == 0) usleep(100);
    try {
        map.set(-1, world.rank());
        std::strncpy(shared->text[slot], "set() went through", 511);
    } catch (const std::exception& e) {
        std::strncpy(shared->text[slot], e.what(), 511);
    }
}

TEST_CASE("a writer killed inside an update: the others get an error, not a hang") {
    const int ranks = GENERATE(2, 4);
    Shared* shared = map_shared();
    REQUIRE_THROWS_WITH(
        spmd::launch(ranks, [shared](spmd::World& world) { writer_dies_mid_update(world, shared); },
                     {.grace_seconds = 20}),
        Contains("rank 1") && Contains("SIGKILL"));
    // Every survivor got an error naming map and rank (not a hang, not a success).
    for (int slot = 0; slot < ranks - 1; ++slot) {
        const std::string text = shared->text[slot];
        CHECK(text ==
              "shared_map 'tally': rank 1 died inside an update, so the container may be "
              "half-written");
    }
    CHECK(test::segments_of(getpid()) == 0);
    munmap(shared, sizeof(Shared));
}
