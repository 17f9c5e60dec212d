// primes: count the primes below a bound by trial division, once with a static schedule and
// once with a dynamic one, and see why dynamic wins when iterations cost unequal amounts:
// testing n takes up to sqrt(n)/2 divisions, so under a static schedule the rank with the
// last block works longest while the others idle at the barrier. Rank 0 prints when each
// rank finished its share and how many divisions it did, gathered through shared arrays.
// There are 78498 primes below 10^6.
// Run: `mprun -n 4 build/bin/primes [--below 1000000] [--chunk 0]`, or without mprun.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <spmd/world.hpp>

namespace {

// Counts its divisions into `work`: the cost of n, which the schedules have to share out.
bool is_prime(std::uint64_t n, std::uint64_t& work) {
    if (n < 2) return false;
    ++work;
    if (n % 2 == 0) return n == 2;
    for (std::uint64_t d = 3; d * d <= n; d += 2) {
        ++work;
        if (n % d == 0) return false;
    }
    return true;
}

double wall_seconds() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

long arg(int argc, char** argv, const char* name, long fallback) {
    for (int i = 1; i + 1 < argc; ++i)
        if (std::strcmp(argv[i], name) == 0) return std::atol(argv[i + 1]);
    return fallback;
}

}  // namespace

int main(int argc, char** argv) {
    spmd::World world(argc, argv);
    const long below = arg(argc, argv, "--below", 1'000'000);
    const long chunk = arg(argc, argv, "--chunk", 0);  // 0: the schedule's default
    if (below < 0 || chunk < 0) {
        std::fprintf(stderr, "primes: --below and --chunk must not be negative\n");
        return 2;
    }
    const int size = world.size(), rank = world.rank();
    const spmd::Schedule policies[] = {spmd::Schedule::static_, spmd::Schedule::dynamic};

    // Row k of each: one schedule, one column per rank. Every rank writes only its column.
    auto counts = world.shared<long>("counts", 2 * std::size_t(size));
    auto finished = world.shared<double>("finished", 2 * std::size_t(size));
    auto divisions = world.shared<std::uint64_t>("divisions", 2 * std::size_t(size));
    auto started = world.shared<double>("started", 2 * std::size_t(size));
    for (int k = 0; k < 2; ++k) {
        world.barrier();
        const double start = wall_seconds();
        long count = 0;
        std::uint64_t work = 0;
        for (spmd::Range range :
             world.schedule(std::size_t(below), policies[k], std::size_t(chunk)))
            for (std::size_t n = range.begin; n < range.end; ++n) count += is_prime(n, work);
        const auto at = std::size_t(k * size + rank);
        started[at] = start;            // steady_clock is CLOCK_MONOTONIC: one clock for all ranks
        finished[at] = wall_seconds();  // from here on this rank idles until the slowest is done
        counts[at] = count;
        divisions[at] = work;
        world.barrier();
    }
    if (rank != 0) return 0;

    long total[2] = {};
    for (int k = 0; k < 2; ++k)
        for (int r = 0; r < size; ++r) total[k] += counts[std::size_t(k * size + r)];
    std::printf("primes below %ld: %ld\n", below, total[1]);
    std::printf("schedule  wall_ms  idle  per rank: finished at ms (share of the divisions)\n");
    for (int k = 0; k < 2; ++k) {
        const double* done = &finished[std::size_t(k * size)];
        const double last = *std::max_element(done, done + size);
        const double first = *std::min_element(&started[std::size_t(k * size)],
                                               &started[std::size_t(k * size)] + size);
        const double wall = std::max(1e-9, last - first);
        double idle = 0.0, all_work = 0.0;
        for (int r = 0; r < size; ++r) {
            idle += last - done[r];
            all_work += double(divisions[std::size_t(k * size + r)]);
        }
        // Idle: the share of the ranks' time spent waiting for the slowest one.
        std::printf("%-8s %8.1f %4.0f%% ", std::string(spmd::to_string(policies[k])).c_str(),
                    wall * 1e3, 100.0 * idle / (wall * size));
        for (int r = 0; r < size; ++r)
            std::printf(
                " %6.1f (%2.0f%%)", (done[r] - first) * 1e3,
                100.0 * double(divisions[std::size_t(k * size + r)]) / std::max(1.0, all_work));
        std::printf("\n");
    }
    if (total[0] != total[1]) {
        std::fprintf(stderr, "primes: static counted %ld, dynamic %ld\n", total[0], total[1]);
        return 1;
    }
    return 0;
}
