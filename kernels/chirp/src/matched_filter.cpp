#include "spmd/chirp/matched_filter.hpp"

#include <fftw3.h>

#include <cassert>
#include <cmath>
#include <limits>

#include "spmd/error.hpp"

namespace spmd::chirp {

namespace {
const Grid& checked(const Grid& grid) {
    grid.check();
    return grid;
}
}  // namespace

MatchedFilter::MatchedFilter(const Grid& grid, PlanRigor rigor, bool wisdom_only)
    : samples_(checked(grid).samples),
      scale_(4.0 / grid.df() / double(grid.time_samples())),
      in_(grid.samples),
      out_(grid.time_samples()) {
    // MEASURE scribbles over both buffers while it times candidates: plan first, fill after.
    const unsigned flags = fftw_flags(rigor) | (wisdom_only ? FFTW_WISDOM_ONLY : 0u);
    plan_ = fftw_plan_dft_c2r_1d(int(grid.time_samples()),
                                 reinterpret_cast<fftw_complex*>(in_.data()), out_.data(), flags);
    if (!plan_)
        throw Error(wisdom_only ? "FFTW wisdom handed over by rank 0 does not cover the transform"
                                : "FFTW could not plan the inverse transform");
}

MatchedFilter::~MatchedFilter() { fftw_destroy_plan(plan_); }

void MatchedFilter::execute() { fftw_execute(plan_); }

double MatchedFilter::snr(std::span<const Complex> signal, std::span<const Complex> templ) {
    assert(signal.size() == samples_ && templ.size() == samples_);
    // conj(s) h, written straight into the plan's input (c2r destroys it, so every call
    // refills it). Split into doubles so that GCC vectorises without -ffast-math's
    // complex-multiply shortcuts (std::complex's operator* calls __muldc3 for NaN/inf rules).
    const double* __restrict s = reinterpret_cast<const double*>(signal.data());
    const double* __restrict h = reinterpret_cast<const double*>(templ.data());
    double* __restrict p = reinterpret_cast<double*>(in_.data());
    for (std::size_t k = 0; k < samples_; ++k) {
        const double sr = s[2 * k], si = s[2 * k + 1], hr = h[2 * k], hi = h[2 * k + 1];
        p[2 * k] = sr * hr + si * hi;
        p[2 * k + 1] = sr * hi - si * hr;
    }
    fftw_execute(plan_);
    const double* x = out_.data();
    const std::size_t n = out_.size();
    double best = -std::numeric_limits<double>::infinity();
    // Order-free (max is exact), so the vector reduction changes no bits.
#pragma omp simd reduction(max : best)
    for (std::size_t i = 0; i < n; ++i) best = x[i] > best ? x[i] : best;
    // scale_ > 0 commutes with max: one multiply instead of n.
    return best * scale_;
}

}  // namespace spmd::chirp
