// bench_allreduce: all_reduce (sum) latency of 1, 1024 and 2^20 doubles with separate
// input and output buffers, back to back, as bench/mpi/allreduce.c measures
// MPI_Allreduce; the figure is the mean over ranks.
//   mprun -n N build/bin/bench_allreduce [--seconds S]
//   bench=allreduce ranks=N count=C usec=X
#include <cstdio>
#include <vector>

#include "bench_common.hpp"

int main(int argc, char** argv) {
    spmd::World world(argc, argv);
    const double target = bench::seconds_option(argc, argv);
    for (std::size_t count : {std::size_t(1), std::size_t(1024), std::size_t(1) << 20}) {
        std::vector<double> in(count, 1.0 + world.rank()), out(count, 0.0);
        auto kernel = [&](long iters) {
            for (long i = 0; i < iters; ++i)
                world.all_reduce(std::span<const double>(in), std::span<double>(out),
                                 spmd::Op::sum);
        };
        kernel(count > 100000 ? 10 : 1000);
        const long iters = bench::calibrate(world, kernel, target, 10, 50'000'000);
        const double per = bench::time_per_iteration(world, kernel, iters);
        const double mean = world.all_reduce(per, spmd::Op::sum) / world.size();
        if (world.rank() == 0)
            bench::figure("bench=allreduce ranks=%d count=%zu iters=%ld usec=%.3f\n", world.size(),
                          count, iters, mean * 1e6);
        std::fflush(stdout);
    }
    return 0;
}
