// k-nearest neighbours: exact agreement with brute force (distances, and indices too, as
// ties resolve to the lower index), on random data, duplicates and grids, for 1-4 ranks and
// every schedule; the split-built tree equals buildIndex()'s; every bad input through the CLI.
#include <sys/mman.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <complex>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <numeric>
#include <string>
#include <vector>

#include "../support/run.hpp"
#include "../support/temp_dir.hpp"
#include "spmd/knn/detail/answer.hpp"
#include "spmd/knn/detail/tree_build.hpp"
#include "spmd/knn/knn.hpp"
#include "spmd/knn/random_points.hpp"
#include "spmd/launch.hpp"
#include "spmd/npy.hpp"

namespace fs = std::filesystem;
using namespace spmd::knn;

namespace {

constexpr double inf = std::numeric_limits<double>::infinity();

struct Answers {
    std::vector<double> dist;
    std::vector<std::int64_t> idx;
    bool operator==(const Answers& o) const {
        return dist.size() == o.dist.size() && idx == o.idx &&
               std::memcmp(dist.data(), o.dist.data(), dist.size() * sizeof(double)) == 0;
    }
};

// Every distance, then the k best by (distance, index): what search() must return.
Answers brute_force(const std::vector<double>& x, const std::vector<double>& q, std::size_t d,
                    const Options& o) {
    const std::size_t n = x.size() / d, m = q.size() / d, k = o.k;
    const bool l2 = o.metric == Metric::l2;
    const double bound = l2 ? o.max_distance * o.max_distance : o.max_distance;
    Answers a{std::vector<double>(m * k, inf), std::vector<std::int64_t>(m * k, std::int64_t(n))};
    std::vector<std::pair<double, std::size_t>> all;
    for (std::size_t i = 0; i < m; ++i) {
        all.clear();
        for (std::size_t j = 0; j < n; ++j) {
            const double r = l2 ? detail::reduced_distance<Metric::l2>(&q[i * d], &x[j * d], d)
                                : detail::reduced_distance<Metric::l1>(&q[i * d], &x[j * d], d);
            if (r < bound) all.emplace_back(r, j);
        }
        const std::size_t found = std::min(k, all.size());
        std::partial_sort(all.begin(), all.begin() + found, all.end());
        for (std::size_t j = 0; j < found; ++j) {
            a.dist[i * k + j] = l2 ? std::sqrt(all[j].first) : all[j].first;
            a.idx[i * k + j] = std::int64_t(all[j].second);
        }
    }
    return a;
}

// Memory the forked ranks write and the test process reads after launch returns.
struct Scratch {
    std::size_t bytes;
    void* p;
    explicit Scratch(std::size_t b)
        : bytes(std::max<std::size_t>(b, 1)),
          p(mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0)) {
        REQUIRE(p != MAP_FAILED);
    }
    ~Scratch() { munmap(p, bytes); }
    template <class T>
    T* as(std::size_t offset = 0) {
        return reinterpret_cast<T*>(static_cast<char*>(p) + offset);
    }
};

Answers search_ranks(int ranks, const std::vector<double>& x, const std::vector<double>& q,
                     std::size_t d, const Options& o) {
    const std::size_t m = q.size() / d, cells = m * o.k;
    Scratch out(cells * (sizeof(double) + sizeof(std::int64_t)));
    spmd::launch(ranks, [&](spmd::World& world) {
        const auto r = search(world, {x.data(), x.size() / d, d}, {q.data(), m, d}, o);
        if (world.rank() == 0) {
            std::copy(r.distances.begin(), r.distances.end(), out.as<double>());
            std::copy(r.indices.begin(), r.indices.end(),
                      out.as<std::int64_t>(cells * sizeof(double)));
        }
    });
    Answers a{std::vector<double>(out.as<double>(), out.as<double>() + cells),
              std::vector<std::int64_t>(cells)};
    std::copy_n(out.as<std::int64_t>(cells * sizeof(double)), cells, a.idx.begin());
    return a;
}

std::vector<double> uniform(std::size_t count, std::uint64_t seed, std::uint64_t stream) {
    std::vector<double> v(count);
    for (std::size_t i = 0; i < count; ++i) v[i] = uniform_at(seed, stream, i);
    return v;
}

