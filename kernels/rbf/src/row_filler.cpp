#include "spmd/rbf/row_filler.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <spmd/detail/copy.hpp>

#include "vector_math.hpp"

namespace spmd::rbf {

namespace {

constexpr std::size_t tile = 256;  // columns per pass: the squared distances stay in L1

// phi as a function of the squared distance s: the gaussian and the multiquadrics need
// no square root at all, the rest one. Plain expressions so the compiler vectorises them
// (with -fno-math-errno -fno-trapping-math, set on this file; exp and log from vector_math.hpp).
template <Phi K>
inline double phi_of_squared(double s, double eps2) {
    if constexpr (K == Phi::cubic_quadratic) return s * (std::sqrt(s) * (1.0 / 12) + 1.0 / 6);
    if constexpr (K == Phi::linear) return std::sqrt(s);
    if constexpr (K == Phi::cubic) return s * std::sqrt(s);
    if constexpr (K == Phi::thin_plate)
        return s == 0 ? 0.0 : 0.5 * s * detail::log_positive(s == 0 ? 1.0 : s);
    if constexpr (K == Phi::gaussian) return detail::exp_nonpositive(-eps2 * s);
    if constexpr (K == Phi::multiquadric) return std::sqrt(1 + eps2 * s);
    if constexpr (K == Phi::inverse_multiquadric) return 1 / std::sqrt(1 + eps2 * s);
}

// Squared distances from point p to points [j0, j0 + m), then phi, into out[0, m).
// D > 0 fixes the dimension at compile time so the whole element is one fused loop.
template <Phi K, int D>
void fill_tile(const double* cols, std::size_t n, std::size_t d, const double* p, std::size_t j0,
               std::size_t m, double eps2, double* __restrict out) {
    if constexpr (D > 0) {
        for (std::size_t t = 0; t < m; ++t) {
            double s = 0;
            for (int k = 0; k < D; ++k) {
                const double diff = cols[k * n + j0 + t] - p[k];
                s += diff * diff;
            }
            out[t] = phi_of_squared<K>(s, eps2);
        }
    } else {
        double s[tile];
        for (std::size_t t = 0; t < m; ++t) s[t] = 0;
        for (std::size_t k = 0; k < d; ++k) {
            const double* x = cols + k * n + j0;
            const double pk = p[k];
            for (std::size_t t = 0; t < m; ++t) s[t] += (x[t] - pk) * (x[t] - pk);
        }
        for (std::size_t t = 0; t < m; ++t) out[t] = phi_of_squared<K>(s[t], eps2);
    }
}

template <Phi K, int D>
void fill_rows(const double* cols, std::size_t n, std::size_t d, Range rows, double eps2,
               Store store, double* matrix) {
    alignas(64) double buffer[tile];
    std::vector<double> p(d);
    for (std::size_t i = rows.begin; i < rows.end; ++i) {
        for (std::size_t k = 0; k < d; ++k) p[k] = cols[k * n + i];
        double* row = matrix + i * n;
        for (std::size_t j0 = 0; j0 < n; j0 += tile) {
            const std::size_t m = std::min(tile, n - j0);
            if (store == Store::plain) {
                fill_tile<K, D>(cols, n, d, p.data(), j0, m, eps2, row + j0);
            } else {
                fill_tile<K, D>(cols, n, d, p.data(), j0, m, eps2, buffer);
                spmd::detail::copy_streaming(row + j0, buffer, m * sizeof(double));
            }
        }
    }
    if (store == Store::streaming) spmd::detail::store_fence();  // before any barrier
}

template <Phi K>
void fill_rows_of_kind(const double* cols, std::size_t n, std::size_t d, Range rows, double eps2,
                       Store store, double* matrix) {
    switch (d) {
        case 1:
            return fill_rows<K, 1>(cols, n, d, rows, eps2, store, matrix);
        case 2:
            return fill_rows<K, 2>(cols, n, d, rows, eps2, store, matrix);
        case 3:
            return fill_rows<K, 3>(cols, n, d, rows, eps2, store, matrix);
        case 4:
            return fill_rows<K, 4>(cols, n, d, rows, eps2, store, matrix);
        default:
            return fill_rows<K, 0>(cols, n, d, rows, eps2, store, matrix);
    }
}

}  // namespace

RowFiller::RowFiller(const Points& points, Radial f, Store store)
    : n_(points.n), d_(points.d), cols_(points.n * points.d), f_(f), store_(store) {
    for (std::size_t i = 0; i < n_; ++i)
        for (std::size_t k = 0; k < d_; ++k) cols_[k * n_ + i] = points.coords[i * d_ + k];
}

void RowFiller::fill(Range rows, double* matrix) const {
    const double eps2 = f_.eps * f_.eps;
    const double* c = cols_.data();
    switch (f_.kind) {
        case Phi::cubic_quadratic:
            return fill_rows_of_kind<Phi::cubic_quadratic>(c, n_, d_, rows, eps2, store_, matrix);
        case Phi::linear:
            return fill_rows_of_kind<Phi::linear>(c, n_, d_, rows, eps2, store_, matrix);
        case Phi::cubic:
            return fill_rows_of_kind<Phi::cubic>(c, n_, d_, rows, eps2, store_, matrix);
        case Phi::thin_plate:
            return fill_rows_of_kind<Phi::thin_plate>(c, n_, d_, rows, eps2, store_, matrix);
        case Phi::gaussian:
            return fill_rows_of_kind<Phi::gaussian>(c, n_, d_, rows, eps2, store_, matrix);
        case Phi::multiquadric:
            return fill_rows_of_kind<Phi::multiquadric>(c, n_, d_, rows, eps2, store_, matrix);
        case Phi::inverse_multiquadric:
            return fill_rows_of_kind<Phi::inverse_multiquadric>(c, n_, d_, rows, eps2, store_,
                                                                matrix);
    }
}

}  // namespace spmd::rbf
