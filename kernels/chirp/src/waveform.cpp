#include "spmd/chirp/waveform.hpp"

#include <cmath>
#include <numbers>
#include <string>

#include "spmd/error.hpp"

namespace spmd::chirp {

namespace {
using std::numbers::pi;

void check_bins(std::size_t bins, const Grid& grid, const char* who) {
    if (bins != grid.samples)
        throw Error(std::string(who) + ": " + std::to_string(bins) + " bins given for a grid of " +
                    std::to_string(grid.samples));
}

double phase_coefficient(double mc) {  // (3/128) (pi Mc Msun)^(-5/3)
    return 3.0 / 128.0 * std::pow(pi * mc * solar_mass_seconds, -5.0 / 3.0);
}
double amplitude_coefficient(double mc) {  // sqrt(5/24) pi^(-2/3) (Mc Msun)^(5/6)
    return std::sqrt(5.0 / 24.0) * std::pow(pi, -2.0 / 3.0) *
           std::pow(mc * solar_mass_seconds, 5.0 / 6.0);
}
}  // namespace

void chirp_waveform(double mc, const Grid& grid, std::span<Complex> h) {
    check_bins(h.size(), grid, "chirp_waveform");
    for (std::size_t k = 0; k < h.size(); ++k) {
        const double f = grid.frequency(k);
        if (k == 0 || !(f > grid.fmin)) {
            h[k] = 0;
            continue;
        }
        const double phase = 3.0 / 128.0 * std::pow(pi * mc * solar_mass_seconds * f, -5.0 / 3.0);
        const double amplitude = std::sqrt(5.0 / 24.0) * std::pow(pi, -2.0 / 3.0) *
                                 std::pow(mc * solar_mass_seconds, 5.0 / 6.0) *
                                 std::pow(f, -7.0 / 6.0);
        h[k] = amplitude * std::exp(Complex(0, -phase));
    }
}

double normsq(std::span<const Complex> s, double df) {
    const double* x = reinterpret_cast<const double*>(s.data());
    double sum = 0;
#pragma omp simd reduction(+ : sum)
    for (std::size_t i = 0; i < 2 * s.size(); ++i) sum += x[i] * x[i];
    return 4.0 / df * sum;
}

void normalise(std::span<Complex> s, double df) {
    const double inv = 1.0 / std::sqrt(normsq(s, df));
    for (auto& x : s) x *= inv;
}

ChirpTables::ChirpTables(const Grid& grid) : grid_(grid) {
    grid_.check();
    // k = 0 is excluded even when fmin is 0: f^(-7/6) diverges there and h(0) = 0.
    first_ = 1;
    while (first_ < grid_.samples && !(grid_.frequency(first_) > grid_.fmin)) ++first_;
    const std::size_t n = grid_.samples - first_;
    phase_power_.resize(n);
    magnitude_.resize(n);
    unit_magnitude_.resize(n);
    double sum = 0;  // sum f^(-7/3): normsq of the Mc-free part of h
    for (std::size_t i = 0; i < n; ++i) {
        const double f = grid_.frequency(first_ + i);
        phase_power_[i] = std::pow(f, -5.0 / 3.0);
        magnitude_[i] = std::pow(f, -7.0 / 6.0);
        sum += magnitude_[i] * magnitude_[i];
    }
    const double inv_norm = 1.0 / std::sqrt(4.0 / grid_.df() * sum);
    for (std::size_t i = 0; i < n; ++i) unit_magnitude_[i] = magnitude_[i] * inv_norm;
}

void ChirpTables::normalised_template(double mc, std::span<Complex> out) const {
    fill(mc, 1.0, unit_magnitude_, out);
}

void ChirpTables::waveform(double mc, std::span<Complex> out) const {
    fill(mc, amplitude_coefficient(mc), magnitude_, out);
}

void ChirpTables::fill(double mc, double amplitude, const std::vector<double>& magnitude,
                       std::span<Complex> out) const {
    check_bins(out.size(), grid_, "ChirpTables");
    const double c = phase_coefficient(mc);
    double* o = reinterpret_cast<double*>(out.data());
    for (std::size_t k = 0; k < 2 * first_; ++k) o[k] = 0;
    o += 2 * first_;
    const double* g = phase_power_.data();
    const double* m = magnitude.data();
    // One sincos per bin is the whole cost (about 13 ns): the powers come from the tables.
    for (std::size_t i = 0; i < phase_power_.size(); ++i) {
        const double phase = c * g[i];
        const double a = amplitude * m[i];
        o[2 * i] = a * std::cos(phase);
        o[2 * i + 1] = -a * std::sin(phase);
    }
}

}  // namespace spmd::chirp