// The first k columns of answers computed for a larger k.
Answers first_columns(const Answers& a, std::size_t big_k, std::size_t k) {
    Answers out;
    for (std::size_t i = 0; i < a.idx.size() / big_k; ++i)
        for (std::size_t j = 0; j < k; ++j) {
            out.dist.push_back(a.dist[i * big_k + j]);
            out.idx.push_back(a.idx[i * big_k + j]);
        }
    return out;
}

const spmd::Schedule schedules[] = {spmd::Schedule::static_, spmd::Schedule::dynamic,
                                    spmd::Schedule::guided};

// Every rank count 1-4 with every schedule (and a chunk now and then) equals `want`.
void check_all_worlds(const std::vector<double>& x, const std::vector<double>& q, std::size_t d,
                      Options o, const Answers& want) {
    for (int ranks = 1; ranks <= 4; ++ranks)
        for (auto s : schedules) {
            o.schedule = s;
            o.chunk = ranks == 3 ? 7 : 0;
            INFO("ranks=" << ranks << " schedule=" << spmd::to_string(s));
            REQUIRE(search_ranks(ranks, x, q, d, o) == want);
        }
}

// A tree as comparable bytes: the index array, then the nodes in preorder with what each
// holds (pointers only as "has children").
template <class Tree>
std::vector<double> tree_fingerprint(Tree& tree) {
    using detail::TreeMembers;
    std::vector<double> out(TreeMembers::indices(tree).begin(), TreeMembers::indices(tree).end());
    auto walk = [&](auto& self, const typename Tree::Node* node) -> void {
        if (node->child1 == nullptr) {
            out.insert(out.end(),
                       {-1.0, double(node->node_type.lr.left), double(node->node_type.lr.right)});
            return;
        }
        const auto& s = node->node_type.sub;
        out.insert(out.end(), {double(s.divfeat), s.divlow, s.divhigh});
        self(self, node->child1);
        self(self, node->child2);
    };
    walk(walk, TreeMembers::root(tree));
    for (const auto& b : TreeMembers::root_bbox(tree)) out.insert(out.end(), {b.low, b.high});
    return out;
}

}  // namespace

TEST_CASE("distances and the distance bound are scipy's, to the bit", "[knn]") {
    // scipy 1.10 cKDTree(u).query(v) for this 9-D pair: four running sums, then the rest.
    // A plain left-to-right sum gives 0x1.35846f7ce02fap+0, one ulp more.
    const double u[] = {0x1.a22b4733e1ef6p-1, 0x1.192064c5ada7bp-1, 0x1.f63a5001f6ebcp-1,
                        0x1.a2d5db4114b98p-3, 0x1.1b828bce9de23p-1, 0x1.ef3b50034ba28p-2,
                        0x1.69c0e233ef600p-2, 0x1.2ee59465db4cfp-1, 0x1.e1e59cb5c4274p-3};
    const double v[] = {0x1.9aba4f672f1ccp-1, 0x1.bc1324afc5fc7p-1, 0x1.07b32687bd18cp-3,
                        0x1.de48704f1d692p-2, 0x1.1bcbdee6be26cp-2, 0x1.54727d303bb00p-4,
                        0x1.cab9365df2020p-1, 0x1.b844784d36b5ep-2, 0x1.2e78c6b9ed678p-3};
    CHECK(distance(Metric::l2, u, v, 9) == 0x1.35846f7ce02f9p+0);
    CHECK(distance(Metric::l1, u, v, 9) == 0x1.7550d1c9ca5c5p+1);
    // scipy's distance_upper_bound R keeps d*d < R*R: with R the rounded distance itself,
    // scipy 1.10 keeps the first point (at distance exactly R) and drops the second.
    const double kept[] = {0x1.5ed1a93cfbec0p-4, 0x1.e4fce8296f7e8p-3};
    const double dropped[] = {0x1.9a40a58e5cdbdp-1, 0x1.2a112473bd0c0p-1};
    const double origin[] = {0.0, 0.0};
    Options o;
    o.max_distance = 0x1.01ddfa72f3b6ap-2;
    Answers a = search_ranks(1, {kept[0], kept[1]}, {0.0, 0.0}, 2, o);
    CHECK(a.idx[0] == 0);
    CHECK(a.dist[0] == 0x1.01ddfa72f3b6ap-2);
    CHECK(distance(Metric::l2, kept, origin, 2) == o.max_distance);
    o.max_distance = 0x1.fb19c2ea00925p-1;
    a = search_ranks(1, {dropped[0], dropped[1]}, {0.0, 0.0}, 2, o);
    CHECK(a.idx[0] == 1);
    CHECK(a.dist[0] == inf);
    CHECK(distance(Metric::l2, dropped, origin, 2) == o.max_distance);
    CHECK(parse_metric("l1") == Metric::l1);
    CHECK_THROWS_AS(parse_metric("l3"), spmd::UsageError);
}

