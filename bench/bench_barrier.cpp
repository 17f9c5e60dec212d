// bench_barrier: average World::barrier latency, measured as the OSU-style MPI anchor
// (bench/mpi/barrier.c) measures MPI_Barrier: 1000 warm-up barriers,
// calibration to about --seconds, then back-to-back barriers; the mean over ranks.
//   mprun -n N build/bin/bench_barrier [--seconds S]
//   bench=barrier ranks=N iters=I usec=X
#include <cstdio>

#include "bench_common.hpp"

int main(int argc, char** argv) {
    spmd::World world(argc, argv);
    auto barriers = [&](long iters) {
        for (long i = 0; i < iters; ++i) world.barrier();
    };
    barriers(1000);
    const long iters =
        bench::calibrate(world, barriers, bench::seconds_option(argc, argv), 100, 50'000'000);
    const double per = bench::time_per_iteration(world, barriers, iters);
    const double mean = world.all_reduce(per, spmd::Op::sum) / world.size();
    if (world.rank() == 0)
        bench::figure("bench=barrier ranks=%d iters=%ld usec=%.3f\n", world.size(), iters,
                      mean * 1e6);
    return 0;
}
