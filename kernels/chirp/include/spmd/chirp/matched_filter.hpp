// MatchedFilter: SNR = max over shifts t of irfft((4/df) conj(s) h)[t] (numpy's irfft: n =
// 2 (samples - 1) points, scaled 1/n), every shift from one FFT as in FINDCHIRP (Allen et al.
// 2012, Phys. Rev. D 85, 122006). Owns one c2r plan and its buffers: one per rank, reused.
#pragma once
#include <cstddef>
#include <span>

#include "spmd/chirp/aligned_buffer.hpp"
#include "spmd/chirp/fft_plan.hpp"
#include "spmd/chirp/grid.hpp"
#include "spmd/chirp/waveform.hpp"

struct fftw_plan_s;  // FFTW's plan type, kept out of users' includes

namespace spmd::chirp {

class MatchedFilter {
public:
    // Plans with whatever wisdom FFTW holds in this process. With wisdom_only, planning
    // must come from that wisdom (throws spmd::Error if it does not cover the transform):
    // ranks > 0 use it to get rank 0's plan, hence bitwise the same SNRs.
    MatchedFilter(const Grid& grid, PlanRigor rigor, bool wisdom_only = false);
    ~MatchedFilter();
    MatchedFilter(const MatchedFilter&) = delete;
    MatchedFilter& operator=(const MatchedFilter&) = delete;

    // signal and templ hold grid.samples bins each.
    double snr(std::span<const Complex> signal, std::span<const Complex> templ);

    // The pieces of snr(), for tests and benchmarks: the plan's input (the product is
    // written here; the transform destroys it), its output (unscaled: times scale() it
    // is irfft's), and one bare transform.
    std::span<Complex> input() const { return in_.span(); }
    std::span<const double> output() const { return out_.span(); }
    double scale() const { return scale_; }
    void execute();

private:
    std::size_t samples_;
    double scale_;  // (4/df) / n, applied once to the maximum rather than to every bin
    AlignedBuffer<Complex> in_;
    AlignedBuffer<double> out_;
    fftw_plan_s* plan_ = nullptr;
};

}  // namespace spmd::chirp