TEST_CASE("random data: equal to brute force for every d, k, metric, bound, ranks, schedule",
          "[knn]") {
    for (std::size_t d : {1, 2, 3, 8}) {
        const std::size_t n = d == 8 ? 2000 : 1500, m = 240;
        const auto x = uniform(n * d, d, 0), q = uniform(m * d, d, 1);
        for (Metric metric : {Metric::l2, Metric::l1}) {
            // A bound with about 12 points inside (volume of the unit ball: L2's, or L1's
            // 2^d/d!), so that some queries have fewer than 16 neighbours.
            const double ball = metric == Metric::l2
                                    ? std::pow(M_PI, d / 2.0) / std::tgamma(d / 2.0 + 1)
                                    : std::pow(2.0, double(d)) / std::tgamma(double(d) + 1);
            const double radius = std::pow(12.0 / (double(n) * ball), 1.0 / double(d));
            for (double bound : {inf, radius}) {
                Options o;
                o.metric = metric;
                o.max_distance = bound;
                o.k = 16;
                const Answers want16 = brute_force(x, q, d, o);
                for (std::size_t k : {1, 5, 16}) {
                    INFO("d=" << d << " metric=" << to_string(metric) << " bound=" << bound
                              << " k=" << k);
                    o.k = k;
                    const Answers want = first_columns(want16, 16, k);
                    if (k == 5) {
                        check_all_worlds(x, q, d, o, want);
                    } else {
                        for (int ranks : {1, 3}) REQUIRE(search_ranks(ranks, x, q, d, o) == want);
                    }
                }
                if (bound != inf)  // the bound does bite: some neighbours are missing
                    CHECK(std::count(want16.idx.begin(), want16.idx.end(), std::int64_t(n)) > 0);
            }
        }
    }
}

TEST_CASE("duplicate points and ties: brute force's distances and lowest indices", "[knn]") {
    // 600 points drawn from 25 distinct grid points, queries on and between grid points:
    // most distances tie, many are zero.
    const std::size_t d = 2, n = 600, m = 150;
    std::vector<double> x(n * d), q(m * d);
    for (std::size_t i = 0; i < n; ++i) {
        const std::size_t p = (i * 7919) % 25;
        x[i * d] = double(p % 5);
        x[i * d + 1] = double(p / 5);
    }
    for (std::size_t i = 0; i < m * d; ++i) q[i] = double(i % 9) * 0.5;
    for (Metric metric : {Metric::l2, Metric::l1})
        for (double bound : {inf, 1.0}) {  // 1.0 ties exactly with grid neighbours: excluded
            Options o;
            o.metric = metric;
            o.max_distance = bound;
            o.k = 30;
            INFO("metric=" << to_string(metric) << " bound=" << bound);
            const Answers want = brute_force(x, q, d, o);
            check_all_worlds(x, q, d, o, want);
        }
    // All points identical: every distance 0, indices 0..k-1.
    const std::vector<double> same(50 * 3, 0.25), at(3, 0.25);
    Options o;
    o.k = 12;
    const Answers a = search_ranks(2, same, at, 3, o);
    for (std::size_t j = 0; j < 12; ++j) {
        CHECK(a.dist[j] == 0.0);
        CHECK(a.idx[j] == std::int64_t(j));
    }
}

TEST_CASE("small and edge shapes", "[knn]") {
    Options o;
    // n = 1, k = 1; n = k; n below the leaf size; no queries at all.
    for (std::size_t n : {1, 7, 10, 11}) {
        const auto x = uniform(n * 2, n, 2), q = uniform(20 * 2, n, 3);
        o.k = n;
        const Answers want = brute_force(x, q, 2, o);
        for (int ranks : {1, 2, 4}) REQUIRE(search_ranks(ranks, x, q, 2, o) == want);
    }
    o.k = 3;
    const auto x = uniform(40 * 4, 9, 0);
    CHECK(search_ranks(2, x, {}, 4, o).idx.empty());
    // A zero bound keeps nothing (distances must be strictly below it).
    o.max_distance = 0.0;
    const Answers none = search_ranks(2, x, std::vector<double>(x.begin(), x.begin() + 8), 4, o);
    CHECK(std::all_of(none.idx.begin(), none.idx.end(), [](auto i) { return i == 40; }));
    CHECK(std::all_of(none.dist.begin(), none.dist.end(), [](double v) { return v == inf; }));
}

