// Synthetic signals for the chirp search: random chirp masses from a seed, and white noise
// whose draws for signal k depend only on (seed, k), so that whichever rank makes signal k
// makes the same bits. Generators are std::mt19937_64 (the streams are libstdc++'s).
#pragma once
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "spmd/chirp/waveform.hpp"

namespace spmd::chirp {

// `count` masses uniform in [lo, hi].
std::vector<double> random_masses(std::size_t count, double lo, double hi, std::uint64_t seed);

// Adds independent N(0, sigma^2) draws to the real and imaginary part of every bin.
void add_white_noise(std::span<Complex> signal, double sigma, std::uint64_t seed,
                     std::size_t index);

}  // namespace spmd::chirp
