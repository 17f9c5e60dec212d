#include "spmd/chirp/matched_filter.hpp"

#include <fftw3.h>

#include <cmath>
#include <limits>
#include <numbers>
#include <string>

// The 256-bit packs of complex_pack.hpp live only inside always-inlined code of the AVX2
// fold: no call passes or returns one, so GCC's note on their calling ABI does not apply.
#pragma GCC diagnostic ignored "-Wpsabi"
#include "complex_pack.hpp"
#include "spmd/error.hpp"

// The algebra, with n = 2L real samples, X_k = conj(s_k) h_k (k = 0..L, X_0 and X_L taken
// real), W = e^(2 pi i / n), and x = irfft(X) unscaled:
//   fold:    z_t = x_2t + i x_2t+1 is the inverse DFT of length L of
//            Z_k = (X_k + conj X_(L-k)) + i W^k (X_k - conj X_(L-k)),  k = 0..L-1,
//            and Z_(L-k) comes from the same two bins: conj(sum) + i conj(W^k diff).
//   radix 4: with q = L/4 and w = W^2 (an L-th root of unity), z_(4j+r) is the inverse DFT
//            of length q, at j, of Y_r,k = w^(rk) sum_m Z_(k+qm) i^(rm),  k = 0..q-1.
// So lane k (with its mirror q - k) reads bins k + qm and L - k - qm of s and h, and writes
// the four rows Y_r at k and at q - k: one pass, then four independent transforms.

