#include "spmd/rbf/points.hpp"

#include <charconv>
#include <cmath>
#include <random>

#include "spmd/error.hpp"
#include "spmd/npy.hpp"

namespace spmd::rbf {

Points load_points(const std::string& path) {
    // Any real dtype, C or Fortran order, 1-D as one coordinate: float64 C order from here.
    const auto [n, d] = npy::matrix_shape(path, npy::read_header(path));
    Points p{n, d, {}};
    check_points(p, path);  // n and d before reading: an empty file says so, not "0 values"
    p.coords = npy::load_as<double>(path).data;
    check_points(p, path);
    return p;
}

Points random_points(std::size_t n, std::size_t d, std::uint64_t seed) {
    Points p{n, d, std::vector<double>(n * d)};
    // mt19937_64 is fully specified by the standard; the top 53 bits give a double in
    // [0,1) without the library-defined uniform_real_distribution.
    std::mt19937_64 gen(seed);
    for (double& x : p.coords) x = static_cast<double>(gen() >> 11) * 0x1p-53;
    check_points(p, "--random");
    return p;
}

std::pair<std::size_t, std::size_t> parse_random_spec(std::string_view spec) {
    const auto bad = [&] {
        return UsageError("--random wants N,D with N >= 1 and D >= 1, got '" + std::string(spec) +
                          "'");
    };
    const auto comma = spec.find(',');
    if (comma == std::string_view::npos) throw bad();
    std::size_t v[2] = {0, 0};
    const std::string_view parts[2] = {spec.substr(0, comma), spec.substr(comma + 1)};
    for (int k = 0; k < 2; ++k) {
        auto [end, ec] = std::from_chars(parts[k].data(), parts[k].data() + parts[k].size(), v[k]);
        if (ec != std::errc() || end != parts[k].data() + parts[k].size() || v[k] == 0) throw bad();
    }
    return {v[0], v[1]};
}

void check_points(const Points& p, std::string_view what) {
    const std::string src(what);
    if (p.n == 0) throw UsageError(src + ": no points (n = 0)");
    if (p.d == 0) throw UsageError(src + ": points have no coordinates (d = 0)");
    if (p.coords.empty()) return;  // shape only, values still to come
    if (p.coords.size() != p.n * p.d)
        throw UsageError(src + ": expected " + std::to_string(p.n * p.d) + " values");
    for (std::size_t k = 0; k < p.coords.size(); ++k)
        if (!std::isfinite(p.coords[k]))
            throw UsageError(src + ": row " + std::to_string(k / p.d) + " column " +
                             std::to_string(k % p.d) + " is " +
                             (std::isnan(p.coords[k]) ? "nan" : "inf") +
                             ": coordinates must be finite");
}

}  // namespace spmd::rbf
