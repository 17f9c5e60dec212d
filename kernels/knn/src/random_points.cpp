#include "spmd/knn/random_points.hpp"

#include <algorithm>

namespace spmd::knn {

namespace {
// SplitMix64's output function (Steele, Lea and Flood 2014).
std::uint64_t mix(std::uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}
constexpr std::uint64_t golden = 0x9e3779b97f4a7c15u;

// A SplitMix64 sequence whose start depends on seed and stream, read at position i.
std::uint64_t stream_start(std::uint64_t seed, std::uint64_t stream) {
    return mix(seed ^ mix(stream + golden));
}
double value(std::uint64_t start, std::uint64_t i) {
    return double(mix(start + (i + 1) * golden) >> 11) * 0x1.0p-53;  // top 53 bits
}
}  // namespace

double uniform_at(std::uint64_t seed, std::uint64_t stream, std::uint64_t i) {
    return value(stream_start(seed, stream), i);
}

void fill_uniform(World& world, std::span<double> out, std::uint64_t seed, std::uint64_t stream) {
    const std::uint64_t start = stream_start(seed, stream);
    // Each host fills its own copy, a share per rank of the host: no bytes cross hosts.
    const Node& node = world.node();
    const std::size_t parts = node.ranks.size(), part = std::size_t(node.local_rank);
    const std::size_t begin = out.size() / parts * part + std::min(part, out.size() % parts);
    const std::size_t end = begin + out.size() / parts + (part < out.size() % parts ? 1 : 0);
    for (std::size_t i = begin; i < end; ++i) out[i] = value(start, i);
    world.barrier();
}

}  // namespace spmd::knn
