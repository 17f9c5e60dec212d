// knn: the command-line face of spmd::knn::search. Reads the points into shared arrays
// (or generates them), searches, and has rank 0 write PREFIX_dist.npy and PREFIX_idx.npy
// or print a summary. Errors: one line "knn: <what>", exit 2 for bad input, 1 otherwise.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <span>
#include <string>

#include "options.hpp"
#include "spmd/knn/knn.hpp"
#include "spmd/knn/random_points.hpp"
#include "spmd/npy.hpp"
#include "spmd/world.hpp"

using spmd::UsageError;

namespace {

// A float64 or float32 matrix; anything else is a UsageError naming the file.
spmd::npy::Header matrix_header(const std::string& path) {
    auto h = spmd::npy::read_header(path);
    using spmd::npy::Dtype;
    if (h.dtype != Dtype::f8 && h.dtype != Dtype::f4)
        throw UsageError(path + ": dtype is " + std::string(spmd::npy::name(h.dtype)) +
                         "; expected float64 or float32");
    if (h.shape.size() != 2)
        throw UsageError(path + ": expected a 2-D array (points x coordinates), got " +
                         std::to_string(h.shape.size()) + " dimension(s)");
    return h;
}

// Rank 0's outputs, created before the search: failing on an unwritable --out only after
// minutes of searching would be cruel. They get their names once both are written.
struct Outputs {
    spmd::npy::OutputFile distances, indices;
    Outputs(const std::string& prefix, std::size_t queries, std::size_t k)
        : distances(prefix + "_dist.npy", spmd::npy::Dtype::f8, {queries, k}),
          indices(prefix + "_idx.npy", spmd::npy::Dtype::i8, {queries, k}) {}
    void write(const spmd::knn::Result& r) {
        distances.write(std::span<const double>(r.distances));
        indices.write(std::span<const std::int64_t>(r.indices));
        distances.commit();
        indices.commit();
    }
};

int run(spmd::World& world, const knn_cli::CliOptions& o, bool& collective) {
    // Up to the search, every rank meets the same errors in the same order: only rank 0
    // reports them, so `mprun -n 8` prints one line, not eight. (The outputs are created by
    // rank 0 alone, the rank that writes; mprun stops the others when that fails.)
    collective = true;

    std::size_t n, d, q, qd;
    spmd::npy::Header data_header, query_header;
    if (o.random) {
        n = o.random->n, d = qd = o.random->d, q = o.random->q;
    } else {
        data_header = matrix_header(o.data_path);
        query_header = matrix_header(o.queries_path);
        n = data_header.shape[0], d = data_header.shape[1];
        q = query_header.shape[0], qd = query_header.shape[1];
    }
    spmd::knn::validate_shapes({nullptr, n, d}, {nullptr, q, qd}, o.search);
    std::optional<Outputs> outputs;
    if (!o.out_prefix.empty() && world.rank() == 0) outputs.emplace(o.out_prefix, q, o.search.k);

    collective = false;
    auto data = world.shared<double>("knn.data", n * d);
    auto queries = world.shared<double>("knn.queries", q * qd);
    if (o.random) {
        spmd::knn::fill_uniform(world, data, o.random->seed, 0);
        spmd::knn::fill_uniform(world, queries, o.random->seed, 1);
    } else {
        // Two readers at once when there are two ranks.
        if (world.rank() == 0) spmd::npy::load_into<double>(o.data_path, data_header, data);
        if (world.rank() == 1 % world.size())
            spmd::npy::load_into<double>(o.queries_path, query_header, queries);
        world.barrier();
    }

    collective = true;  // validate() in search() fails alike on every rank
    const auto result =
        spmd::knn::search(world, {data.data(), n, d}, {queries.data(), q, qd}, o.search);
    collective = false;
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
    knn_cli::CliOptions options;
    try {
        options = knn_cli::parse(argc, argv);
    } catch (const UsageError& e) {
        // Every rank of `mprun -n N knn` meets the same bad flag: one line is enough.
        const char* rank = std::getenv("SPMD_RANK");
        if (!rank || std::string(rank) == "0") std::fprintf(stderr, "knn: %s\n", e.what());
        return 2;
    }
    if (options.help) {
        std::cout << options.help_text;
        return 0;
    }
    std::optional<spmd::World> world;
    bool collective = false;
    try {
        world.emplace(argc, argv);
        return run(*world, options, collective);
    } catch (const spmd::Aborted&) {
        return 1;  // another rank failed first: mprun reports that one, not this echo
    } catch (const std::exception& e) {
        const bool usage = dynamic_cast<const UsageError*>(&e) != nullptr;
        if (!collective || !world || world->rank() == 0)
            std::fprintf(stderr, "knn: %s\n", e.what());
        return usage ? 2 : 1;
    }
}
