// spmd::knn::search: exact k-nearest neighbours with a nanoflann kd-tree, shared out over
// a World. Every rank calls it with the same data and queries (shared arrays, typically);
// each query is answered by one rank, and the answers land in shared arrays every rank sees.
// The answers are those of scipy's cKDTree(data, leafsize).query(queries, k, p,
// distance_upper_bound): same distances to the bit, ties broken towards the lower index.
#pragma once
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string_view>

#include "spmd/progress.hpp"
#include "spmd/schedule.hpp"
#include "spmd/shared_array.hpp"
#include "spmd/world.hpp"

namespace spmd::knn {

enum class Metric { l2, l1 };

// "l2" or "l1"; anything else is a UsageError naming the word.
Metric parse_metric(std::string_view word);
std::string_view to_string(Metric m);

// How every rank comes to hold the kd-tree (see tree_build.hpp for the measurements).
enum class IndexBuild {
    split,      // rank 0 cuts the top, ranks build the subtrees, all load the others
    each_rank,  // every rank builds the whole tree itself (the tutorial's way)
};

struct Options {
    std::size_t k = 1;
    Metric metric = Metric::l2;
    // Neighbours at distance >= max_distance are missing: index n, distance +inf. As in
    // scipy, L2 compares squared distances (d*d < R*R), so a neighbour whose rounded
    // distance equals R can still be kept.
    double max_distance = std::numeric_limits<double>::infinity();
    std::size_t leafsize = 10;
    Schedule schedule = Schedule::guided;
    std::size_t chunk = 0;  // 0: the schedule's default
    IndexBuild build = IndexBuild::split;
    std::size_t build_subtrees = 0;  // split build: subtrees to cut (0: as balance needs)
    // Answer queries grouped by the leaf they fall in, so that neighbouring queries reuse
    // cached nodes and points (3.2-3.5x faster at n = 10^6); false: in input order. The answers
    // are the same either way.
    bool leaf_order = true;
    // A progress line over the queries on rank 0's stderr (the CLI passes automatic).
    ShowProgress progress = ShowProgress::never;
};

// A row-major rows x cols matrix of doubles that the caller keeps alive; never copied.
struct Points {
    const double* data = nullptr;
    std::size_t rows = 0;
    std::size_t cols = 0;
};

struct Result {
    SharedArray<double> distances;      // queries x k, ascending along each row
    SharedArray<std::int64_t> indices;  // queries x k, rows of the data
    std::size_t queries = 0;
    std::size_t k = 0;
    double build_seconds = 0.0;  // until every rank holds the tree
    double query_seconds = 0.0;  // until every query is answered
};

// Throws spmd::UsageError naming the first problem: k < 1 or k > n, empty data, a
// column mismatch, a bad leafsize or max_distance. Reads only the shapes, not the data.
void validate_shapes(const Points& data, const Points& queries, const Options& options);
// validate_shapes, then NaN or inf coordinates (search() calls it on every rank).
void validate(const Points& data, const Points& queries, const Options& options);

// Collective: every rank calls it with the same arguments, data and queries.
Result search(World& world, const Points& data, const Points& queries, const Options& options);

// The distance search() reports between two d-dimensional points (for reference checks).
double distance(Metric metric, const double* a, const double* b, std::size_t d);

}  // namespace spmd::knn
