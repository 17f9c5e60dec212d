// bench_barrier: average World::barrier latency, as the OSU-style MPI anchor measures
// MPI_Barrier: warm up, calibrate to about --seconds, then time back-to-back barriers.
// Run as `mprun -n N build/bin/bench_barrier [--seconds S]`; rank 0 prints
//   bench=barrier ranks=N iters=I usec=X
#include <spmd/world.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace {
double now() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
}
}  // namespace

int main(int argc, char** argv) {
    spmd::World world(argc, argv);
    double target = 1.0;
    for (int i = 1; i + 1 < argc; ++i)
        if (std::strcmp(argv[i], "--seconds") == 0) target = std::atof(argv[i + 1]);

    auto shared_iters = world.shared<long>("iters", 1);
    for (int i = 0; i < 1000; ++i) world.barrier();
    // Calibrate on rank 0's clock; everyone runs the same count.
    long trial = 100;
    for (;;) {
        world.barrier();
        const double t0 = now();
        for (long i = 0; i < trial; ++i) world.barrier();
        const double dt = now() - t0;
        if (world.rank() == 0) shared_iters[0] = dt >= 0.05 ? long(target / (dt / trial)) + 1 : 0;
        world.barrier();
        if (shared_iters[0] > 0) break;
        trial *= 4;
        world.barrier();  // nobody may read the next decision before it is made
    }
    const long iters = shared_iters[0];
    world.barrier();
    const double t0 = now();
    for (long i = 0; i < iters; ++i) world.barrier();
    const double per = (now() - t0) / double(iters);
    if (world.rank() == 0)
        std::printf("bench=barrier ranks=%d iters=%ld usec=%.3f\n", world.size(), iters, per * 1e6);
    return 0;
}