TEST_CASE("the split build makes buildIndex()'s tree; every way of building answers alike",
          "[knn]") {
    const std::size_t n = 3000, d = 3;
    auto x = uniform(n * d, 77, 0);
    for (std::size_t i = 0; i < 500; ++i)
        x[(i * 13) % n * d] = 0.5;  // a plane of equal coordinates
    const detail::PointCloud cloud{x.data(), n, d};
    detail::KdTree<Metric::l2> serial(int(d), cloud, detail::deferred_build(10));
    serial.buildIndex();
    const auto want = tree_fingerprint(serial);

    for (int ranks : {2, 3, 4})
        for (std::size_t tasks : {0, 1, 5, 64}) {
            INFO("ranks=" << ranks << " tasks=" << tasks);
            Scratch out(want.size() * sizeof(double));
            spmd::launch(ranks, [&](spmd::World& world) {
                detail::KdTree<Metric::l2> tree(int(d), cloud, detail::deferred_build(10));
                detail::build_tree(world, tree, IndexBuild::split, tasks, "t.");
                const auto got = tree_fingerprint(tree);
                // Every rank checks its own tree; a mismatch fails the launch.
                if (got.size() != want.size() ||
                    std::memcmp(got.data(), want.data(), got.size() * sizeof(double)))
                    throw spmd::Error("rank " + std::to_string(world.rank()) +
                                      " holds a different tree");
                if (world.rank() == 0) std::copy(got.begin(), got.end(), out.as<double>());
            });
            REQUIRE(std::memcmp(out.as<double>(), want.data(), want.size() * sizeof(double)) == 0);
        }

    const auto q = uniform(300 * d, 78, 1);
    Options o;
    o.k = 4;
    const Answers base = brute_force(x, q, d, o);
    o.build = IndexBuild::each_rank;
    CHECK(search_ranks(3, x, q, d, o) == base);
    o.build = IndexBuild::split;
    o.build_subtrees = 2;
    o.leafsize = 1;
    CHECK(search_ranks(2, x, q, d, o) == base);
    o.leafsize = 100;
    CHECK(search_ranks(4, x, q, d, o) == base);
}

TEST_CASE("bad input to the library is a UsageError", "[knn]") {
    const std::vector<double> x(20, 0.5), q(4, 0.5);
    const Points data{x.data(), 10, 2}, queries{q.data(), 2, 2};
    Options o;
    CHECK_NOTHROW(validate(data, queries, o));
    o.k = 0;
    CHECK_THROWS_AS(validate(data, queries, o), spmd::UsageError);
    o.k = 11;
    CHECK_THROWS_WITH(validate(data, queries, o),
                      Catch::Contains("exceeds the number of data points"));
    o.k = 1;
    CHECK_THROWS_WITH(validate({x.data(), 0, 2}, queries, o), Catch::Contains("empty"));
    CHECK_THROWS_WITH(validate(data, {q.data(), 1, 4}, o), Catch::Contains("coordinates"));
    o.max_distance = -1;
    CHECK_THROWS_AS(validate(data, queries, o), spmd::UsageError);
    o.max_distance = std::nan("");
    CHECK_THROWS_AS(validate(data, queries, o), spmd::UsageError);
    o.max_distance = inf;
    auto bad = x;
    bad[7] = std::nan("");
    CHECK_THROWS_WITH(validate({bad.data(), 10, 2}, queries, o),
                      Catch::Contains("data row 3 column 1 is nan"));
    bad[7] = -inf;
    CHECK_THROWS_WITH(validate(data, {bad.data(), 10, 2}, o),
                      Catch::Contains("queries row 3 column 1 is inf"));
}

