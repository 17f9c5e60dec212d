// The kd-tree's view of the data: a nanoflann dataset adaptor over a caller-owned,
// row-major n x d array of doubles (never copied), and the distance functor that sums
// coordinates in exactly the order scipy's cKDTree does, so the distances match to the bit.
#pragma once
#include <cmath>
#include <cstddef>
#include <cstdint>

#include "spmd/knn/knn.hpp"

namespace spmd::knn::detail {

// The row length is a run-time value: fixing it at compile time (nanoflann's DIM) was
// measured no faster for d = 2, 3 and 8, and would multiply the instantiations.
struct PointCloud {
    const double* data = nullptr;
    std::size_t rows = 0;
    std::size_t cols = 0;

    std::size_t dim() const { return cols; }
    const double* row(std::size_t i) const { return data + i * cols; }

    // nanoflann's DatasetAdaptor interface.
    std::size_t kdtree_get_point_count() const { return rows; }
    double kdtree_get_pt(std::size_t i, std::size_t j) const { return data[i * cols + j]; }
    template <class BBox>
    bool kdtree_get_bbox(BBox&) const {
        return false;
    }  // let nanoflann scan the points
};

// The "reduced" distance: squared for L2 (the tree compares those), plain for L1.
// L2 follows scipy 1.10's sqeuclidean_distance_double: four running sums over whole
// groups of four coordinates, combined left to right, then the remaining coordinates
// one by one. For d >= 8 this differs from a sequential sum in the last bit, so this
// order (and -ffp-contract=off, set on the library) is what makes distances equal scipy's.
template <Metric M>
inline double reduced_distance(const double* a, const double* b, std::size_t d) {
    if constexpr (M == Metric::l1) {
        double s = 0.0;
        for (std::size_t i = 0; i < d; ++i) s += std::fabs(a[i] - b[i]);
        return s;
    } else {
        double acc[4] = {0.0, 0.0, 0.0, 0.0};
        std::size_t i = 0;
        for (; i + 4 <= d; i += 4)
            for (std::size_t j = 0; j < 4; ++j) {
                const double t = a[i + j] - b[i + j];
                acc[j] += t * t;
            }
        double s = ((acc[0] + acc[1]) + acc[2]) + acc[3];
        for (; i < d; ++i) {
            const double t = a[i] - b[i];
            s += t * t;
        }
        return s;
    }
}

// Reduced distance -> the distance users see.
template <Metric M>
inline double true_distance(double reduced) {
    if constexpr (M == Metric::l2)
        return std::sqrt(reduced);
    else
        return reduced;
}

// nanoflann's Distance concept (evalMetric for a point, accum_dist for one coordinate
// of the bound to a cell), in the reduced units above.
template <Metric M>
struct ScipyDistance {
    using ElementType = double;
    using DistanceType = double;
    const PointCloud& cloud;

    explicit ScipyDistance(const PointCloud& c) : cloud(c) {}

    double evalMetric(const double* a, std::uint32_t b, std::size_t size, double = -1) const {
        return reduced_distance<M>(a, cloud.row(b), size);
    }
    template <class U, class V>
    double accum_dist(U a, V b, std::size_t) const {
        if constexpr (M == Metric::l2)
            return (a - b) * (a - b);
        else
            return std::fabs(a - b);
    }
};

}  // namespace spmd::knn::detail
