#include "spmd/chirp/signals.hpp"

#include <random>

namespace spmd::chirp {

std::vector<double> random_masses(std::size_t count, double lo, double hi, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> uniform(lo, hi);
    std::vector<double> masses(count);
    for (auto& m : masses) m = lo == hi ? lo : uniform(rng);
    return masses;
}

void add_white_noise(std::span<Complex> signal, double sigma, std::uint64_t seed,
                     std::size_t index) {
    if (sigma == 0) return;
    // A stream per (seed, signal): the masses use seed alone, so no draw is shared.
    std::seed_seq seq{std::uint32_t(seed), std::uint32_t(seed >> 32), std::uint32_t(index),
                      std::uint32_t(std::uint64_t(index) >> 32), 0x6e6f6973u};
    std::mt19937_64 rng(seq);
    std::normal_distribution<double> normal(0.0, sigma);
    for (auto& x : signal) {
        const double re = normal(rng);
        x += Complex(re, normal(rng));
    }
}

}  // namespace spmd::chirp