TEST_CASE("random points: the same for any rank count", "[knn]") {
    const std::size_t count = 1001;
    Scratch out(3 * count * sizeof(double));
    for (int ranks = 1; ranks <= 3; ++ranks)
        spmd::launch(ranks, [&](spmd::World& world) {
            auto a = world.shared<double>("r", count);
            fill_uniform(world, a, 42, 0);
            if (world.rank() == 0)
                std::copy(a.begin(), a.end(), out.as<double>((ranks - 1) * count * sizeof(double)));
        });
    const double* v = out.as<double>();
    CHECK(std::memcmp(v, v + count, count * sizeof(double)) == 0);
    CHECK(std::memcmp(v, v + 2 * count, count * sizeof(double)) == 0);
    CHECK(std::all_of(v, v + count, [](double x) { return x >= 0.0 && x < 1.0; }));
    CHECK(v[5] == uniform_at(42, 0, 5));
    CHECK(uniform_at(42, 0, 5) != uniform_at(42, 1, 5));
    CHECK(uniform_at(42, 0, 5) != uniform_at(43, 0, 5));
    const double mean = std::accumulate(v, v + count, 0.0) / double(count);
    CHECK(mean == Approx(0.5).margin(0.05));
}

// ---- the CLI ------------------------------------------------------------------------

namespace {

test::Run knn_cli(const std::string& args) {
    return test::run(test::bin("knn") + " " + args);
}

// A failed run: exit 2 and one line "knn: ..." that mentions `what`.
void check_usage_error(const test::Run& r, const std::string& what) {
    INFO("stderr: " << r.err);
    CHECK(r.code == 2);
    CHECK(test::lines(r.err).size() == 1);
    CHECK(r.err.rfind("knn: ", 0) == 0);
    CHECK(r.err.find(what) != std::string::npos);
}

// A .npy file written byte by byte as numpy writes it, for the dtypes and the Fortran order
// that spmd::npy::save does not make. `data` is the file's data section as it is.
void save_raw(const std::string& path, const std::string& descr, bool fortran,
              const std::vector<std::size_t>& shape, const std::string& data) {
    const std::string quoted = descr[0] == '[' ? descr : "'" + descr + "'";  // a list: structured
    std::string dict = "{'descr': " + quoted +
                       ", 'fortran_order': " + (fortran ? "True" : "False") + ", 'shape': (";
    for (std::size_t k = 0; k < shape.size(); ++k)
        dict += std::to_string(shape[k]) + (shape.size() == 1      ? ","
                                            : k + 1 < shape.size() ? ", "
                                                                   : "");
    dict += "), }";
    while ((10 + dict.size() + 1) % 64 != 0) dict += ' ';
    dict += '\n';
    std::string file("\x93NUMPY\x01\x00", 8);
    file += char(dict.size() & 0xff);
    file += char(dict.size() >> 8);
    std::ofstream(path, std::ios::binary) << file << dict << data;
}

// The bytes of values converted to T, in C order or (for a rows x cols matrix) Fortran order.
template <class T>
std::string bytes_as(const std::vector<double>& values, std::size_t cols, bool fortran) {
    const std::size_t rows = values.size() / cols;
    std::string out;
    for (std::size_t i = 0; i < values.size(); ++i) {
        const std::size_t at = fortran ? (i % rows) * cols + i / rows : i;
        const T v = static_cast<T>(values[at]);
        out.append(reinterpret_cast<const char*>(&v), sizeof v);
    }
    return out;
}

}  // namespace

