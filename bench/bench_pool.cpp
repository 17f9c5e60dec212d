// bench_pool: the Python multiprocessing idioms as mprun calls, at the counts
// bench/python_idioms.py runs Python's own (compare them in the same minutes):
//   map       : world.map of --calls trivial calls, results gathered in order on rank 0
//   submit    : --tasks trivial tasks, each submit()ed and get() before the next
//   shared_map: --inserts integer keys set() into one shared_map by all ranks together
//   shared_map_batch: the same inserts as update() batches of 1000 (one lock per batch)
// Each figure is the best of --repeat (default 5) runs, timed on rank 0 from a barrier to
// the result; map_first is the first of the map runs alone, the one that creates World::map's
// shared scratch and first touches its pages and those of the result vector.
// Run as `mprun -n 2 build/bin/bench_pool`; rank 0 prints
//   bench=map ranks=2 calls=1000000 seconds=X
//   bench=map_first ranks=2 calls=1000000 seconds=X
//   bench=submit ranks=2 tasks=10000 seconds=X
//   bench=shared_map ranks=2 inserts=100000 seconds=X
//   bench=shared_map_batch ranks=2 inserts=100000 seconds=X
#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <spmd/pool.hpp>
#include <spmd/shared_map.hpp>
#include <stdexcept>
#include <vector>

#include "bench_common.hpp"

namespace {

// The count given as `name value`, `fallback` without one, or 0 if value is not a positive
// whole number (the caller then stops with a usage error).
long count_option(int argc, char** argv, const char* name, long fallback) {
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], name) != 0) continue;
        const char* value = i + 1 < argc ? argv[i + 1] : "";
        char* end = nullptr;
        errno = 0;
        const long count = std::strtol(value, &end, 10);
        const bool whole = end != value && *end == '\0' && errno == 0 && value[0] != '-';
        return whole && count > 0 ? count : 0;
    }
    return fallback;
}

// Best of `repeat` runs of body(), timed from a barrier; the same figure on every rank.
// `first`, if given, gets the first run's time.
template <class Body>
double best_of(spmd::World& world, int repeat, Body&& body, double* first = nullptr) {
    double best = std::numeric_limits<double>::max();
    for (int r = 0; r < repeat; ++r) {
        world.barrier();
        const double t0 = bench::now();
        body();
        const double seconds = bench::now() - t0;
        if (r == 0 && first) *first = world.broadcast_value(seconds);
        best = std::min(best, seconds);
    }
    return world.broadcast_value(best);
}

}  // namespace

int main(int argc, char** argv) {
    spmd::World world(argc, argv);
    const int size = world.size(), rank = world.rank();
    const auto calls = std::size_t(count_option(argc, argv, "--calls", 1'000'000));
    const long tasks = count_option(argc, argv, "--tasks", 10'000);
    const long inserts = count_option(argc, argv, "--inserts", 100'000);
    const int repeat = int(std::min(1000L, count_option(argc, argv, "--repeat", 5)));
    if (calls == 0 || tasks == 0 || inserts == 0 || repeat == 0) {
        if (rank == 0)
            std::fprintf(stderr,
                         "bench_pool: --calls, --tasks, --inserts and --repeat take positive "
                         "whole numbers\n");
        return 2;
    }

    double map_first_seconds = 0;
    const double map_seconds = best_of(
        world, repeat,
        [&] {
            const auto out = world.map(
                calls, [](std::size_t i) { return std::int64_t(i) * 2 + 1; }, spmd::Root{0});
            if (rank == 0 && (out.size() != calls || out.back() != std::int64_t(calls) * 2 - 1))
                throw std::runtime_error("bench_pool: wrong map results");
        },
        &map_first_seconds);

    double submit_seconds = 0;
    {
        spmd::Pool pool(world, "bench");
        auto next = pool.define("next", [](std::int64_t x) { return x + 1; });
        if (rank == 0) {
            for (int r = 0; r < repeat; ++r) {
                const double t0 = bench::now();
                std::int64_t x = 0;
                for (long i = 0; i < tasks; ++i) x = pool.submit(next, x).get();
                if (x != tasks) throw std::runtime_error("bench_pool: wrong task results");
                const double dt = bench::now() - t0;
                submit_seconds = r == 0 ? dt : std::min(submit_seconds, dt);
            }
            pool.close();
        }
        pool.join();
        submit_seconds = world.broadcast_value(submit_seconds);
    }

    // Rank r inserts the keys r, r + N, r + 2N, ... below `inserts`.
    double insert_seconds = std::numeric_limits<double>::max();
    double batch_seconds = std::numeric_limits<double>::max();
    for (int r = 0; r < repeat; ++r) {
        auto map = world.shared_map<std::int64_t, std::int64_t>("bench map");
        insert_seconds = std::min(insert_seconds, best_of(world, 1, [&] {
                                      for (long k = rank; k < inserts; k += size) map.set(k, 2 * k);
                                      world.barrier();
                                  }));
        if (map.size() != std::size_t(inserts))
            throw std::runtime_error("bench_pool: wrong shared_map size");
        auto batched = world.shared_map<std::int64_t, std::int64_t>("bench map batched");
        batch_seconds = std::min(batch_seconds, best_of(world, 1, [&] {
                                     std::vector<std::pair<std::int64_t, std::int64_t>> batch;
                                     for (long k = rank; k < inserts; k += size) {
                                         batch.emplace_back(k, 2 * k);
                                         if (batch.size() == 1000) {
                                             batched.update(batch);
                                             batch.clear();
                                         }
                                     }
                                     batched.update(batch);
                                     world.barrier();
                                 }));
        if (batched.size() != std::size_t(inserts))
            throw std::runtime_error("bench_pool: wrong batched shared_map size");
    }

    if (rank == 0) {
        bench::figure("bench=map ranks=%d calls=%zu seconds=%.6f\n", size, calls, map_seconds);
        bench::figure("bench=map_first ranks=%d calls=%zu seconds=%.6f\n", size, calls,
                      map_first_seconds);
        bench::figure("bench=submit ranks=%d tasks=%ld seconds=%.6f\n", size, tasks,
                      submit_seconds);
        bench::figure("bench=shared_map ranks=%d inserts=%ld seconds=%.6f\n", size, inserts,
                      insert_seconds);
        bench::figure("bench=shared_map_batch ranks=%d inserts=%ld seconds=%.6f\n", size, inserts,
                      batch_seconds);
    }
    return 0;
}
