// bench_schedule: what a loop schedule costs per chunk handed out. Every rank runs an
// empty-bodied loop of n indices with chunk 1 (dynamic) or minimum 1 (guided), or the
// round-robin static schedule with chunk 1, and divides the time by the chunks it took.
//   mprun -n N build/bin/bench_schedule [--n N]
//   bench=schedule ranks=N policy=P n=.. chunks=.. ns_per_chunk=..
#include <cstdio>

#include "bench_common.hpp"

int main(int argc, char** argv) {
    spmd::World world(argc, argv);
    const auto n = std::size_t(bench::number_option(argc, argv, "--n", 2'000'000));
    for (auto policy : {spmd::Schedule::static_, spmd::Schedule::dynamic, spmd::Schedule::guided}) {
        double best = 1e300;
        long chunks_taken = 0;
        for (int repeat = 0; repeat < 3; ++repeat) {
            world.barrier();
            const double t0 = bench::now();
            long chunks = 0;
            std::size_t sink = 0;
            for (spmd::Range r : world.schedule(n, policy, 1)) {
                ++chunks;
                sink += r.size();
            }
            const double dt = bench::now() - t0;
            // Chunks of every rank over the time of the slowest: the loop's real cost.
            const long all = long(world.all_reduce(double(chunks), spmd::Op::sum));
            const double slowest = world.all_reduce(dt, spmd::Op::max);
            if (world.all_reduce(double(sink), spmd::Op::sum) != double(n)) return 1;
            if (slowest / double(all) < best) best = slowest / double(all), chunks_taken = all;
        }
        if (world.rank() == 0)
            bench::figure("bench=schedule ranks=%d policy=%s n=%zu chunks=%ld ns_per_chunk=%.1f\n",
                          world.size(), std::string(spmd::to_string(policy)).c_str(), n,
                          chunks_taken, best * 1e9);
    }
    return 0;
}
