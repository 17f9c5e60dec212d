// bench_primitives: what a Queue item, a Lock acquire and a dynamic-schedule chunk cost, on
// either transport: `mprun -n 2 build/bin/bench_primitives` (shared memory) or, built with
// -DSPMD_TRANSPORT=mpi, `mpirun -n 2 build-mpi/bin/bench_primitives` and across hosts (their
// words then live in rank 0's memory, reached with MPI atomics). Rank 0 prints:
//   bench=primitives_queue     usec_per_item     upper half of the ranks push, lower half pop
//   bench=primitives_lock      usec_per_acquire  lock + unlock by every rank at once
//   bench=primitives_lock_one  usec_per_acquire  the last rank alone (uncontended; it prints)
//   bench=primitives_chunk     usec_per_chunk    dynamic schedule, chunk 1, empty body
//   bench=primitives_busy_home usec_per_item     the last rank pushes and pops while rank 0
//                                                computes without calling the library
// (the busy_home line comes from the last rank too). Options: --items I (queue), --rounds R (lock,
// chunks), --busy S (seconds rank 0 computes).
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <spmd/event.hpp>
#include <spmd/lock.hpp>
#include <spmd/queue.hpp>
#include <spmd/world.hpp>

#include "bench_common.hpp"

namespace {

struct Item {
    std::uint64_t producer, seq;
};

// Seconds between two barriers around fn.
template <class Fn>
double timed(spmd::World& world, Fn&& fn) {
    world.barrier();
    const double t0 = bench::now();
    fn();
    world.barrier();
    return bench::now() - t0;
}

}  // namespace

int main(int argc, char** argv) {
    spmd::World world(argc, argv);
    const int size = world.size(), rank = world.rank(), last = size - 1;
    if (size < 2) {
        if (rank == 0) std::fprintf(stderr, "bench_primitives: run it with 2 or more ranks\n");
        return 2;
    }
    const auto items = long(bench::number_option(argc, argv, "--items", 20000));
    const auto rounds = long(bench::number_option(argc, argv, "--rounds", 20000));
    const double busy = bench::number_option(argc, argv, "--busy", 2.0);

    {  // Queue: the last producer to finish closes it, told so by a second queue.
        spmd::Queue<Item> queue(world, "bench", 1024);
        spmd::Queue<int> done(world, "producers done", std::size_t(size));
        const int producers = size / 2, first_producer = size - producers;
        std::uint64_t popped = 0;
        const double dt = timed(world, [&] {
            if (rank >= first_producer) {
                const int p = rank - first_producer;
                const long n = items / producers + (p < items % producers);
                for (long s = 0; s < n; ++s) queue.push({std::uint64_t(rank), std::uint64_t(s)});
                done.push(rank);
                if (done.size_hint() == std::size_t(producers)) queue.close();
            } else {
                while (queue.pop()) ++popped;
            }
        });
        const std::uint64_t total = world.all_reduce(popped, spmd::Op::sum);
        if (total != std::uint64_t(items)) {
            if (rank == 0)
                std::fprintf(stderr, "bench_primitives: popped %llu of %ld items\n",
                             (unsigned long long)total, items);
            return 1;
        }
        if (rank == 0)
            std::printf(
                "bench=primitives_queue ranks=%d hosts=%d producers=%d consumers=%d items=%ld "
                "usec_per_item=%.2f\n",
                size, world.node().count, producers, size - producers, items,
                dt / double(items) * 1e6);
    }
    {
        spmd::Lock lock(world, "bench");
        const double all = timed(world, [&] {
            for (long i = 0; i < rounds; ++i) {
                lock.lock();
                lock.unlock();
            }
        });
        if (rank == 0)
            std::printf(
                "bench=primitives_lock ranks=%d hosts=%d rounds=%ld usec_per_acquire=%.2f\n", size,
                world.node().count, rounds, all / double(rounds * size) * 1e6);
        world.barrier();
        if (rank == last) {  // timed where it runs: the barrier's exit may reach rank 0 late
            const double t0 = bench::now();
            for (long i = 0; i < rounds; ++i) {
                lock.lock();
                lock.unlock();
            }
            std::printf(
                "bench=primitives_lock_one ranks=%d hosts=%d rank=%d rounds=%ld "
                "usec_per_acquire=%.2f\n",
                size, world.node().count, last, rounds, (bench::now() - t0) / double(rounds) * 1e6);
            std::fflush(stdout);
        }
        world.barrier();
    }
    {
        std::uint64_t taken = 0;
        const double dt = timed(world, [&] {
            for (auto range : world.schedule(std::size_t(rounds), spmd::Schedule::dynamic, 1))
                taken += range.end - range.begin;
        });
        taken = world.all_reduce(taken, spmd::Op::sum);
        if (rank == 0)
            std::printf(
                "bench=primitives_chunk ranks=%d hosts=%d chunks=%ld taken=%llu "
                "usec_per_chunk=%.3f\n",
                size, world.node().count, rounds, (unsigned long long)taken,
                dt / double(rounds) * 1e6);
    }
    {  // Rank 0 computes for `busy` seconds; the last rank counts push+pop pairs meanwhile,
       // stopping at 3/4 of that time so that every pair it counts met a busy rank 0.
        spmd::Queue<Item> queue(world, "busy home", 64);
        world.barrier();
        const double t0 = bench::now();
        if (rank == 0) {
            volatile double sink = 0;
            while (bench::now() - t0 < busy) sink = sink + 1.0;
        } else if (rank == last) {
            long pairs = 0;
            while (bench::now() - t0 < 0.75 * busy) {
                queue.push({0, std::uint64_t(pairs)});
                (void)queue.pop();
                ++pairs;
            }
            const double per_item = (bench::now() - t0) / double(std::max(1L, pairs)) * 1e6;
            std::printf(
                "bench=primitives_busy_home ranks=%d hosts=%d rank=%d busy_s=%.1f pairs=%ld "
                "usec_per_item=%.2f\n",
                size, world.node().count, last, busy, pairs, per_item);
        }
        world.barrier();
    }
    return 0;
}
