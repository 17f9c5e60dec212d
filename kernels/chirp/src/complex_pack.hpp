// ComplexPack: pack_width complex<double> held as a vector of real parts and one of imaginary
// parts, with loads and stores that convert from and to the usual interleaved arrays,
// forwards or backwards. The matched filter's fold reads spectra from both ends at once (bin
// k with bin L - k); GCC 12 does not vectorise that loop by itself, and with these the
// arithmetic stays written as plain complex algebra. GCC/Clang vector extensions, four lanes
// where AVX gives 256-bit registers, else two (SSE2, or any other target).
#pragma once
#include <cstddef>
#include <cstring>

namespace spmd::chirp::simd {

#if defined(__AVX__)
inline constexpr std::size_t pack_width = 4;
#else
inline constexpr std::size_t pack_width = 2;
#endif

using Doubles = double __attribute__((vector_size(pack_width * sizeof(double))));
using Indices = long long __attribute__((vector_size(pack_width * sizeof(long long))));

#if defined(__clang__)
#define SPMD_SHUFFLE(a, b, ...) __builtin_shufflevector(a, b, __VA_ARGS__)
#else
#define SPMD_SHUFFLE(a, b, ...) __builtin_shuffle(a, b, Indices{__VA_ARGS__})
#endif

struct ComplexPack {
    Doubles re, im;
};

inline ComplexPack operator+(ComplexPack a, ComplexPack b) {
    return {a.re + b.re, a.im + b.im};
}
inline ComplexPack operator-(ComplexPack a, ComplexPack b) {
    return {a.re - b.re, a.im - b.im};
}
inline ComplexPack operator*(ComplexPack a, ComplexPack b) {
    return {a.re * b.re - a.im * b.im, a.re * b.im + a.im * b.re};
}
inline ComplexPack conj(ComplexPack a) {
    return {a.re, -a.im};
}
inline ComplexPack times_i(ComplexPack a) {
    return {-a.im, a.re};
}
// conj(a) b, the correlation's product, in one step.
inline ComplexPack conj_times(ComplexPack a, ComplexPack b) {
    return {a.re * b.re + a.im * b.im, a.re * b.im - a.im * b.re};
}
inline ComplexPack broadcast(double re, double im) {
    return {Doubles{} + re, Doubles{} + im};
}

namespace detail {
inline Doubles load(const double* p) {
    Doubles v;
    std::memcpy(&v, p, sizeof v);
    return v;
}
inline void store(double* p, Doubles v) {
    std::memcpy(p, &v, sizeof v);
}
}  // namespace detail

// load_up: complex numbers k, k+1, ... of the interleaved array p; load_down: k, k-1, ...
// (k >= pack_width - 1). store_up and store_down undo them.
#if defined(__AVX__)
inline ComplexPack load_up(const double* p, std::size_t k) {
    const Doubles a = detail::load(p + 2 * k), b = detail::load(p + 2 * k + 4);
    return {SPMD_SHUFFLE(a, b, 0, 2, 4, 6), SPMD_SHUFFLE(a, b, 1, 3, 5, 7)};
}
inline ComplexPack load_down(const double* p, std::size_t k) {
    const Doubles a = detail::load(p + 2 * k - 6), b = detail::load(p + 2 * k - 2);
    return {SPMD_SHUFFLE(a, b, 6, 4, 2, 0), SPMD_SHUFFLE(a, b, 7, 5, 3, 1)};
}
inline void store_up(double* p, std::size_t k, ComplexPack v) {
    detail::store(p + 2 * k, SPMD_SHUFFLE(v.re, v.im, 0, 4, 1, 5));
    detail::store(p + 2 * k + 4, SPMD_SHUFFLE(v.re, v.im, 2, 6, 3, 7));
}
inline void store_down(double* p, std::size_t k, ComplexPack v) {
    detail::store(p + 2 * k - 6, SPMD_SHUFFLE(v.re, v.im, 3, 7, 2, 6));
    detail::store(p + 2 * k - 2, SPMD_SHUFFLE(v.re, v.im, 1, 5, 0, 4));
}
#else
inline ComplexPack load_up(const double* p, std::size_t k) {
    const Doubles a = detail::load(p + 2 * k), b = detail::load(p + 2 * k + 2);
    return {SPMD_SHUFFLE(a, b, 0, 2), SPMD_SHUFFLE(a, b, 1, 3)};
}
inline ComplexPack load_down(const double* p, std::size_t k) {
    const Doubles a = detail::load(p + 2 * k - 2), b = detail::load(p + 2 * k);
    return {SPMD_SHUFFLE(a, b, 2, 0), SPMD_SHUFFLE(a, b, 3, 1)};
}
inline void store_up(double* p, std::size_t k, ComplexPack v) {
    detail::store(p + 2 * k, SPMD_SHUFFLE(v.re, v.im, 0, 2));
    detail::store(p + 2 * k + 2, SPMD_SHUFFLE(v.re, v.im, 1, 3));
}
inline void store_down(double* p, std::size_t k, ComplexPack v) {
    detail::store(p + 2 * k - 2, SPMD_SHUFFLE(v.re, v.im, 1, 3));
    detail::store(p + 2 * k, SPMD_SHUFFLE(v.re, v.im, 0, 2));
}
#endif

#undef SPMD_SHUFFLE

}  // namespace spmd::chirp::simd
