// ComplexPack<W>: W complex<double> held as a vector of real parts and one of imaginary
// parts, with loads and stores that convert from and to the usual interleaved arrays,
// forwards or backwards. The matched filter's fold reads spectra from both ends at once (bin
// k with bin L - k); GCC 12 does not vectorise that loop by itself, and with these the
// arithmetic stays written as plain complex algebra. GCC/Clang vector extensions: W = 2 is
// SSE2 (any x86-64), W = 4 fills AVX's 256-bit registers.
// Every function here is always inlined, so it takes the instruction set of its caller:
// the fold is compiled once for W = 2 and once for W = 4 inside a function with
// __attribute__((target("avx2,fma"))), and the CPU picks one at run time (see
// matched_filter.cpp). No 256-bit vector ever crosses a call, whatever -Wpsabi fears.
#pragma once
#include <cstddef>
#include <cstring>

#define SPMD_PACK_INLINE inline __attribute__((always_inline))

namespace spmd::chirp::simd {

inline constexpr std::size_t max_pack_width = 4;

template <std::size_t W>
struct Vectors;
template <>
struct Vectors<2> {
    using Doubles = double __attribute__((vector_size(16)));
    using Indices = long long __attribute__((vector_size(16)));
};
template <>
struct Vectors<4> {
    using Doubles = double __attribute__((vector_size(32)));
    using Indices = long long __attribute__((vector_size(32)));
};

#if defined(__clang__)
#define SPMD_SHUFFLE(W, a, b, ...) __builtin_shufflevector(a, b, __VA_ARGS__)
#else
#define SPMD_SHUFFLE(W, a, b, ...) \
    __builtin_shuffle(a, b, typename Vectors<W>::Indices{__VA_ARGS__})
#endif

template <std::size_t W>
struct ComplexPack {
    typename Vectors<W>::Doubles re, im;
};

template <std::size_t W>
SPMD_PACK_INLINE ComplexPack<W> operator+(ComplexPack<W> a, ComplexPack<W> b) {
    return {a.re + b.re, a.im + b.im};
}
template <std::size_t W>
SPMD_PACK_INLINE ComplexPack<W> operator-(ComplexPack<W> a, ComplexPack<W> b) {
    return {a.re - b.re, a.im - b.im};
}
template <std::size_t W>
SPMD_PACK_INLINE ComplexPack<W> operator*(ComplexPack<W> a, ComplexPack<W> b) {
    return {a.re * b.re - a.im * b.im, a.re * b.im + a.im * b.re};
}
template <std::size_t W>
SPMD_PACK_INLINE ComplexPack<W> conj(ComplexPack<W> a) {
    return {a.re, -a.im};
}
template <std::size_t W>
SPMD_PACK_INLINE ComplexPack<W> times_i(ComplexPack<W> a) {
    return {-a.im, a.re};
}
// conj(a) b, the correlation's product, in one step.
template <std::size_t W>
SPMD_PACK_INLINE ComplexPack<W> conj_times(ComplexPack<W> a, ComplexPack<W> b) {
    return {a.re * b.re + a.im * b.im, a.re * b.im - a.im * b.re};
}
template <std::size_t W>
SPMD_PACK_INLINE ComplexPack<W> broadcast(double re, double im) {
    using Doubles = typename Vectors<W>::Doubles;
    return {Doubles{} + re, Doubles{} + im};
}

namespace detail {
template <std::size_t W>
SPMD_PACK_INLINE typename Vectors<W>::Doubles load(const double* p) {
    typename Vectors<W>::Doubles v;
    std::memcpy(&v, p, sizeof v);
    return v;
}
template <std::size_t W>
SPMD_PACK_INLINE void store(double* p, typename Vectors<W>::Doubles v) {
    std::memcpy(p, &v, sizeof v);
}
}  // namespace detail

// load_up: complex numbers k, k+1, ... of the interleaved array p; load_down: k, k-1, ...
// (k >= W - 1). store_up and store_down undo them.
template <std::size_t W>
SPMD_PACK_INLINE ComplexPack<W> load_up(const double* p, std::size_t k) {
    if constexpr (W == 4) {
        const auto a = detail::load<4>(p + 2 * k), b = detail::load<4>(p + 2 * k + 4);
        return {SPMD_SHUFFLE(4, a, b, 0, 2, 4, 6), SPMD_SHUFFLE(4, a, b, 1, 3, 5, 7)};
    } else {
        static_assert(W == 2);
        const auto a = detail::load<2>(p + 2 * k), b = detail::load<2>(p + 2 * k + 2);
        return {SPMD_SHUFFLE(2, a, b, 0, 2), SPMD_SHUFFLE(2, a, b, 1, 3)};
    }
}
template <std::size_t W>
SPMD_PACK_INLINE ComplexPack<W> load_down(const double* p, std::size_t k) {
    if constexpr (W == 4) {
        const auto a = detail::load<4>(p + 2 * k - 6), b = detail::load<4>(p + 2 * k - 2);
        return {SPMD_SHUFFLE(4, a, b, 6, 4, 2, 0), SPMD_SHUFFLE(4, a, b, 7, 5, 3, 1)};
    } else {
        const auto a = detail::load<2>(p + 2 * k - 2), b = detail::load<2>(p + 2 * k);
        return {SPMD_SHUFFLE(2, a, b, 2, 0), SPMD_SHUFFLE(2, a, b, 3, 1)};
    }
}
template <std::size_t W>
SPMD_PACK_INLINE void store_up(double* p, std::size_t k, ComplexPack<W> v) {
    if constexpr (W == 4) {
        detail::store<4>(p + 2 * k, SPMD_SHUFFLE(4, v.re, v.im, 0, 4, 1, 5));
        detail::store<4>(p + 2 * k + 4, SPMD_SHUFFLE(4, v.re, v.im, 2, 6, 3, 7));
    } else {
        detail::store<2>(p + 2 * k, SPMD_SHUFFLE(2, v.re, v.im, 0, 2));
        detail::store<2>(p + 2 * k + 2, SPMD_SHUFFLE(2, v.re, v.im, 1, 3));
    }
}
template <std::size_t W>
SPMD_PACK_INLINE void store_down(double* p, std::size_t k, ComplexPack<W> v) {
    if constexpr (W == 4) {
        detail::store<4>(p + 2 * k - 6, SPMD_SHUFFLE(4, v.re, v.im, 3, 7, 2, 6));
        detail::store<4>(p + 2 * k - 2, SPMD_SHUFFLE(4, v.re, v.im, 1, 5, 0, 4));
    } else {
        detail::store<2>(p + 2 * k - 2, SPMD_SHUFFLE(2, v.re, v.im, 1, 3));
        detail::store<2>(p + 2 * k, SPMD_SHUFFLE(2, v.re, v.im, 0, 2));
    }
}

#undef SPMD_SHUFFLE

}  // namespace spmd::chirp::simd