namespace spmd::chirp {

namespace {

constexpr std::size_t fine_size = 64;

const Grid& checked(const Grid& grid) {
    grid.check();
    return grid;
}

// a b without std::complex's NaN and infinity rules (a call to __muldc3 per product).
Complex times(Complex a, Complex b) {
    return {a.real() * b.real() - a.imag() * b.imag(), a.real() * b.imag() + a.imag() * b.real()};
}
Complex times_i(Complex a) {
    return {-a.imag(), a.real()};
}

Complex unit(double turns) {
    const double angle = 2 * std::numbers::pi * turns;
    return {std::cos(angle), std::sin(angle)};
}

// The radix-4 step for one lane: row r gets w_r sum_m z_m i^(rm), with w_0 = 1.
template <class C>
struct Rows {
    C r0, r1, r2, r3;
};
template <class C>
SPMD_PACK_INLINE Rows<C> radix4(C z0, C z1, C z2, C z3, C w1, C w2, C w3) {
    const C t0 = z0 + z2, t1 = z0 - z2, t2 = z1 + z3, t3 = times_i(z1 - z3);
    return {t0 + t2, w1 * (t1 + t3), w2 * (t0 - t2), w3 * (t1 - t3)};
}

// The operands of the packed fold: the two spectra in, the radix-4 rows out, the tables.
struct FoldPass {
    const double* s;        // the signal, interleaved re, im
    const double* h;        // the template
    const double* fine;     // fine twiddles, interleaved
    const Complex* coarse;  // coarse twiddles
    double* y;              // the spectrum, interleaved
    std::size_t q;          // L / 4
};

// Lanes k in [first, end), W at a time, each with its mirror lanes q - k (see the top).
// Always inlined into one function per instruction set below.
template <std::size_t W>
SPMD_PACK_INLINE void fold_packed(const FoldPass& p, std::size_t first, std::size_t end) {
    using namespace simd;
    using Pack = ComplexPack<W>;
    const double* s = p.s;
    const double* h = p.h;
    const std::size_t q = p.q;
    const double r = std::numbers::sqrt2 / 2;  // W^q = e^(i pi/4)
    const Pack e1 = broadcast<W>(r, r), e2 = broadcast<W>(0, 1), e3 = broadcast<W>(-r, r);
    // Bins k and L - k folded with twiddle w: Z_k into lo, Z_(L-k) into hi.
    const auto fold = [&](std::size_t k, std::size_t mirror, const Pack& w, Pack& lo, Pack& hi)
        __attribute__((always_inline)) {
        const Pack a = conj_times(load_up<W>(s, k), load_up<W>(h, k));
        const Pack b = conj(conj_times(load_down<W>(s, mirror), load_down<W>(h, mirror)));
        const Pack sum = a + b, diff = w * (a - b);
        lo = sum + times_i(diff);
        hi = conj(sum) + times_i(conj(diff));
    };
    for (std::size_t k = first; k < end; k += W) {
        const std::size_t m = q - k;  // the mirror lanes m, m-1, ...
        const Complex c = p.coarse[k / fine_size];
        const Pack w = broadcast<W>(c.real(), c.imag()) * load_up<W>(p.fine, k % fine_size);
        Pack lo0, lo1, lo2, lo3, hi0, hi1, hi2, hi3;  // Z at k + qj, at m + qj
        fold(k, m + 3 * q, w, lo0, hi3);
        fold(k + q, m + 2 * q, w * e1, lo1, hi2);
        fold(k + 2 * q, m + q, w * e2, lo2, hi1);
        fold(k + 3 * q, m, w * e3, lo3, hi0);
        const Pack w2 = w * w, w4 = w2 * w2, w6 = w4 * w2;  // w^(rk), r = 1, 2, 3
        const auto up = radix4(lo0, lo1, lo2, lo3, w2, w4, w6);
        store_up<W>(p.y, k, up.r0);
        store_up<W>(p.y, q + k, up.r1);
        store_up<W>(p.y, 2 * q + k, up.r2);
        store_up<W>(p.y, 3 * q + k, up.r3);
        // w^(r(q-k)) = i^r conj(w^(rk))
        const auto down = radix4(hi0, hi1, hi2, hi3, times_i(conj(w2)), Pack{} - conj(w4),
                                 Pack{} - times_i(conj(w6)));
        store_down<W>(p.y, m, down.r0);
        store_down<W>(p.y, q + m, down.r1);
        store_down<W>(p.y, 2 * q + m, down.r2);
        store_down<W>(p.y, 3 * q + m, down.r3);
    }
}

// Function multi-versioning by hand: installed builds target any x86-64 (SPMD_NATIVE off),
// and the 4-wide fold runs about 1.5x faster than the 2-wide one where AVX2 exists.
void fold_packed_sse2(const FoldPass& p, std::size_t first, std::size_t end) {
    fold_packed<2>(p, first, end);
}
#if defined(__x86_64__) || defined(__i386__)
#define SPMD_FOLD_AVX2 1
__attribute__((target("avx2,fma"))) void fold_packed_avx2(const FoldPass& p, std::size_t first,
                                                          std::size_t end) {
    fold_packed<4>(p, first, end);
}
bool cpu_has_avx2_fma() {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}
#else
#define SPMD_FOLD_AVX2 0
bool cpu_has_avx2_fma() {
    return false;
}
#endif

}  // namespace

MatchedFilter::MatchedFilter(const Grid& grid, PlanRigor rigor, bool wisdom_only)
    : length_(checked(grid).samples - 1),
      radix_(length_ % 4 == 0 ? 4 : 1),
      part_(length_ / radix_),
      scale_(4.0 / grid.df() / double(grid.time_samples())),
      spectrum_(length_),
      series_(length_),
      wide_fold_(cpu_has_avx2_fma()) {
    const double n = double(2 * length_);
    // A pack of lanes starting at any k % 64 reads up to fine_[k % 64 + width - 1].
    fine_.resize(fine_size + simd::max_pack_width - 1);
    for (std::size_t j = 0; j < fine_.size(); ++j) fine_[j] = unit(double(j) / n);
    coarse_.resize(length_ / fine_size + 1);
    for (std::size_t c = 0; c < coarse_.size(); ++c) coarse_[c] = unit(double(c * fine_size) / n);

    // MEASURE scribbles over both buffers while it times candidates: plan first, fill after.
    const unsigned flags = fftw_flags(rigor) | (wisdom_only ? FFTW_WISDOM_ONLY : 0u);
    const int part = int(part_);
    auto* in = reinterpret_cast<fftw_complex*>(spectrum_.data());
    auto* out = reinterpret_cast<fftw_complex*>(series_.data());
    plan_ = fftw_plan_many_dft(1, &part, int(radix_), in, nullptr, 1, part, out, nullptr, 1, part,
                               FFTW_BACKWARD, flags);
    if (!plan_)
        throw Error(wisdom_only ? "FFTW wisdom handed over by rank 0 does not cover the transform"
                                : "FFTW could not plan the inverse transform");
}

MatchedFilter::~MatchedFilter() {
    fftw_destroy_plan(plan_);
}

double MatchedFilter::snr(std::span<const Complex> signal, std::span<const Complex> templ) {
    fold(signal, templ);
    transform();
    return peak();
}

void MatchedFilter::transform() {
    fftw_execute(plan_);
}

double MatchedFilter::peak() const {
    const double* x = reinterpret_cast<const double*>(series_.data());
    const std::size_t n = 2 * length_;
    // 32 running maxima, i.e. several independent vector chains at any SIMD width (a single
    // chain waits on each max's latency: 3x slower). Max is exact: no bits change.
    constexpr std::size_t chains = 32;
    double best[chains];
    for (double& b : best) b = -std::numeric_limits<double>::infinity();
    std::size_t i = 0;
    for (; i + chains <= n; i += chains)
        for (std::size_t c = 0; c < chains; ++c) best[c] = x[i + c] > best[c] ? x[i + c] : best[c];
    for (; i < n; ++i) best[0] = x[i] > best[0] ? x[i] : best[0];
    double top = best[0];
    for (double b : best) top = b > top ? b : top;
    // scale_ > 0 commutes with max: one multiply instead of n.
    return top * scale_;
}

std::vector<double> MatchedFilter::series() const {
    std::vector<double> x(2 * length_);
    for (std::size_t r = 0; r < radix_; ++r)
        for (std::size_t j = 0; j < part_; ++j) {
            const Complex z = series_[r * part_ + j];
            const std::size_t t = radix_ * j + r;
            x[2 * t] = z.real() * scale_;
            x[2 * t + 1] = z.imag() * scale_;
        }
    return x;
}

void MatchedFilter::fold(std::span<const Complex> signal, std::span<const Complex> templ) {
    if (signal.size() != length_ + 1 || templ.size() != length_ + 1)
        throw Error("MatchedFilter: a signal of " + std::to_string(signal.size()) +
                    " bins and a template of " + std::to_string(templ.size()) + " for a grid of " +
                    std::to_string(length_ + 1));
    const Pair x{reinterpret_cast<const double*>(signal.data()),
                 reinterpret_cast<const double*>(templ.data())};
    if (radix_ == 1) {
        for (std::size_t k = 0; k < length_; ++k) spectrum_[k] = folded(x, k);
        return;
    }
    // Lanes k in [1, half) go with their mirrors q - k; 0 and q/2 are their own.
    const std::size_t half = (part_ + 1) / 2;
    const std::size_t width = wide_fold_ ? 4 : 2;
    const std::size_t vector_end = 1 + (half - 1) / width * width;
    fold_lanes(x, 1, vector_end);
    for (std::size_t k = vector_end; k < half; ++k) {
        fold_lane(x, k);
        fold_lane(x, part_ - k);
    }
    fold_lane(x, 0);
    if (part_ % 2 == 0) fold_lane(x, part_ / 2);
}

Complex MatchedFilter::twiddle(std::size_t k) const {
    k %= 2 * length_;
    const bool negate = k > length_;  // W^(L + j) = -W^j
    if (negate) k -= length_;
    const Complex w = times(coarse_[k / fine_size], fine_[k % fine_size]);
    return negate ? -w : w;
}

Complex MatchedFilter::product(Pair x, std::size_t k) const {
    const double sr = x.signal[2 * k], si = x.signal[2 * k + 1];
    const double hr = x.templ[2 * k], hi = x.templ[2 * k + 1];
    const bool real = k == 0 || k == length_;
    return {sr * hr + si * hi, real ? 0.0 : sr * hi - si * hr};
}

Complex MatchedFilter::folded(Pair x, std::size_t k) const {
    const Complex a = product(x, k), b = std::conj(product(x, length_ - k));
    return (a + b) + times_i(times(twiddle(k), a - b));
}

void MatchedFilter::fold_lane(Pair x, std::size_t k) {
    const std::size_t q = part_;
    const auto rows = radix4(folded(x, k), folded(x, k + q), folded(x, k + 2 * q),
                             folded(x, k + 3 * q), twiddle(2 * k), twiddle(4 * k), twiddle(6 * k));
    spectrum_[k] = rows.r0;
    spectrum_[q + k] = rows.r1;
    spectrum_[2 * q + k] = rows.r2;
    spectrum_[3 * q + k] = rows.r3;
}

void MatchedFilter::fold_lanes(Pair x, std::size_t first, std::size_t end) {
    const FoldPass pass{x.signal,
                        x.templ,
                        reinterpret_cast<const double*>(fine_.data()),
                        coarse_.data(),
                        reinterpret_cast<double*>(spectrum_.data()),
                        part_};
#if SPMD_FOLD_AVX2
    if (wide_fold_) return fold_packed_avx2(pass, first, end);
#endif
    fold_packed_sse2(pass, first, end);
}

double self_correlation(std::span<const Complex> s, const Grid& grid) {
    if (s.size() != grid.samples)
        throw Error("self_correlation: " + std::to_string(s.size()) + " bins for a grid of " +
                    std::to_string(grid.samples));
    const double* x = reinterpret_cast<const double*>(s.data());
    const std::size_t last = 2 * (s.size() - 1);
    double inner = 0;
#pragma omp simd reduction(+ : inner)
    for (std::size_t i = 2; i < last; ++i) inner += x[i] * x[i];
    const double ends = x[0] * x[0] + x[1] * x[1] + x[last] * x[last] + x[last + 1] * x[last + 1];
    return 4.0 / grid.df() / double(grid.time_samples()) * (ends + 2 * inner);
}

}  // namespace spmd::chirp
