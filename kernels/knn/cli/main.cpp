// knn: the command-line face of spmd::knn::search. Reads the points into shared arrays,
// one per host (or generates them), searches, and has rank 0 write PREFIX_dist.npy and
// PREFIX_idx.npy or print a summary. Errors: one line "knn: <what>" from the whole job
// (spmd::run_cli), exit 2 for bad input, 1 otherwise.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <span>
#include <string>
#include <tuple>
#include <utility>

#include "options.hpp"
#include "spmd/cli.hpp"
#include "spmd/knn/knn.hpp"
#include "spmd/knn/random_points.hpp"
#include "spmd/memory.hpp"
#include "spmd/npy.hpp"
#include "spmd/world.hpp"

using spmd::UsageError;

namespace {

// The (rows, columns) of a points file: any real dtype, C or Fortran order, 1-D as one
// column; anything else is a UsageError naming the file.
std::pair<std::size_t, std::size_t> points_shape(const std::string& path,
                                                 spmd::npy::Header& header) {
    header = spmd::npy::read_header(path);
    return spmd::npy::matrix_shape(path, header);
}

// Refuses, before any allocation, a problem whose points do not fit in shared memory:
// Linux would let the arrays be made, and the OOM killer end a rank without a word.
void check_fits_in_memory(std::size_t n, std::size_t d, std::size_t q) {
    std::size_t data = 0, queries = 0, bytes = 0;
    const bool overflow = __builtin_mul_overflow(n, d, &data) ||
                          __builtin_mul_overflow(q, d, &queries) ||
                          __builtin_add_overflow(data, queries, &bytes) ||
                          __builtin_mul_overflow(bytes, sizeof(double), &bytes);
    const double free = spmd::available_shared_memory();
    if (!overflow && double(bytes) <= free) return;
    char text[160];
    std::snprintf(text, sizeof text, "%.1f GB of shared memory, %.1f GB are free",
                  double(n + q) * double(d) * 8 / 1e9, free / 1e9);
    throw UsageError(std::to_string(n) + " data and " + std::to_string(q) + " query points of " +
                     std::to_string(d) + " coordinates need " + text);
}

// Rank 0's outputs, created before the search: failing on an unwritable --out only after
// minutes of searching would be cruel. Both get their names together once written.
struct Outputs {
    spmd::npy::OutputFile distances, indices;
    Outputs(const std::string& prefix, std::size_t queries, std::size_t k)
        : distances(prefix + "_dist.npy", spmd::npy::Dtype::f8, {queries, k}),
          indices(prefix + "_idx.npy", spmd::npy::Dtype::i8, {queries, k}) {}
    void write(const spmd::knn::Result& r) {
        distances.write(std::span<const double>(r.distances));
        indices.write(std::span<const std::int64_t>(r.indices));
        spmd::npy::commit_all({&distances, &indices});
    }
};

// Every rank meets the same bad input and fails alike; spmd::run_cli has the job say it once.
int run(spmd::World& world, int argc, char** argv) {
    const knn_cli::CliOptions o = knn_cli::parse(argc, argv);
    if (o.help) {
        if (world.rank() == 0) std::cout << o.help_text;
        return 0;
    }
    std::size_t n, d, q, qd;
    spmd::npy::Header data_header, query_header;
    if (o.random) {
        n = o.random->n, d = qd = o.random->d, q = o.random->q;
    } else {
        std::tie(n, d) = points_shape(o.data_path, data_header);
        std::tie(q, qd) = points_shape(o.queries_path, query_header);
    }
    spmd::knn::validate_shapes({nullptr, n, d}, {nullptr, q, qd}, o.search);
    check_fits_in_memory(n, d, q);
    std::optional<Outputs> outputs;
    if (!o.out_prefix.empty() && world.rank() == 0) outputs.emplace(o.out_prefix, q, o.search.k);

    auto data = world.shared<double>("knn.data", n * d);
    auto queries = world.shared<double>("knn.queries", q * qd);
    if (o.random) {
        spmd::knn::fill_uniform(world, data, o.random->seed, 0);
        spmd::knn::fill_uniform(world, queries, o.random->seed, 1);
    } else {
        // Each host reads the files into its own arrays (the file system is shared), two
        // readers at once when it has two ranks; any dtype and order become float64 in C
        // order here, once.
        const spmd::Node& node = world.node();
        const int on_host = int(node.ranks.size());
        if (node.local_rank == 0) spmd::npy::load_into<double>(o.data_path, data_header, data);
        if (node.local_rank == 1 % on_host)
            spmd::npy::load_into<double>(o.queries_path, query_header, queries);
        world.barrier();
    }

    const auto result =
        spmd::knn::search(world, {data.data(), n, d}, {queries.data(), q, qd}, o.search);
    if (world.rank() != 0) return 0;
    if (outputs) {
        outputs->write(result);
    } else {
        std::printf("knn n=%zu d=%zu q=%zu k=%zu ranks=%d build_s=%.4f query_s=%.4f qps=%.0f\n", n,
                    d, q, o.search.k, world.size(), result.build_seconds, result.query_seconds,
                    result.query_seconds > 0 ? double(q) / result.query_seconds : 0.0);
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    return spmd::run_cli("knn", argc, argv, [&](spmd::World& w) { return run(w, argc, argv); });
}
