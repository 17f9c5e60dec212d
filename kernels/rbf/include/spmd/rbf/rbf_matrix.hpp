// The RBF kernel across ranks: every rank fills the rows the schedule hands it of one
// n x n float64 matrix that all ranks map, either a shared array or the output .npy itself.
//   auto a = spmd::rbf::rbf_matrix(world, points, spmd::rbf::parse_radial("gaussian"));
//   spmd::rbf::write_rbf_matrix(world, points, radial, "D.npy");   // no copy of the matrix
#pragma once
#include <cstddef>
#include <string>

#include "spmd/progress.hpp"
#include "spmd/rbf/points.hpp"
#include "spmd/rbf/radial.hpp"
#include "spmd/rbf/row_filler.hpp"
#include "spmd/world.hpp"

namespace spmd::rbf {

struct MatrixOptions {
    Schedule schedule = Schedule::guided;
    std::size_t chunk = 0;  // rows; 0 picks the schedule's default
    Store store = Store::streaming;
    ShowProgress progress = ShowProgress::never;  // a line over the rows on rank 0's stderr
};

// Throws UsageError if an n x n float64 matrix cannot be held in (shared) memory.
void check_fits_in_memory(std::size_t n);

// Throws UsageError if the n x n float64 .npy at `path` could not be written: its folder
// is missing or its disk lacks the space. A cheap early check; the file itself reserves
// its space when made.
void check_fits_on_disk(const std::string& path, std::size_t n);

// Collective: fills this rank's rows of the n x n matrix at `matrix` (mapped by every
// rank of a host) and returns once every rank's rows are in every host's matrix.
void fill_matrix(World& world, const RowFiller& filler, double* matrix,
                 const MatrixOptions& options = {});

// Collective: the matrix in a shared array, complete in every host's copy.
SharedArray<double> rbf_matrix(World& world, const Points& points, const Radial& f,
                               const MatrixOptions& options = {});

// Collective: the matrix as a float64 .npy at `path`, filled in place through MappedOutput.
// On return (on any rank) the file is complete; on failure no file or temp file remains.
void write_rbf_matrix(World& world, const Points& points, const Radial& f, const std::string& path,
                      const MatrixOptions& options = {});

}  // namespace spmd::rbf
