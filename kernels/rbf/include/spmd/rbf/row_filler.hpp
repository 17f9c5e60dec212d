// RowFiller: the serial core of the RBF kernel. It writes whole rows of the n x n matrix
// phi(|x_i - x_j|) with one fused, vectorised loop per row; ranks call it on the rows the
// schedule hands them. Every element depends on (i, j) only, never on which rows a call
// covers, so any split of the rows over any number of ranks gives the same bits.
#pragma once
#include <cstddef>
#include <vector>

#include "spmd/rbf/points.hpp"
#include "spmd/rbf/radial.hpp"
#include "spmd/schedule.hpp"

namespace spmd::rbf {

// How rows reach memory: streaming (non-temporal) stores skip the read-for-ownership of
// every destination line, which a write-bound kernel otherwise pays in bandwidth.
enum class Store { plain, streaming };

class RowFiller {
public:
    RowFiller(const Points& points, Radial f, Store store = Store::streaming);
    // Rows [rows.begin, rows.end) of the matrix whose element (0, 0) is at `matrix`.
    void fill(Range rows, double* matrix) const;
    std::size_t n() const { return n_; }

private:
    std::size_t n_;
    std::size_t d_;
    std::vector<double> cols_;  // coordinate k of point j at cols_[k*n + j]: unit stride in j
    Radial f_;
    Store store_;
};

}  // namespace spmd::rbf
