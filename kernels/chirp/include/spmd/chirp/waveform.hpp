// Newtonian inspiral chirps, stationary-phase approximation (Cutler and Flanagan 1994):
//   h(f) = sqrt(5/24) pi^(-2/3) (Mc Msun)^(5/6) f^(-7/6) exp(-i (3/128) (pi Mc Msun f)^(-5/3))
// above fmin, else 0. normsq(s) = (4/df) sum |s|^2; a template is h / sqrt(normsq(h)).
#pragma once
#include <complex>
#include <cstddef>
#include <span>
#include <vector>

#include "spmd/chirp/grid.hpp"

namespace spmd::chirp {

using Complex = std::complex<double>;

// h(f) for chirp mass `mc` (solar masses) straight from the formula: the reference that
// ChirpTables is tested against. h.size() must be grid.samples.
void chirp_waveform(double mc, const Grid& grid, std::span<Complex> h);

double normsq(std::span<const Complex> s, double df);
void normalise(std::span<Complex> s, double df);

// The powers of f that do not depend on the chirp mass, computed once per grid, so that a
// waveform costs one sincos per bin. Since |h| = A(Mc) f^(-7/6), the normalised template's
// amplitude does not depend on Mc at all: only its phase c(Mc) f^(-5/3) does.
class ChirpTables {
public:
    explicit ChirpTables(const Grid& grid);

    const Grid& grid() const { return grid_; }
    // h / sqrt(normsq(h)), equal to normalise(chirp_waveform(mc)) up to rounding.
    void normalised_template(double mc, std::span<Complex> out) const;
    // h itself (a noiseless signal), equal to chirp_waveform(mc) up to rounding.
    void waveform(double mc, std::span<Complex> out) const;

private:
    void fill(double mc, double amplitude, const std::vector<double>& magnitude,
              std::span<Complex> out) const;

    Grid grid_;
    std::size_t first_ = 0;               // first bin with f > fmin
    std::vector<double> phase_power_;     // f^(-5/3)
    std::vector<double> magnitude_;       // f^(-7/6)
    std::vector<double> unit_magnitude_;  // f^(-7/6) / sqrt((4/df) sum f^(-7/3))
};

}  // namespace spmd::chirp