TEST_CASE(
    "CLI: numpy's Fortran-order, integer, float32 and 1-D arrays give the answers of "
    "their float64 C-order copies",
    "[knn][cli][npy]") {
    REQUIRE(test::file_exists(test::bin("knn")));
    test::TempDir dir;
    const std::size_t n = 300, d = 3, m = 40;
    auto x = uniform(n * d, 7, 0), q = uniform(m * d, 7, 1);
    for (double& v : x) v = std::floor(v * 200) - 100;  // whole numbers: exact in every dtype
    for (double& v : q) v = std::floor(v * 200) - 100;
    spmd::npy::save(dir / "x.npy", x, {n, d});
    spmd::npy::save(dir / "q.npy", q, {m, d});
    auto run = [&](const std::string& data, const std::string& queries, const std::string& out,
                   const std::string& launcher = "") {
        const auto r = test::run(launcher + test::bin("knn") + " --data " + (dir / data) +
                                 " --queries " + (dir / queries) + " -k 5 --out " + (dir / out));
        INFO(r.err);
        REQUIRE(r.code == 0);
        return test::read_file(dir / (out + "_dist.npy")) +
               test::read_file(dir / (out + "_idx.npy"));
    };
    const std::string want = run("x.npy", "q.npy", "c");
    CHECK(Answers{spmd::npy::load<double>(dir / "c_dist.npy").data,
                  spmd::npy::load<std::int64_t>(dir / "c_idx.npy").data} == [&] {
        Options o;
        o.k = 5;
        return brute_force(x, q, d, o);
    }());

    save_raw(dir / "xf.npy", "<f8", true, {n, d}, bytes_as<double>(x, d, true));
    CHECK(run("xf.npy", "q.npy", "f8_fortran") == want);
    save_raw(dir / "xi4.npy", "<i4", false, {n, d}, bytes_as<std::int32_t>(x, d, false));
    save_raw(dir / "qi8f.npy", "<i8", true, {m, d}, bytes_as<std::int64_t>(q, d, true));
    CHECK(run("xi4.npy", "qi8f.npy", "ints") == want);
    save_raw(dir / "xi2f.npy", "<i2", true, {n, d}, bytes_as<std::int16_t>(x, d, true));
    save_raw(dir / "qi1.npy", "|i1", false, {m, d}, bytes_as<std::int8_t>(q, d, false));
    CHECK(run("xi2f.npy", "qi1.npy", "small_ints") == want);
    save_raw(dir / "xf4f.npy", "<f4", true, {n, d}, bytes_as<float>(x, d, true));
    if (test::file_exists(test::bin("mprun")))
        CHECK(run("xf4f.npy", "q.npy", "f4_fortran", test::bin("mprun") + " -n 2 ") == want);

    // Unsigned: shift to non-negative values; the answers are those of the shifted copy.
    std::vector<double> xu = x, qu = q;
    for (double& v : xu) v += 100;
    for (double& v : qu) v += 100;
    spmd::npy::save(dir / "xu.npy", xu, {n, d});
    spmd::npy::save(dir / "qu.npy", qu, {m, d});
    save_raw(dir / "xu1.npy", "|u1", true, {n, d}, bytes_as<std::uint8_t>(xu, d, true));
    save_raw(dir / "qu8.npy", "<u8", false, {m, d}, bytes_as<std::uint64_t>(qu, d, false));
    CHECK(run("xu1.npy", "qu8.npy", "unsigned") == run("xu.npy", "qu.npy", "unsigned_ref"));

    // A 1-D array is n points of one coordinate, as (n, 1).
    const std::vector<double> x1(x.begin(), x.begin() + n), q1(q.begin(), q.begin() + m);
    spmd::npy::save(dir / "x1.npy", x1, {n});
    spmd::npy::save(dir / "q1.npy", q1, {m});
    spmd::npy::save(dir / "x1c.npy", x1, {n, 1});
    spmd::npy::save(dir / "q1c.npy", q1, {m, 1});
    CHECK(run("x1.npy", "q1.npy", "flat") == run("x1c.npy", "q1c.npy", "column"));
}

TEST_CASE("CLI: an error any rank finds reaches the user once, whichever rank fails first",
          "[knn][cli][ranks]") {
    REQUIRE(test::file_exists(test::bin("mprun")));
    test::TempDir dir;
    auto x = uniform(2000 * 2, 1, 0);
    x[6 * 2 + 1] = std::nan("");
    spmd::npy::save(dir / "nan.npy", x, {2000, 2});
    spmd::npy::save(dir / "q.npy", uniform(50 * 2, 1, 1), {50, 2});
    const std::string line = "knn: data row 6 column 1 is nan: coordinates must be finite\n";
    // Found after the first collective, by every rank: before World::fail, a rank other than
    // 0 often exited first and the user saw only "rank 5 exited with code 2".
    for (int attempt = 0; attempt < 6; ++attempt) {
        const auto r = test::run(test::bin("mprun") + " -n 8 " + test::bin("knn") + " --data " +
                                 (dir / "nan.npy") + " --queries " + (dir / "q.npy") + " -k 2");
        CHECK(r.code == 2);
        CHECK(r.err == line);
        CHECK(test::nothing_left_of(r.pid));
    }
    // The same line alone (no launcher), and for a bad flag under mprun.
    auto r = knn_cli("--data " + (dir / "nan.npy") + " --queries " + (dir / "q.npy") + " -k 2");
    CHECK(r.code == 2);
    CHECK(r.err == line);
    r = test::run(test::bin("mprun") + " -n 3 " + test::bin("knn") + " --bogus");
    CHECK(r.code == 2);
    CHECK(r.err == "knn: unrecognised option '--bogus' (see knn --help)\n");
    // Sizes beyond memory are refused before any allocation, as bad input.
    r = test::run(test::bin("mprun") + " -n 2 " + test::bin("knn") + " --random 2000000000,8,1");
    CHECK(r.code == 2);
    CHECK(test::lines(r.err).size() == 1);
    CHECK_THAT(r.err, Catch::Contains("2000000000 data and 1 query points of 8 coordinates need "
                                      "128.0 GB of shared memory"));
}

