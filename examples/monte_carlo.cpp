// monte_carlo: the integral of x^2 over [0, 1] (exactly 1/3) by random sampling. Each
// rank draws its own samples from a generator seeded by its rank, so ranks never repeat
// each other's numbers; one all_reduce adds up the partial sums.
//   mprun -n 4 build/bin/monte_carlo [--samples N]
#include <spmd/world.hpp>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>

int main(int argc, char** argv) {
    spmd::World world(argc, argv);
    long samples = 10'000'000;
    for (int i = 1; i + 1 < argc; ++i)
        if (std::strcmp(argv[i], "--samples") == 0) samples = std::atol(argv[i + 1]);
    if (samples < 1) {
        std::fprintf(stderr, "monte_carlo: --samples must be at least 1\n");
        return 2;
    }
    // This rank's share of the samples: a static block of [0, samples).
    long mine = 0;
    for (spmd::Range r : world.schedule(std::size_t(samples), spmd::Schedule::static_))
        mine += long(r.size());

    std::mt19937_64 random(12345 + 7919 * std::uint64_t(world.rank()));
    std::uniform_real_distribution<double> uniform(0.0, 1.0);
    double sum = 0;
    for (long i = 0; i < mine; ++i) {
        const double x = uniform(random);
        sum += x * x;
    }
    const double total = world.all_reduce(sum, spmd::Op::sum);
    if (world.rank() == 0) {
        const double estimate = total / double(samples);
        std::printf("integral of x^2 on [0,1] ~ %.6f with %ld samples on %d ranks "
                    "(exact 1/3, error %.1e)\n",
                    estimate, samples, world.size(), estimate - 1.0 / 3.0);
    }
    return 0;
}
