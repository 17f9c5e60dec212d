// The frequency grid of the chirp search: f = linspace(0, fmax, samples) as numpy makes it
// (f[k] = k * df, the last bin exactly fmax), and the band edge fmin at and below which
// templates are zero. The real inverse transform of a spectrum on it has 2 (samples - 1) points.
#pragma once
#include <cstddef>

namespace spmd::chirp {

inline constexpr double solar_mass_seconds = 4.9257e-6;  // G Msun / c^3

struct Grid {
    std::size_t samples = 65537;  // 2^16 + 1 bins: a 2^17-point real time series
    double fmax = 1024.0;         // Hz
    double fmin = 40.0;           // Hz

    double df() const { return fmax / double(samples - 1); }
    double frequency(std::size_t k) const { return k + 1 == samples ? fmax : double(k) * df(); }
    std::size_t time_samples() const { return 2 * (samples - 1); }

    // Throws spmd::UsageError unless 2 <= samples <= 2^30 and 0 <= fmin < fmax (finite).
    void check() const;
};

}  // namespace spmd::chirp