TEST_CASE("CLI: files in, files out, the same for any ranks; float32 input", "[knn][cli]") {
    REQUIRE(test::file_exists(test::bin("knn")));
    test::TempDir dir;
    const std::size_t n = 500, d = 3, m = 60;
    const auto x = uniform(n * d, 5, 0), q = uniform(m * d, 5, 1);
    spmd::npy::save(dir / "x.npy", x, {n, d});
    spmd::npy::save(dir / "q.npy", q, {m, d});
    const std::string in = " --data " + (dir / "x.npy") + " --queries " + (dir / "q.npy");

    auto r = knn_cli(in + " -k 4 --metric l1 --max-distance 0.3 --out " + (dir / "one"));
    REQUIRE(r.code == 0);
    CHECK(r.err.empty());
    const auto dist = spmd::npy::load<double>(dir / "one_dist.npy");
    const auto idx = spmd::npy::load<std::int64_t>(dir / "one_idx.npy");
    CHECK(dist.shape == std::vector<std::size_t>{m, 4});
    Options o;
    o.k = 4;
    o.metric = Metric::l1;
    o.max_distance = 0.3;
    const Answers want = brute_force(x, q, d, o);
    CHECK((Answers{dist.data, idx.data} == want));

    if (test::file_exists(test::bin("mprun"))) {
        r = test::run(test::bin("mprun") + " -n 3 " + test::bin("knn") + in +
                      " -k 4 --metric l1 --max-distance 0.3 --schedule dynamic --chunk 5 --out " +
                      (dir / "three"));
        REQUIRE(r.code == 0);
        CHECK(test::read_file(dir / "three_dist.npy") == test::read_file(dir / "one_dist.npy"));
        CHECK(test::read_file(dir / "three_idx.npy") == test::read_file(dir / "one_idx.npy"));
    }

    // float32 files give the answers for their values widened to float64.
    std::vector<float> x32(x.begin(), x.end()), q32(q.begin(), q.end());
    spmd::npy::save(dir / "x32.npy", x32, {n, d});
    spmd::npy::save(dir / "q32.npy", q32, {m, d});
    REQUIRE(knn_cli("--data " + (dir / "x32.npy") + " --queries " + (dir / "q32.npy") +
                    " -k 2 --out " + (dir / "f"))
                .code == 0);
    o = Options();
    o.k = 2;
    const Answers want32 = brute_force(std::vector<double>(x32.begin(), x32.end()),
                                       std::vector<double>(q32.begin(), q32.end()), d, o);
    CHECK((Answers{spmd::npy::load<double>(dir / "f_dist.npy").data,
                   spmd::npy::load<std::int64_t>(dir / "f_idx.npy").data} == want32));

    // No --out: a summary line; --random is the same problem for any rank count.
    r = knn_cli("--random 2000,4,300 --seed 9 -k 3");
    REQUIRE(r.code == 0);
    CHECK(r.out.find("n=2000 d=4 q=300 k=3 ranks=1") != std::string::npos);
    CHECK(r.out.find("qps=") != std::string::npos);
    REQUIRE(knn_cli("--random 2000,4,300 --seed 9 -k 3 --out " + (dir / "r1")).code == 0);
    if (test::file_exists(test::bin("mprun"))) {
        REQUIRE(test::run(test::bin("mprun") + " -n 2 " + test::bin("knn") +
                          " --random 2000,4,300 --seed 9 -k 3 --out " + (dir / "r2"))
                    .code == 0);
        CHECK(test::read_file(dir / "r1_idx.npy") == test::read_file(dir / "r2_idx.npy"));
        CHECK(test::read_file(dir / "r1_dist.npy") == test::read_file(dir / "r2_dist.npy"));
    }
}

