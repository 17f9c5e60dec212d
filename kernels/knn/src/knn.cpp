#include "spmd/knn/knn.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <string>
#include <vector>

#include "spmd/across_hosts.hpp"
#include "spmd/error.hpp"
#include "spmd/knn/detail/answer.hpp"
#include "spmd/knn/detail/tree_build.hpp"

namespace spmd::knn {

namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// The first non-finite coordinate of `p`, reported as "<what> row r column c is nan".
void check_finite(const Points& p, const char* what) {
    const double* end = p.data + p.rows * p.cols;
    const double* bad = std::find_if(p.data, end, [](double v) { return !std::isfinite(v); });
    if (bad == end) return;
    const auto at = std::size_t(bad - p.data);
    throw UsageError(std::string(what) + " row " + std::to_string(at / p.cols) + " column " +
                     std::to_string(at % p.cols) + " is " + (std::isnan(*bad) ? "nan" : "inf") +
                     ": coordinates must be finite");
}

// Queries in leaf order (see leaf_key): the ranks of each host compute keys for a share
// each, then the host's first rank sorts (key, query) pairs packed in 64 bits into the
// host's order array. Every host gets the same order, as the trees are the same.
template <Metric M>
SharedArray<std::uint64_t> sort_by_leaf(World& world, detail::KdTree<M>& tree,
                                        const Points& queries, const std::string& prefix) {
    auto order = world.shared<std::uint64_t>(prefix + "qorder", queries.rows);
    const Node& node = world.node();
    const std::size_t q = queries.rows, parts = node.ranks.size();
    const std::size_t part = std::size_t(node.local_rank);
    for (std::size_t i = q * part / parts; i < q * (part + 1) / parts; ++i)
        order[i] = detail::leaf_key(tree, queries.data + i * queries.cols) << 32 | i;
    world.barrier();
    if (node.local_rank == 0) std::sort(order.begin(), order.end());
    world.barrier();
    return order;
}

template <Metric M>
Result run(World& world, const Points& data, const Points& queries, const Options& options,
           const std::string& prefix) {
    const auto start = std::chrono::steady_clock::now();
    const detail::PointCloud cloud{data.data, data.rows, data.cols};
    detail::KdTree<M> tree(int(data.cols), cloud, detail::deferred_build(options.leafsize));
    detail::build_tree(world, tree, options.build, options.build_subtrees, prefix);
    world.barrier();
    Result result;
    result.build_seconds = seconds_since(start);

    const auto query_start = std::chrono::steady_clock::now();
    const std::size_t q = queries.rows, k = options.k;
    result.queries = q;
    result.k = k;
    result.distances = world.shared<double>(prefix + "dist", q * k);
    result.indices = world.shared<std::int64_t>(prefix + "idx", q * k);
    // Queries are packed with their leaf in 64 bits; beyond 2^32 rows answer in input order.
    const bool sorted = options.leaf_order && q < (std::uint64_t(1) << 32);
    SharedArray<std::uint64_t> order;
    if (sorted) order = sort_by_leaf(world, tree, queries, prefix);

    const double r = options.max_distance;
    detail::Answerer<M> answer(tree, k, M == Metric::l2 ? r * r : r);
    // The answers this rank wrote, for the hosts that do not share its arrays.
    const bool one_host = world.node().count == 1;
    std::vector<Range> mine;
    Progress progress(world, "knn", q, "queries", options.progress);
    for (Range range : world.schedule(q, options.schedule, options.chunk))
        for (std::size_t i = range.begin; i < range.end; ++i) {
            const std::size_t at = sorted ? std::size_t(order[i] & 0xffffffffu) : i;
            answer(queries.data + at * queries.cols, result.distances.data() + at * k,
                   result.indices.data() + at * k);
            if (!one_host) mine.push_back({at * k, at * k + k});
            progress.add(1);
        }
    share_pieces(world, result.distances.span(), std::span<const Range>(mine));
    share_pieces(world, result.indices.span(), std::span<const Range>(mine));
    progress.finish();
    result.query_seconds = seconds_since(query_start);
    return result;
}

}  // namespace

Metric parse_metric(std::string_view word) {
    if (word == "l2") return Metric::l2;
    if (word == "l1") return Metric::l1;
    throw UsageError("unknown metric '" + std::string(word) + "' (expected l2 or l1)");
}

std::string_view to_string(Metric m) {
    return m == Metric::l2 ? "l2" : "l1";
}

void validate_shapes(const Points& data, const Points& queries, const Options& options) {
    if (data.rows == 0) throw UsageError("the data is empty (0 points)");
    if (data.cols == 0) throw UsageError("the data points have 0 coordinates");
    if (data.rows >= (std::uint64_t(1) << 32) - 1)
        throw UsageError("the data has " + std::to_string(data.rows) +
                         " points; at most 4294967294 are supported");
    if (queries.cols != data.cols)
        throw UsageError("the queries have " + std::to_string(queries.cols) +
                         " coordinates but the data points have " + std::to_string(data.cols));
    if (options.k < 1) throw UsageError("k must be at least 1");
    if (options.k > data.rows)
        throw UsageError("k = " + std::to_string(options.k) +
                         " exceeds the number of data points (" + std::to_string(data.rows) + ")");
    if (options.leafsize < 1) throw UsageError("leafsize must be at least 1");
    if (!(options.max_distance >= 0))  // also rejects NaN
        throw UsageError("max-distance must be a number >= 0 (inf for no limit)");
}

void validate(const Points& data, const Points& queries, const Options& options) {
    validate_shapes(data, queries, options);
    check_finite(data, "data");
    check_finite(queries, "queries");
}

Result search(World& world, const Points& data, const Points& queries, const Options& options) {
    validate(data, queries, options);
    // Every rank makes the same calls in the same order, so a per-process count names
    // this call's shared arrays alike on all ranks.
    static unsigned calls = 0;
    const std::string prefix = "knn" + std::to_string(calls++) + ".";
    return options.metric == Metric::l2 ? run<Metric::l2>(world, data, queries, options, prefix)
                                        : run<Metric::l1>(world, data, queries, options, prefix);
}

double distance(Metric metric, const double* a, const double* b, std::size_t d) {
    return metric == Metric::l2
               ? detail::true_distance<Metric::l2>(detail::reduced_distance<Metric::l2>(a, b, d))
               : detail::reduced_distance<Metric::l1>(a, b, d);
}

}  // namespace spmd::knn
