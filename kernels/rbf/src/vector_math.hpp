// exp and log as straight-line code that the compiler vectorises: glibc's exp and log are
// calls the loop cannot widen (libmvec needs -ffast-math), which made the gaussian and
// thin-plate rows 8x slower than the rest. Within 2 ulp of glibc for the arguments the RBF
// kernel passes; the scalar tail of a loop computes the very same bits as its vector body.
#pragma once
#include <bit>
#include <cmath>
#include <cstdint>

namespace spmd::rbf::detail {

inline constexpr double ln2_hi = 0x1.62e42fefa3800p-1;   // ln 2 with its low bits zero,
inline constexpr double ln2_lo = 0x1.ef35793c76730p-45;  // so k * ln2_hi is exact (Cody-Waite)

// 2^k for integral k in [-1022, 1023], from the exponent bits.
inline double pow2(double k) {
    return std::bit_cast<double>(static_cast<std::uint64_t>(static_cast<std::int64_t>(k) + 1023)
                                 << 52);
}

// exp(x) for x <= 0 (the gaussian's argument); 0 below the subnormal range.
inline double exp_nonpositive(double x) {
    x = x < -746.0 ? -746.0 : x;
    // x / ln 2 rounded to nearest by the 1.5 * 2^52 trick: nearbyint does not vectorise.
    const double k = (x * 0x1.71547652b82fep0 + 0x1.8p52) - 0x1.8p52;
    const double r = (x - k * ln2_hi) - k * ln2_lo;  // |r| <= ln2 / 2
    // Taylor series to r^13 / 13!: the next term is below 1e-17 relative.
    double p = 1.0 / 6227020800;
    p = p * r + 1.0 / 479001600;
    p = p * r + 1.0 / 39916800;
    p = p * r + 1.0 / 3628800;
    p = p * r + 1.0 / 362880;
    p = p * r + 1.0 / 40320;
    p = p * r + 1.0 / 5040;
    p = p * r + 1.0 / 720;
    p = p * r + 1.0 / 120;
    p = p * r + 1.0 / 24;
    p = p * r + 1.0 / 6;
    p = p * r + 0.5;
    p = p * r + 1.0;
    p = p * r + 1.0;
    // k >= -1076: two factors keep each power of two normal, so subnormal results round once.
    const double k1 = std::trunc(k * 0.5);
    const double e = p * pow2(k1) * pow2(k - k1);
    return x <= -746.0 ? 0.0 : e;
}

// log(x) for finite x > 0.
inline double log_positive(double x) {
    const bool tiny = x < 0x1p-1022;  // subnormal: scale into the normal range first
    x = tiny ? x * 0x1p54 : x;
    const std::uint64_t bits = std::bit_cast<std::uint64_t>(x);
    double e = static_cast<double>(static_cast<std::int64_t>(bits >> 52) - 1023) - (tiny ? 54 : 0);
    double m = std::bit_cast<double>((bits & 0x000fffffffffffffULL) | 0x3ff0000000000000ULL);
    const bool high = m > 0x1.6a09e667f3bcdp0;  // sqrt 2: keep m in [sqrt(1/2), sqrt 2)
    m = high ? m * 0.5 : m;
    e = high ? e + 1 : e;
    // log m = 2 atanh(f), f = (m - 1) / (m + 1), |f| <= 0.1716: odd series to f^23.
    const double f = (m - 1) / (m + 1), f2 = f * f;
    double s = 1.0 / 23;
    s = s * f2 + 1.0 / 21;
    s = s * f2 + 1.0 / 19;
    s = s * f2 + 1.0 / 17;
    s = s * f2 + 1.0 / 15;
    s = s * f2 + 1.0 / 13;
    s = s * f2 + 1.0 / 11;
    s = s * f2 + 1.0 / 9;
    s = s * f2 + 1.0 / 7;
    s = s * f2 + 1.0 / 5;
    s = s * f2 + 1.0 / 3;
    const double log_m = 2 * f + 2 * f * f2 * s;
    return e * ln2_hi + (e * ln2_lo + log_m);
}

}  // namespace spmd::rbf::detail
