// bench_rbf: seconds and GB/s of the RBF matrix written, beside a plain memory write in
// the same run. One key=value line per figure, printed by rank 0:
//   build/bin/mprun -n 2 build/bin/bench_rbf [n=3000,6000,12000] [d=3] [reps=5] [dir=.]
//                                             [store=streaming|plain] [chunk=0] [schedule=guided]
// rbf: the call to .npy committed (create, fill, commit, unmap); rbf_fill: the fill alone;
// rbf_shared: a fresh shared array made and filled; rbf_prefaulted: the same array filled
// again (arithmetic and stores, no page faults); rbf_symmetric: rbf with upper-triangle
// tiles computed once and stored twice.
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "bench_common.hpp"
#include "spmd/rbf/mapped_output.hpp"
#include "spmd/rbf/rbf_matrix.hpp"
#include "spmd/world.hpp"

using namespace spmd::rbf;
using Clock = std::chrono::steady_clock;

namespace {

double since(Clock::time_point t) {
    return std::chrono::duration<double>(Clock::now() - t).count();
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

// Every rank writes its share of `bytes` into private memory it maps now (page faults
// included), then again into the same pages (pre-faulted). Returns {fresh, prefaulted}
// seconds from the barrier before to the barrier after.
std::pair<double, double> memwrite(spmd::World& world, std::size_t bytes) {
    const std::size_t share = bytes / world.size();
    void* p = ::mmap(nullptr, share, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw spmd::Error("memwrite: mmap failed");
    world.barrier();
    auto t = Clock::now();
    std::memset(p, 1, share);
    world.barrier();
    const double fresh = since(t);
    t = Clock::now();
    std::memset(p, 2, share);
    world.barrier();
    const double prefaulted = since(t);
    ::munmap(p, share);
    return {fresh, prefaulted};
}

// The symmetric alternative: tile rows handed out dynamically, each tile (I, J >= I)
// computed once and stored twice, as itself and transposed.
void fill_symmetric(spmd::World& world, const Points& p, double* m) {
    constexpr std::size_t T = 64;
    const std::size_t n = p.n, tiles = (n + T - 1) / T;
    std::vector<double> cols(p.d * n);
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t k = 0; k < p.d; ++k) cols[k * n + i] = p.coords[i * p.d + k];
    alignas(64) double block[T][T];
    for (spmd::Range r : world.schedule(tiles, spmd::Schedule::dynamic, 1)) {
        for (std::size_t I = r.begin; I < r.end; ++I) {
            const std::size_t i0 = I * T, i1 = std::min(n, i0 + T);
            for (std::size_t J = I; J < tiles; ++J) {
                const std::size_t j0 = J * T, j1 = std::min(n, j0 + T);
                for (std::size_t i = i0; i < i1; ++i) {
                    for (std::size_t j = j0; j < j1; ++j) {
                        double s = 0;
                        for (std::size_t k = 0; k < p.d; ++k) {
                            const double diff = cols[k * n + j] - cols[k * n + i];
                            s += diff * diff;
                        }
                        block[i - i0][j - j0] = s * (std::sqrt(s) * (1.0 / 12) + 1.0 / 6);
                    }
                    std::memcpy(m + i * n + j0, block[i - i0], (j1 - j0) * sizeof(double));
                }
                if (J != I)
                    for (std::size_t j = j0; j < j1; ++j)
                        for (std::size_t i = i0; i < i1; ++i) m[j * n + i] = block[i - i0][j - j0];
            }
        }
    }
    world.barrier();
}

}  // namespace

int main(int argc, char** argv) {
    try {
        spmd::World world(argc, argv);
        std::map<std::string, std::string> arg{
            {"n", "3000,6000,12000"}, {"d", "3"},     {"reps", "5"},         {"dir", "."},
            {"store", "streaming"},   {"chunk", "0"}, {"schedule", "guided"}};
        for (int k = 1; k < argc; ++k) {
            const std::string a = argv[k];
            const auto eq = a.find('=');
            if (eq == std::string::npos || !arg.count(a.substr(0, eq)))
                throw spmd::UsageError("unknown argument '" + a + "'");
            arg[a.substr(0, eq)] = a.substr(eq + 1);
        }
        const std::size_t d = std::stoul(arg["d"]);
        const int reps = std::stoi(arg["reps"]);
        MatrixOptions options;
        options.schedule = spmd::parse_schedule(arg["schedule"]);
        options.chunk = std::stoul(arg["chunk"]);
        options.store = arg["store"] == "plain" ? Store::plain : Store::streaming;
        const Radial f{};  // cubic-quadratic, the default of the CLI
        const bool root = world.rank() == 0;
        const std::string path = arg["dir"] + "/bench_rbf.npy";
        std::stringstream ns(arg["n"]);
        for (std::string item; std::getline(ns, item, ',');) {
            const std::size_t n = std::stoul(item);
            const Points p = random_points(n, d, 1);
            const double gb = double(n) * double(n) * sizeof(double) / 1e9;
            std::vector<double> total, fill, shared, refill, symmetric, fresh, prefaulted;
            for (int r = 0; r < reps; ++r) {
                // The .npy path, timed in its phases; no old file is replaced (that would
                // time the freeing of the old one).
                world.barrier();
                auto t = Clock::now();
                {
                    MappedOutput out(world, path, spmd::npy::Dtype::f8, {n, n});
                    const auto t_fill = Clock::now();
                    fill_matrix(world, RowFiller(p, f, options.store),
                                static_cast<double*>(out.data()), options);
                    fill.push_back(since(t_fill));
                    out.commit();
                }
                world.barrier();  // every rank has unmapped its view
                total.push_back(since(t));
                // Dropped at once, so that at most one matrix of dirty pages waits for
                // writeback while the next steps run.
                if (root) ::unlink(path.c_str());

                world.barrier();
                t = Clock::now();
                {
                    auto m = rbf_matrix(world, p, f, options);
                    world.barrier();
                    shared.push_back(since(t));
                    t = Clock::now();
                    fill_matrix(world, RowFiller(p, f, options.store), m.data(), options);
                    refill.push_back(since(t));
                }

                const auto [f1, p1] = memwrite(world, n * n * sizeof(double));
                fresh.push_back(f1);
                prefaulted.push_back(p1);

                if (n > 6000) continue;  // 3-6x slower at every n measured: not worth the time
                world.barrier();
                t = Clock::now();
                {
                    MappedOutput out(world, path, spmd::npy::Dtype::f8, {n, n});
                    fill_symmetric(world, p, static_cast<double*>(out.data()));
                    out.commit();
                }
                world.barrier();
                symmetric.push_back(since(t));
                if (root) ::unlink(path.c_str());
            }
            if (!root) continue;
            const auto line = [&](const char* what, const std::vector<double>& s) {
                bench::figure("bench=rbf%s ranks=%d n=%zu d=%zu seconds=%.4f gbps=%.2f\n", what,
                              world.size(), n, d, median(s), gb / median(s));
            };
            line("", total);
            line("_fill", fill);
            line("_shared", shared);
            line("_prefaulted", refill);
            if (!symmetric.empty()) line("_symmetric", symmetric);
            bench::figure(
                "bench=memwrite ranks=%d bytes=%.0f fresh_seconds=%.4f fresh_gbps=%.2f "
                "prefaulted_seconds=%.4f prefaulted_gbps=%.2f\n",
                world.size(), gb * 1e9, median(fresh), gb / median(fresh), median(prefaulted),
                gb / median(prefaulted));
            std::fflush(stdout);
        }
        return 0;
    } catch (const spmd::UsageError& e) {
        std::fprintf(stderr, "bench_rbf: %s\n", e.what());
        return 2;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "bench_rbf: %s\n", e.what());
        return 1;
    }
}
