// MatchedFilter: SNR = max over shifts t of irfft((4/df) conj(s) h)[t] (numpy's irfft: n =
// 2 (samples - 1) points, scaled 1/n), every shift from one inverse FFT as in FINDCHIRP
// (Allen et al. 2012, Phys. Rev. D 85, 122006). One per rank, reused for every pair.
//
// How, and why not one FFTW c2r: a c2r of n points is a complex transform of L = n/2 points
// after a pass that folds bin k with bin L - k, and FFTW's own plan for 2^17 points does
// exactly that, as one more sweep over 1 MB. Here that fold is done while the product
// conj(s) h is formed, and fused with the first radix-4 step of the complex transform, so one
// pass over the signal and template leaves four independent transforms of L/4 points that
// each fit in L2. The maximum does not care about the order of the series, so no transpose
// is needed either. For the default grid this costs about what the bare c2r does, product and
// maximum included (bench_chirp). Lengths L not divisible by 4 take a plain scalar fold and
// one transform of L points.
#pragma once
#include <cstddef>
#include <span>
#include <vector>

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

    // signal and templ hold grid.samples bins each. The imaginary parts of the first and
    // last products are ignored, as irfft does.
    double snr(std::span<const Complex> signal, std::span<const Complex> templ);

    // The pieces of snr(), for tests and benchmarks: the folded spectrum, its transforms
    // (which leave it destroyed), the maximum of the result, and the whole correlation
    // series of the last snr() in time order, irfft's n values (a copy).
    void fold(std::span<const Complex> signal, std::span<const Complex> templ);
    void transform();
    double peak() const;
    std::vector<double> series() const;

    std::size_t radix() const { return radix_; }
    // The fold runs 4 lanes wide with AVX2 and FMA where the CPU has them, else 2 wide
    // (SSE2); tests and benchmarks can ask for the 2-wide path on any CPU.
    bool wide_fold() const { return wide_fold_; }
    void use_narrow_fold() { wide_fold_ = false; }

private:
    // A signal and a template as interleaved doubles: the operands of one fold.
    struct Pair {
        const double* signal;
        const double* templ;
    };
    Complex twiddle(std::size_t k) const;          // e^(2 pi i k / n), for any k
    Complex product(Pair x, std::size_t k) const;  // conj(s_k) h_k, real at k = 0 and L
    Complex folded(Pair x, std::size_t k) const;   // the half-length spectrum at k < L
    void fold_lane(Pair x, std::size_t k1);        // the radix-4 outputs at k1, scalar
    void fold_lanes(Pair x, std::size_t first, std::size_t end);  // k1 and L/4 - k1, packed

    std::size_t length_;  // L = n / 2 = samples - 1: the complex transform's length
    std::size_t radix_;   // 4, or 1 when L is not a multiple of 4
    std::size_t part_;    // L / radix_: the length of each of the radix_ transforms
    double scale_;        // (4/df) / n, applied once to the maximum rather than to every bin
    // e^(2 pi i k / n) = coarse_[k / 64] fine_[k % 64] for k in [0, L]: tables of a few KB
    // that stay in L1, where a table per k would add a stream as large as the spectrum.
    std::vector<Complex> coarse_, fine_;
    AlignedBuffer<Complex> spectrum_;  // radix_ rows of part_: the transforms' inputs
    AlignedBuffer<Complex> series_;    // their outputs: z[radix_ j + r] at r part_ + j
    fftw_plan_s* plan_ = nullptr;
    bool wide_fold_;
};

// snr(s, s) at shift 0, the squared norm under which snr() correlates:
// (4/df)/n (|s_0|^2 + |s_L|^2 + 2 sum_{0<k<L} |s_k|^2). By Cauchy-Schwarz, snr(s, h) <=
// sqrt(self_correlation(s) self_correlation(h)): their quotient, the normalised match, is
// at most 1, and 1 only for a signal that is the template shifted in time (and scaled).
double self_correlation(std::span<const Complex> s, const Grid& grid);

}  // namespace spmd::chirp
