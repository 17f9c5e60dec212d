// The input of the RBF kernel: n points in d dimensions, row-major (n x d float64), read
// from a .npy file or drawn at random from a seed. Both check what the kernel assumes:
// n >= 1, d >= 1, every coordinate finite; a violation is a UsageError.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace spmd::rbf {

struct Points {
    std::size_t n = 0;
    std::size_t d = 0;
    std::vector<double> coords;  // point i is coords[i*d, i*d + d)
    const double* row(std::size_t i) const { return coords.data() + i * d; }
};

// A 2-D .npy array of any real dtype, converted to float64.
Points load_points(const std::string& path);
// n points uniform in [0,1)^d; the same (n, d, seed) gives the same bits everywhere.
Points random_points(std::size_t n, std::size_t d, std::uint64_t seed);
// "n,d" as given to --random, e.g. "6000,3".
std::pair<std::size_t, std::size_t> parse_random_spec(std::string_view spec);
// Throws UsageError unless n >= 1, d >= 1 and coords holds n*d finite values (or is
// empty, to check the shape before reading); `what` names the source in the message.
void check_points(const Points& points, std::string_view what);

}  // namespace spmd::rbf
