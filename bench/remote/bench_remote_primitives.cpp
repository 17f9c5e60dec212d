// bench_remote_primitives: the cost of the MPI transport's Queue, Lock and counter, whose
// words live in rank 0's memory and are reached with MPI atomics. Run under mpirun:
//   mpirun --mca osc sm,pt2pt -n 2 build/bin/bench_remote_primitives [--items I] [--rounds R]
// and across hosts with 2 ranks on each. Rank 0 prints one key=value line per figure:
//   bench=remote_queue     ranks producers consumers items usec_per_item  (push + pop)
//   bench=remote_lock      ranks rounds usec_per_acquire   (lock + unlock, every rank at once)
//   bench=remote_lock_one  usec_per_acquire                (the last rank alone: uncontended)
//   bench=remote_counter   usec_per_op                     (one fetch-and-add: a dynamic chunk)
//   bench=remote_queue_busy_home usec_per_item             (the last rank pushes and pops
//                                                            while rank 0 computes, no MPI)
#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <spmd/detail/remote_event.hpp>
#include <spmd/detail/remote_queue.hpp>

namespace {

double now() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

long option(int argc, char** argv, const char* name, long fallback) {
    for (int i = 1; i + 1 < argc; ++i)
        if (std::strcmp(argv[i], name) == 0) return std::atol(argv[i + 1]);
    return fallback;
}

struct Item {
    std::uint64_t producer, seq;
};

// Seconds between two barriers around fn, as rank 0 saw them.
template <class Fn>
double timed(Fn&& fn) {
    MPI_Barrier(MPI_COMM_WORLD);
    const double t0 = now();
    fn();
    MPI_Barrier(MPI_COMM_WORLD);
    return now() - t0;
}

}  // namespace

int main(int argc, char** argv) {
    MPI_Init(&argc, &argv);
    int rank = 0, size = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (size < 2) {
        std::fprintf(stderr, "bench_remote_primitives: run it under mpirun with 2 or more ranks\n");
        MPI_Finalize();
        return 2;
    }
    const long items = std::max(1L, option(argc, argv, "--items", 4000));
    const long rounds = std::max(1L, option(argc, argv, "--rounds", 1000));
    const int last = size - 1;

    {  // Queue: the upper half of the ranks produce, the lower half consume (rank 0 too).
        spmd::detail::RemoteQueue queue("bench", 1024, sizeof(Item));
        spmd::detail::RemoteQueue done("producers done", std::size_t(size), sizeof(int));
        const int producers = size / 2, first_producer = size - producers;
        std::uint64_t popped = 0;
        const double dt = timed([&] {
            if (rank >= first_producer) {
                const int p = rank - first_producer;
                const long n = items / producers + (p < items % producers);
                for (long s = 0; s < n; ++s) {
                    const Item item{std::uint64_t(rank), std::uint64_t(s)};
                    queue.push(&item);
                }
                done.push(&rank);
                if (done.size_hint() == std::size_t(producers)) queue.close();
            } else {
                Item item{};
                while (queue.pop(&item)) ++popped;
            }
        });
        std::uint64_t total = 0;
        MPI_Reduce(&popped, &total, 1, MPI_UINT64_T, MPI_SUM, 0, MPI_COMM_WORLD);
        if (rank == 0) {
            if (total != std::uint64_t(items)) {
                std::fprintf(stderr, "bench_remote_primitives: popped %llu of %ld items\n",
                             (unsigned long long)total, items);
                MPI_Abort(MPI_COMM_WORLD, 1);
            }
            std::printf(
                "bench=remote_queue ranks=%d producers=%d consumers=%d items=%ld "
                "usec_per_item=%.2f\n",
                size, producers, size - producers, items, dt / double(items) * 1e6);
        }
    }
    {  // Lock: every rank takes it `rounds` times at once, then the last rank alone.
        spmd::detail::RemoteLock lock("bench");
        const double all = timed([&] {
            for (long i = 0; i < rounds; ++i) {
                lock.lock();
                lock.unlock();
            }
        });
        const double one = timed([&] {
            if (rank == last)
                for (long i = 0; i < rounds; ++i) {
                    lock.lock();
                    lock.unlock();
                }
        });
        if (rank == 0) {
            std::printf("bench=remote_lock ranks=%d rounds=%ld usec_per_acquire=%.2f\n", size,
                        rounds, all / double(rounds * size) * 1e6);
            std::printf("bench=remote_lock_one ranks=%d rank=%d rounds=%ld usec_per_acquire=%.2f\n",
                        size, last, rounds, one / double(rounds) * 1e6);
        }
    }
    {  // A counter taken by fetch-and-add, as a dynamic schedule takes its chunks.
        spmd::detail::RemoteQueue unused("counter home", 1, 8);  // keeps window order alike
        MPI_Win win;
        std::uint64_t* base = nullptr;
        MPI_Win_allocate(rank == 0 ? 8 : 0, 8, MPI_INFO_NULL, MPI_COMM_WORLD, &base, &win);
        if (rank == 0) *base = 0;
        MPI_Barrier(MPI_COMM_WORLD);
        MPI_Win_lock_all(MPI_MODE_NOCHECK, win);
        const double dt = timed([&] {
            const std::uint64_t one = 1;
            std::uint64_t old = 0;
            for (long i = 0; i < rounds; ++i) {
                MPI_Fetch_and_op(&one, &old, MPI_UINT64_T, 0, 0, MPI_SUM, win);
                MPI_Win_flush(0, win);
            }
        });
        MPI_Win_unlock_all(win);
        MPI_Win_free(&win);
        if (rank == 0)
            std::printf("bench=remote_counter ranks=%d ops=%ld usec_per_op=%.2f\n", size,
                        rounds * size, dt / double(rounds * size) * 1e6);
    }
    {  // A compute-bound home: rank 0 runs for a while without entering MPI.
        spmd::detail::RemoteQueue queue("busy home", 64, sizeof(Item));
        const long pairs = std::max(1L, items / 20);
        double per_item = 0;
        MPI_Barrier(MPI_COMM_WORLD);
        if (rank == last) {
            const double t0 = now();
            Item item{}, out{};
            for (long s = 0; s < pairs; ++s) {
                item.seq = std::uint64_t(s);
                queue.push(&item);
                (void)queue.pop(&out);
            }
            per_item = (now() - t0) / double(pairs) * 1e6;
            MPI_Send(&per_item, 1, MPI_DOUBLE, 0, 0, MPI_COMM_WORLD);
        } else if (rank == 0) {
            // Busy until the measurement ends: test for its message only every 50 ms.
            int arrived = 0;
            volatile double sink = 0;
            while (!arrived) {
                const double until = now() + 0.05;
                while (now() < until) sink = sink + 1.0;
                MPI_Iprobe(last, 0, MPI_COMM_WORLD, &arrived, MPI_STATUS_IGNORE);
            }
            MPI_Recv(&per_item, 1, MPI_DOUBLE, last, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            std::printf(
                "bench=remote_queue_busy_home ranks=%d rank=%d pairs=%ld usec_per_item=%.2f\n",
                size, last, pairs, per_item);
        }
        MPI_Barrier(MPI_COMM_WORLD);
    }
    MPI_Finalize();
    return 0;
}
