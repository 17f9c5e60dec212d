// bench_knn: k-nearest-neighbour search on uniform data in [0,1)^d, build and query timed
// apart. Run as `mprun -n N build/bin/bench_knn [--n 100000,1000000] [--q 100000] [--d 8]
// [--k 5] [--variants]`; rank 0 prints per data size
//   bench=knn ranks=N n=.. d=8 q=.. k=5 build_s=.. query_s=.. qps=..
// and with --variants the other ways to build the tree and to order the queries:
//   bench=knn_variant ranks=N n=.. variant=each_rank|build_once|input_order build_s=.. query_s=..
// each_rank: every rank builds the whole tree; build_once: one rank builds it, the others
// load it from shared memory (the split build with one subtree); input_order: no leaf order.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <spmd/knn/knn.hpp>
#include <spmd/knn/random_points.hpp>
#include <spmd/world.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "bench_common.hpp"

using namespace spmd::knn;

namespace {

std::vector<std::size_t> sizes(const char* text) {
    std::vector<std::size_t> out;
    std::stringstream in(text);
    for (std::string part; std::getline(in, part, ',');) out.push_back(std::stoul(part));
    return out;
}

}  // namespace

int main(int argc, char** argv) {
    spmd::World world(argc, argv);
    std::vector<std::size_t> ns{100000, 1000000};
    std::size_t q = 100000, d = 8, k = 5;
    bool variants = false;
    for (int i = 1; i < argc; ++i) {
        const bool value = i + 1 < argc;
        if (std::strcmp(argv[i], "--n") == 0 && value)
            ns = sizes(argv[++i]);
        else if (std::strcmp(argv[i], "--q") == 0 && value)
            q = std::stoul(argv[++i]);
        else if (std::strcmp(argv[i], "--d") == 0 && value)
            d = std::stoul(argv[++i]);
        else if (std::strcmp(argv[i], "--k") == 0 && value)
            k = std::stoul(argv[++i]);
        else if (std::strcmp(argv[i], "--variants") == 0)
            variants = true;
        else {
            if (world.rank() == 0)
                std::fprintf(stderr, "bench_knn: unknown argument '%s'\n", argv[i]);
            return 2;
        }
    }

    auto queries = world.shared<double>("Q", q * d);
    fill_uniform(world, queries, 1, 1);
    for (std::size_t n : ns) {
        auto data = world.shared<double>("X", n * d);
        fill_uniform(world, data, 1, 0);
        Options o;
        o.k = k;
        auto r = search(world, {data.data(), n, d}, {queries.data(), q, d}, o);
        if (world.rank() == 0)
            bench::figure(
                "bench=knn ranks=%d n=%zu d=%zu q=%zu k=%zu build_s=%.4f query_s=%.4f qps=%.0f\n",
                world.size(), n, d, q, k, r.build_seconds, r.query_seconds,
                double(q) / r.query_seconds);
        if (!variants) continue;
        for (const char* variant : {"each_rank", "build_once", "input_order"}) {
            Options v = o;
            if (std::strcmp(variant, "each_rank") == 0) v.build = IndexBuild::each_rank;
            if (std::strcmp(variant, "build_once") == 0) v.build_subtrees = 1;
            if (std::strcmp(variant, "input_order") == 0) v.leaf_order = false;
            r = search(world, {data.data(), n, d}, {queries.data(), q, d}, v);
            if (world.rank() == 0)
                bench::figure(
                    "bench=knn_variant ranks=%d n=%zu variant=%s build_s=%.4f query_s=%.4f\n",
                    world.size(), n, variant, r.build_seconds, r.query_seconds);
        }
    }
    return 0;
}
