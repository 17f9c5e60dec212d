// monte_carlo: the integral of x^2 over [0, 1] (exactly 1/3) by random sampling. Each
// rank draws its own samples from a generator seeded by its rank, so ranks never repeat
// each other's numbers; one all_reduce adds up the partial sums.
//   mprun -n 4 build/bin/monte_carlo [--samples N]
#include <cstdio>
#include <cstdlib>
#include <random>
#include <spmd/cli.hpp>
#include <spmd/world.hpp>
#include <string>

namespace {

const char* const usage =
    "usage: monte_carlo [--samples N]\n"
    "Estimates the integral of x^2 over [0, 1] from N random samples (default 10000000),\n"
    "shared out over the ranks of `mprun -n R monte_carlo`.\n";

int estimate(spmd::World& world, int argc, char** argv) {
    long samples = 10'000'000;
    for (int i = 1; i < argc; ++i) {
        const std::string word = argv[i];
        if (word == "--help" || word == "-h") {
            if (world.rank() == 0) std::fputs(usage, stdout);
            return 0;
        }
        if (word != "--samples" || i + 1 == argc)
            throw spmd::UsageError("unknown argument '" + word + "' (see --help)");
        char* end = nullptr;
        samples = std::strtol(argv[++i], &end, 10);
        if (*end || end == argv[i] || samples < 1)
            throw spmd::UsageError("--samples must be a whole number >= 1");
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
        std::printf(
            "integral of x^2 on [0,1] ~ %.6f with %ld samples on %d ranks "
            "(exact 1/3, error %.1e)\n",
            estimate, samples, world.size(), estimate - 1.0 / 3.0);
    }
    return 0;
}

}  // namespace

// spmd::run_cli opens the World and turns a thrown error into one line, said once.
int main(int argc, char** argv) {
    return spmd::run_cli("monte_carlo", argc, argv,
                         [&](spmd::World& world) { return estimate(world, argc, argv); });
}
