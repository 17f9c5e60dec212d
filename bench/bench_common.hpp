// What the benchmarks share: a clock, the --seconds option, and the calibration of the
// MPI anchors (double a trial count until rank 0 has seen 50 ms, scale to the target,
// agree on it through a broadcast), so mprun's figures and OpenMPI's mean the same.
#pragma once
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <spmd/world.hpp>

namespace bench {

inline double now() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

// The value after `name` on the command line, or fallback.
inline double number_option(int argc, char** argv, const char* name, double fallback) {
    for (int i = 1; i + 1 < argc; ++i)
        if (std::strcmp(argv[i], name) == 0) return std::atof(argv[i + 1]);
    return fallback;
}

inline double seconds_option(int argc, char** argv, double fallback = 1.0) {
    return number_option(argc, argv, "--seconds", fallback);
}

// Returns how many iterations of kernel(iters) take about `target` seconds; every rank
// gets the same count.
template <class Kernel>
long calibrate(spmd::World& world, Kernel&& kernel, double target, long min_iters, long max_iters) {
    for (long trial = 1;; trial *= 4) {
        world.barrier();
        const double t0 = now();
        kernel(trial);
        const double dt = now() - t0;
        double decision[2] = {dt >= 0.05 || trial >= max_iters ? 1.0 : 0.0, dt / double(trial)};
        world.broadcast(std::span<double>(decision, 2), 0);
        if (decision[0] != 0.0)
            return std::clamp(long(target / std::max(decision[1], 1e-9)), min_iters, max_iters);
    }
}

// Times kernel(iters) after a barrier; returns seconds per iteration on this rank.
template <class Kernel>
double time_per_iteration(spmd::World& world, Kernel&& kernel, long iters) {
    world.barrier();
    const double t0 = now();
    kernel(iters);
    return (now() - t0) / double(iters);
}

}  // namespace bench
