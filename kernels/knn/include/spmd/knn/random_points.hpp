// Uniform [0, 1) test points that are the same for a seed whatever the number of ranks:
// value i of a stream is a pure function of (seed, stream, i) (SplitMix64 at position i),
// so any rank can fill any part of the array.
//   auto x = world.shared<double>("X", n * d);
//   spmd::knn::fill_uniform(world, x, seed, 0);   // collective; returns after a barrier
#pragma once
#include <cstdint>
#include <span>

#include "spmd/world.hpp"

namespace spmd::knn {

// The i-th value of stream `stream` for `seed`: a double in [0, 1) with 53 random bits.
double uniform_at(std::uint64_t seed, std::uint64_t stream, std::uint64_t i);

// Collective: the ranks of each host fill `out` (a shared array, one per host) in parts.
void fill_uniform(World& world, std::span<double> out, std::uint64_t seed, std::uint64_t stream);

}  // namespace spmd::knn
