// bench_queue: throughput of spmd::Queue, as rigtorp/MPMCQueue's benchmark measures it:
// P producer ranks push items/P items each, C consumer ranks pop until close(); the time is
// from a barrier before the first push to a barrier after the last pop, best of --repeat.
// Run as `mprun -n N build/bin/bench_queue [--items I] [--capacity Q] [--producers P]
// [--repeat R]` (default P = N/2, the rest consume); rank 0 prints
//   bench=queue ranks=N producers=P consumers=C capacity=Q item_bytes=16 items=I items_per_s=X
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <spmd/queue.hpp>
#include <spmd/world.hpp>
#include <string>

#include "bench_common.hpp"

namespace {

struct Item {
    std::uint64_t producer;
    std::uint64_t seq;
};

long arg(int argc, char** argv, const char* name, long fallback) {
    return long(bench::number_option(argc, argv, name, double(fallback)));
}

}  // namespace

int main(int argc, char** argv) {
    spmd::World world(argc, argv);
    const int size = world.size(), rank = world.rank();
    const auto items = std::uint64_t(arg(argc, argv, "--items", 4'000'000));
    const auto capacity = std::size_t(arg(argc, argv, "--capacity", 1024));
    const int repeat = int(std::max(1L, arg(argc, argv, "--repeat", 3)));
    // A world of size 1 plays both parts in turn, batch by batch: the uncontended cost.
    const int producers =
        size == 1 ? 1
                  : int(std::clamp(arg(argc, argv, "--producers", size / 2), 1L, long(size - 1)));
    const int consumers = size == 1 ? 1 : size - producers;

    auto finished = world.shared<std::uint32_t>("finished producers", 1);
    auto popped = world.shared<std::uint64_t>("popped", 1);
    double best = 1e300;
    for (int r = 0; r < repeat; ++r) {
        spmd::Queue<Item> queue(world, "bench", capacity);
        if (rank == 0) finished[0] = 0, popped[0] = 0;
        world.barrier();
        const double t0 = bench::now();
        std::uint64_t mine = 0;
        if (size == 1) {
            for (std::uint64_t s = 0; s < items;) {
                const std::uint64_t batch = std::min<std::uint64_t>(capacity, items - s);
                for (std::uint64_t i = 0; i < batch; ++i) queue.push({0, s + i});
                for (std::uint64_t i = 0; i < batch; ++i) mine += queue.pop().has_value();
                s += batch;
            }
        } else if (rank < producers) {
            const std::uint64_t n = items / std::uint64_t(producers) +
                                    (std::uint64_t(rank) < items % std::uint64_t(producers));
            for (std::uint64_t s = 0; s < n; ++s) queue.push({std::uint64_t(rank), s});
            if (std::atomic_ref(finished[0]).fetch_add(1) + 1 == std::uint32_t(producers))
                queue.close();
        } else {
            while (queue.pop()) ++mine;
        }
        std::atomic_ref(popped[0]).fetch_add(mine);
        world.barrier();
        const double dt = bench::now() - t0;
        if (rank == 0 && popped[0] != items) {
            std::fprintf(stderr, "bench_queue: popped %llu of %llu items\n",
                         (unsigned long long)popped[0], (unsigned long long)items);
            return 1;
        }
        best = std::min(best, dt);
        world.barrier();  // nobody resets the counters before rank 0 has read them
    }
    if (rank == 0)
        bench::figure(
            "bench=queue ranks=%d producers=%d consumers=%d capacity=%zu item_bytes=%zu "
            "items=%llu repeat=%d seconds=%.4f items_per_s=%.0f ns_per_item=%.1f\n",
            size, producers, consumers, capacity, sizeof(Item), (unsigned long long)items, repeat,
            best, double(items) / best, best / double(items) * 1e9);
    return 0;
}