TEST_CASE("CLI: every bad input is one line, exit 2, and no output file", "[knn][cli]") {
    REQUIRE(test::file_exists(test::bin("knn")));
    test::TempDir dir;
    const auto x = uniform(20 * 2, 1, 0);
    spmd::npy::save(dir / "x.npy", x, {20, 2});
    spmd::npy::save(dir / "q.npy", x, {20, 2});
    spmd::npy::save(dir / "q3.npy", uniform(9, 1, 1), {3, 3});
    spmd::npy::save(dir / "empty.npy", std::vector<double>(), {0, 2});
    spmd::npy::save(dir / "cube.npy", x, {2, 10, 2});
    spmd::npy::save(dir / "complex.npy", std::vector<std::complex<double>>(40), {20, 2});
    save_raw(dir / "text.npy", "<U3", false, {2}, std::string(24, 'a'));
    save_raw(dir / "pairs.npy", "[('x', '<f8'), ('y', '<f8')]", false, {2}, std::string(32, 0));
    auto nan = x, posinf = x;
    nan[13] = std::nan("");
    posinf[0] = inf;
    spmd::npy::save(dir / "nan.npy", nan, {20, 2});
    spmd::npy::save(dir / "inf.npy", posinf, {20, 2});
    std::ofstream(dir / "junk.npy") << "this is not a numpy file";
    fs::create_directory(dir / "outdir_dist.npy");
    const std::size_t files = dir.entries().size();

    const std::string x_npy = dir / "x.npy", q_npy = dir / "q.npy";
    auto with = [&](const std::string& data, const std::string& queries, const std::string& rest) {
        return knn_cli("--data " + data + " --queries " + queries + " " + rest + " --out " +
                       (dir / "o"));
    };
    check_usage_error(with(x_npy, q_npy, "-k 0"), "k must be");
    check_usage_error(with(x_npy, q_npy, "-k 21"), "exceeds the number of data points (20)");
    check_usage_error(with(x_npy, q_npy, "-k -3"), "k must be");
    check_usage_error(with(x_npy, dir / "q3.npy", "-k 1"), "coordinates");
    check_usage_error(with(dir / "empty.npy", q_npy, "-k 1"), "empty");
    check_usage_error(with(dir / "nan.npy", q_npy, "-k 1"), "data row 6 column 1 is nan");
    check_usage_error(with(x_npy, dir / "inf.npy", "-k 1"), "queries row 0 column 0 is inf");
    check_usage_error(with(dir / "missing.npy", q_npy, "-k 1"), "missing.npy");
    check_usage_error(with(dir / "junk.npy", q_npy, "-k 1"), "junk.npy");
    check_usage_error(with(dir / "cube.npy", q_npy, "-k 1"), "got shape 2x10x2");
    check_usage_error(with(dir / "complex.npy", q_npy, "-k 1"), "complex128 values are not points");
    check_usage_error(with(dir / "text.npy", q_npy, "-k 1"), "strings are not numbers");
    check_usage_error(with(x_npy, dir / "pairs.npy", "-k 1"), "structured arrays cannot be read");
    check_usage_error(with(x_npy, q_npy, "--metric l3"), "l3");
    check_usage_error(with(x_npy, q_npy, "--schedule sometimes"), "sometimes");
    check_usage_error(with(x_npy, q_npy, "--max-distance -1"), "max-distance");
    check_usage_error(with(x_npy, q_npy, "--leafsize 0"), "leafsize");
    check_usage_error(with(x_npy, q_npy, "--bogus"), "bogus");
    check_usage_error(knn_cli("--data " + x_npy + " --out " + (dir / "o")), "--queries");
    check_usage_error(knn_cli("--random 10,2 --out " + (dir / "o")), "n,d,q");
    check_usage_error(knn_cli("--random 10,2,3 --data " + x_npy), "not both");
    check_usage_error(knn_cli("--random 10,2,3 -k 1 --out " + (dir / "no/such/dir/o")),
                      "no/such/dir");
    check_usage_error(knn_cli("--random 10,2,3 -k 1 --out " + (dir / "outdir")), "is a directory");
    CHECK(dir.entries().size() == files);  // nothing written, no temp file left behind
}
