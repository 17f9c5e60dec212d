#include "spmd/rbf/rbf_matrix.hpp"

#include <sys/statvfs.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <span>
#include <string>
#include <vector>

#include "spmd/across_hosts.hpp"
#include "spmd/memory.hpp"
#include "spmd/rbf/mapped_output.hpp"

namespace spmd::rbf {

namespace {
std::size_t matrix_bytes(std::size_t n) {
    std::size_t bytes = 0;
    if (__builtin_mul_overflow(n, n, &bytes) ||
        __builtin_mul_overflow(bytes, sizeof(double), &bytes))
        throw UsageError("an n x n matrix with n = " + std::to_string(n) + " is too large");
    return bytes;
}

// This rank's share of the rows; returns them as element ranges of the matrix. Row by
// row, so that a large static block still moves the progress line along.
std::vector<Range> fill_my_rows(World& world, const RowFiller& filler, double* matrix,
                                const MatrixOptions& options, Progress& progress) {
    std::vector<Range> mine;
    const std::size_t n = filler.n();
    for (Range rows : world.schedule(n, options.schedule, options.chunk)) {
        for (std::size_t i = rows.begin; i < rows.end; ++i) {
            filler.fill({i, i + 1}, matrix);
            progress.add(1);
        }
        mine.push_back({rows.begin * n, rows.end * n});
    }
    return mine;
}

// "27.4 GB": sizes in messages as a person reads them (the unit of chirp's messages).
std::string gigabytes(double bytes) {
    char text[32];
    std::snprintf(text, sizeof text, "%.1f GB", bytes / 1e9);
    return text;
}

}  // namespace

void check_fits_in_memory(std::size_t n) {
    const std::size_t bytes = matrix_bytes(n);
    const double free = available_shared_memory();
    if (double(bytes) > free)
        throw UsageError("the " + std::to_string(n) + " x " + std::to_string(n) + " matrix needs " +
                         gigabytes(double(bytes)) + " of shared memory, " + gigabytes(free) +
                         " are free");
}

void check_fits_on_disk(const std::string& path, std::size_t n) {
    const std::size_t bytes = matrix_bytes(n);
    const auto slash = path.rfind('/');
    const std::string dir = slash == std::string::npos ? "."
                            : slash == 0               ? "/"
                                                       : path.substr(0, slash);
    struct statvfs fs {};
    if (::statvfs(dir.c_str(), &fs) != 0)
        throw UsageError(path + ": cannot write there: " + std::strerror(errno));
    const double free = double(fs.f_bavail) * double(fs.f_frsize);
    if (double(bytes) > free)
        throw UsageError(path + ": the " + std::to_string(n) + " x " + std::to_string(n) +
                         " matrix needs " + gigabytes(double(bytes)) + ", the disk has " +
                         gigabytes(free) + " free");
}

void fill_matrix(World& world, const RowFiller& filler, double* matrix,
                 const MatrixOptions& options) {
    Progress progress(world, "rbf", filler.n(), "rows", options.progress);
    const auto mine = fill_my_rows(world, filler, matrix, options, progress);
    const std::size_t n = filler.n();
    share_pieces(world, std::span<double>(matrix, n * n), std::span<const Range>(mine));
    progress.finish();
}

SharedArray<double> rbf_matrix(World& world, const Points& points, const Radial& f,
                               const MatrixOptions& options) {
    check_fits_in_memory(points.n);
    auto matrix = world.shared<double>("rbf.matrix", points.n * points.n);
    fill_matrix(world, RowFiller(points, f, options.store), matrix.data(), options);
    return matrix;
}

void write_rbf_matrix(World& world, const Points& points, const Radial& f, const std::string& path,
                      const MatrixOptions& options) {
    matrix_bytes(points.n);
    MappedOutput out(world, path, npy::Dtype::f8, {points.n, points.n});
    Progress progress(world, "rbf", points.n, "rows", options.progress);
    fill_my_rows(world, RowFiller(points, f, options.store), static_cast<double*>(out.data()),
                 options, progress);
    out.commit();
    progress.finish();
}

}  // namespace spmd::rbf
