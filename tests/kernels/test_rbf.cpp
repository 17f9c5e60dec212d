// RBF kernel: every function against its formula, the same bits for any ranks and
// schedule (shared array and .npy paths), and every bad input through the built CLI.
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "../support/temp_dir.hpp"
#include "spmd/launch.hpp"
#include "spmd/npy.hpp"
#include "spmd/rbf/mapped_output.hpp"
#include "spmd/rbf/rbf_matrix.hpp"

namespace fs = std::filesystem;
using namespace spmd::rbf;

namespace {

const Phi all_kinds[] = {Phi::cubic_quadratic,     Phi::linear,   Phi::cubic,
                         Phi::thin_plate,          Phi::gaussian, Phi::multiquadric,
                         Phi::inverse_multiquadric};

std::vector<double> serial_matrix(const Points& p, Radial f, Store store = Store::streaming) {
    std::vector<double> m(p.n * p.n, -1.0);
    RowFiller(p, f, store).fill({0, p.n}, m.data());
    return m;
}

bool same_bits(const std::vector<double>& a, const double* b) {
    return std::memcmp(a.data(), b, a.size() * sizeof(double)) == 0;
}

// The CLI sits beside this test binary in build/bin/; RBF_BIN overrides.
std::string rbf_binary() {
    if (const char* env = std::getenv("RBF_BIN")) return env;
    return (fs::read_symlink("/proc/self/exe").parent_path() / "rbf").string();
}

struct CliResult {
    int code = -1;
    std::string err;
    std::string out;
};

std::string test_bytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

CliResult run_cli(const test::TempDir& dir, const std::string& args) {
    const auto out = dir.path / ".stdout", err = dir.path / ".stderr";
    const std::string cmd = "cd '" + dir.path.string() + "' && '" + rbf_binary() + "' " + args +
                            " >'" + out.string() + "' 2>'" + err.string() + "'";
    const int status = std::system(cmd.c_str());
    CliResult r;
    r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    std::ifstream e(err), o(out);
    std::stringstream es, os;
    es << e.rdbuf();
    os << o.rdbuf();
    r.err = es.str();
    r.out = os.str();
    fs::remove(out);
    fs::remove(err);
    return r;
}

}  // namespace

TEST_CASE("every function matches its formula; symmetric; phi(0) on the diagonal", "[rbf]") {
    for (std::size_t d : {1, 2, 3, 4, 7}) {
        for (std::size_t n : {1, 9, 31, 300}) {  // odd rows misalign streams; 300 spans tiles
            const Points p = random_points(n, d, 10 * n + d);
            for (Phi kind : all_kinds) {
                const Radial f{kind, 0.7};
                INFO("phi=" << to_string(kind) << " n=" << n << " d=" << d);
                const auto m = serial_matrix(p, f);
                const auto plain = serial_matrix(p, f, Store::plain);
                REQUIRE(same_bits(m, plain.data()));
                for (std::size_t i = 0; i < n; ++i) {
                    REQUIRE(m[i * n + i] == f(0.0));
                    for (std::size_t j = 0; j < n; ++j) {
                        double s = 0;
                        for (std::size_t k = 0; k < d; ++k)
                            s += (p.row(i)[k] - p.row(j)[k]) * (p.row(i)[k] - p.row(j)[k]);
                        // The kernel takes phi of s = r^2; rounding sqrt(s) costs r^2 * 1e-16
                        // where phi is near 0 (thin-plate at r = 1): hence the margin.
                        const double want = f(std::sqrt(s));
                        REQUIRE(m[i * n + j] == Approx(want).epsilon(1e-13).margin(1e-14 * s));
                        REQUIRE(std::memcmp(&m[i * n + j], &m[j * n + i], sizeof(double)) == 0);
                    }
                }
            }
        }
    }
}

TEST_CASE("the formulas at known distances", "[rbf]") {
    const double r = 2.0;
    CHECK(parse_radial("cubic-quadratic")(r) == Approx(8.0 / 12 + 4.0 / 6));
    CHECK(parse_radial("linear")(r) == 2.0);
    CHECK(parse_radial("cubic")(r) == 8.0);
    CHECK(parse_radial("thin-plate")(r) == Approx(4 * std::log(2.0)));
    CHECK(parse_radial("thin-plate")(0.0) == 0.0);
    CHECK(parse_radial("gaussian", 0.5)(r) == Approx(std::exp(-1.0)));
    CHECK(parse_radial("multiquadric", 0.5)(r) == Approx(std::sqrt(2.0)));
    CHECK(parse_radial("inverse-multiquadric", 0.5)(r) == Approx(1 / std::sqrt(2.0)));
    // Two points at distance 2: the kernel gives the same values.
    const Points p{2, 2, {0.0, 0.0, 0.0, 2.0}};
    for (Phi kind : all_kinds) {
        const Radial f{kind, 0.5};
        const auto m = serial_matrix(p, f);
        CHECK(m[1] == Approx(f(r)).epsilon(1e-15));
        CHECK(m[2] == m[1]);
    }
}

TEST_CASE("gaussian and thin-plate hold their accuracy from tiny to huge distances", "[rbf]") {
    // Row 0 of 1-D points {0, r_1, r_2, ...} is phi(r_j): the kernel's own exp and log
    // against the C library's, into the subnormal range and out to 1e150.
    Points p{1, 1, {0.0}};
    for (double r = 1e-160; r < 1e150; r *= 1.37) p.coords.push_back(r);
    for (double r = 0.01; r < 28; r += 0.0137) p.coords.push_back(r);  // exp(-r^2) underflows
    p.n = p.coords.size();
    for (Phi kind : {Phi::gaussian, Phi::thin_plate}) {
        const Radial f{kind, 1.0};
        std::vector<double> m(p.n * p.n);
        RowFiller(p, f).fill({0, 1}, m.data());
        for (std::size_t j = 1; j < p.n; ++j) {
            const double r = p.coords[j];
            INFO("phi=" << to_string(kind) << " r=" << r);
            // margin: r^2 rounds before phi sees it, and subnormal results lose digits.
            REQUIRE(m[j] == Approx(f(r)).epsilon(1e-14).margin(std::max(1e-15 * r * r, 1e-320)));
        }
    }
}

TEST_CASE("bad names, eps and --random specs are usage errors", "[rbf]") {
    CHECK_THROWS_AS(parse_radial("cosine"), spmd::UsageError);
    CHECK_THROWS_AS(parse_radial("gaussian", -1), spmd::UsageError);
    CHECK_THROWS_AS(parse_radial("gaussian", std::nan("")), spmd::UsageError);
    CHECK_THROWS_AS(parse_radial("gaussian", INFINITY), spmd::UsageError);
    CHECK(parse_radial("gaussian", 0).eps == 0);
    for (const char* spec :
         {"", "5", "5,", ",3", "0,3", "5,0", "-5,3", "5,-3", "a,b", "5,3,2", "5, 3"})
        CHECK_THROWS_AS(parse_random_spec(spec), spmd::UsageError);
    CHECK(parse_random_spec("6000,3") == std::pair<std::size_t, std::size_t>{6000, 3});
    CHECK_THROWS_AS(check_points(Points{1, 1, {std::nan("")}}, "x"), spmd::UsageError);
    CHECK_THROWS_AS(check_fits_in_memory(std::size_t{1} << 33), spmd::UsageError);
    CHECK_THROWS_AS(check_fits_in_memory(std::numeric_limits<std::size_t>::max()),
                    spmd::UsageError);
}

TEST_CASE("same bits for ranks 1..4 and every schedule, shared array and .npy", "[rbf][launch]") {
    test::TempDir dir;
    const Points p = random_points(203, 3, 7);  // 203 rows: chunks never divide evenly
    const Radial f = parse_radial("gaussian", 2.0);
    const auto want = serial_matrix(p, f);
    const std::string path = (dir.path / "D.npy").string();
    for (int ranks = 1; ranks <= 4; ++ranks) {
        for (auto policy :
             {spmd::Schedule::static_, spmd::Schedule::dynamic, spmd::Schedule::guided}) {
            for (std::size_t chunk : {0, 1, 17}) {
                INFO("ranks=" << ranks << " schedule=" << spmd::to_string(policy)
                              << " chunk=" << chunk);
                const Store store = chunk == 17 ? Store::plain : Store::streaming;
                const MatrixOptions options{policy, chunk, store};
                // The children hold a copy of `want`: a rank that sees other bits fails the launch.
                REQUIRE_NOTHROW(spmd::launch(ranks, [&](spmd::World& world) {
                    auto m = rbf_matrix(world, p, f, options);
                    if (!same_bits(want, m.data())) throw spmd::Error("shared matrix differs");
                    write_rbf_matrix(world, p, f, path, options);
                }));
                const auto file = spmd::npy::load<double>(path);
                REQUIRE(file.shape == std::vector<std::size_t>{p.n, p.n});
                REQUIRE(same_bits(want, file.data.data()));
                REQUIRE(dir.entries() == std::vector<std::string>{"D.npy"});
                fs::remove(path);
            }
        }
    }
}

TEST_CASE("the CLI writes the matrix and prints a summary", "[rbf][cli]") {
    test::TempDir dir;
    const Points p = random_points(40, 2, 5);
    spmd::npy::save((dir.path / "P.npy").string(), p.coords, {p.n, p.d});
    auto r = run_cli(dir, "--points P.npy --phi multiquadric --eps 0.5 --out D.npy");
    REQUIRE(r.code == 0);
    REQUIRE(r.err.empty());
    const auto file = spmd::npy::load<double>((dir.path / "D.npy").string());
    REQUIRE(same_bits(serial_matrix(p, parse_radial("multiquadric", 0.5)), file.data.data()));

    r = run_cli(dir, "--random 40,2 --seed 5 --out R.npy --schedule static");
    REQUIRE(r.code == 0);
    const auto random = spmd::npy::load<double>((dir.path / "R.npy").string());
    REQUIRE(same_bits(serial_matrix(p, parse_radial("cubic-quadratic")), random.data.data()));

    r = run_cli(dir, "--random 100,3");
    REQUIRE(r.code == 0);
    CHECK(r.out.rfind("n=100 d=3 ranks=1 ", 0) == 0);
    CHECK(r.out.find("gbps=") != std::string::npos);
    CHECK(dir.entries() == std::vector<std::string>{"D.npy", "P.npy", "R.npy"});
}

TEST_CASE("every bad input: one line, exit 2, no output or temp file", "[rbf][cli]") {
    test::TempDir dir;
    const auto save = [&](const char* name, std::vector<double> v, std::vector<std::size_t> shape) {
        spmd::npy::save((dir.path / name).string(), v, shape);
    };
    save("ok.npy", {0, 0, 1, 1}, {2, 2});
    save("flat.npy", {0, 1, 2}, {3});
    save("cube.npy", std::vector<double>(8, 0.0), {2, 2, 2});
    save("nan.npy", {0, 0, 1, std::nan("")}, {2, 2});
    save("inf.npy", {0, 0, 1, INFINITY}, {2, 2});
    save("empty.npy", {}, {0, 3});
    save("nodims.npy", {}, {3, 0});
    { std::ofstream((dir.path / "junk.npy").string()) << "not a numpy file at all"; }
    { std::ofstream((dir.path / "short.npy").string()) << "\x93NUMPY\x01\x00"; }
    const auto inputs = dir.entries();
    fs::create_directory(dir.path / "sub");

    const char* cases[] = {
        "--points missing.npy --out D.npy",
        "--points junk.npy --out D.npy",
        "--points short.npy --out D.npy",
        "--points cube.npy --out D.npy",
        "--points nan.npy --out D.npy",
        "--points inf.npy --out D.npy",
        "--points empty.npy --out D.npy",
        "--points nodims.npy --out D.npy",
        "--random 5 --out D.npy",
        "--random 0,3 --out D.npy",
        "--random 5,0 --out D.npy",
        "--random 5,x --out D.npy",
        "--random 5,3,1 --out D.npy",
        "--random 5,3 --seed -1 --out D.npy",
        "--out D.npy",
        "--points ok.npy --random 5,3 --out D.npy",
        "--points ok.npy --phi cosine --out D.npy",
        "--points ok.npy --phi gaussian --eps -1 --out D.npy",
        "--points ok.npy --phi gaussian --eps nan --out D.npy",
        "--points ok.npy --eps abc --out D.npy",
        "--points ok.npy --phi linear --eps 2 --out D.npy",
        "--points ok.npy --eps 0.5 --out D.npy",  // the default phi has no shape either
        "--points ok.npy --schedule fastest --out D.npy",
        "--points ok.npy --chunk -3 --out D.npy",
        "--points ok.npy --bogus --out D.npy",
        "--points ok.npy stray --out D.npy",
        "--points ok.npy --out nowhere/D.npy",
        "--points ok.npy --out sub",
        "--random 3000000,1 --out D.npy",      // 72 TB: no disk here holds it
        "--random 10000000000,1 --out D.npy",  // n*n*8 overflows
        "--random 3000000,1",                  // nor does memory
    };
    for (const char* args : cases) {
        INFO("rbf " << args);
        const auto r = run_cli(dir, args);
        CHECK(r.code == 2);
        CHECK(r.err.rfind("rbf: ", 0) == 0);
        CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
        CHECK(r.out.empty());
        auto names = dir.entries();
        names.erase(std::remove(names.begin(), names.end(), "sub"), names.end());
        CHECK(names == inputs);
        CHECK(fs::is_empty(dir.path / "sub"));
    }
}

TEST_CASE("CLI: the messages say what is wrong, once, in a person's units", "[rbf][cli]") {
    test::TempDir dir;
    spmd::npy::save((dir.path / "nan.npy").string(), std::vector<double>{0, 0, 1, std::nan("")},
                    {2, 2});
    auto r = run_cli(dir, "--points nan.npy --out D.npy");
    CHECK(r.err == "rbf: nan.npy: row 1 column 1 is nan: coordinates must be finite\n");
    r = run_cli(dir, "--points nan.npy --phi linear --eps 2");
    CHECK(r.err ==
          "rbf: --eps has no effect with --phi linear: only gaussian, multiquadric and "
          "inverse-multiquadric have a shape\n");
    r = run_cli(dir, "--random 3000000,1");
    CHECK(r.code == 2);
    CHECK_THAT(r.err, Catch::Matchers::StartsWith(
                          "rbf: the 3000000 x 3000000 matrix needs 72000.0 GB of shared memory, "));
    CHECK_THAT(r.err, Catch::Matchers::EndsWith(" GB are free\n"));
    const std::string mprun = (fs::path(rbf_binary()).parent_path() / "mprun").string();
    if (fs::exists(mprun)) {  // every rank meets it; the user reads it once, exit 2
        const std::string cmd = "cd '" + dir.path.string() + "' && '" + mprun + "' -n 3 '" +
                                rbf_binary() + "' --points nan.npy 2>&1";
        std::string out;
        if (FILE* pipe = popen(cmd.c_str(), "r")) {
            char buf[512];
            while (std::size_t got = std::fread(buf, 1, sizeof buf, pipe)) out.append(buf, got);
            const int status = pclose(pipe);
            CHECK(WEXITSTATUS(status) == 2);
        }
        CHECK(out == "rbf: nan.npy: row 1 column 1 is nan: coordinates must be finite\n");
    }
}

TEST_CASE("CLI: Fortran-order, integer and 1-D points give their float64 copies' matrix",
          "[rbf][cli][npy]") {
    test::TempDir dir;
    const auto at = [&](const char* name) { return (dir.path / name).string(); };
    // 4 points of 3 integer coordinates; the Fortran file holds the columns in turn.
    const std::vector<double> c_order{1, 2, 3, -4, 5, 6, 7, -8, 9, 10, 11, 12};
    std::vector<std::int32_t> columns;
    for (std::size_t j = 0; j < 3; ++j)
        for (std::size_t i = 0; i < 4; ++i) columns.push_back(std::int32_t(c_order[i * 3 + j]));
    spmd::npy::save(at("c.npy"), c_order, {4, 3});
    std::string dict = "{'descr': '<i4', 'fortran_order': True, 'shape': (4, 3), }";
    while ((10 + dict.size() + 1) % 64 != 0) dict += ' ';
    dict += '\n';
    std::ofstream(at("f.npy"), std::ios::binary)
        << std::string("\x93NUMPY\x01\x00", 8) << char(dict.size()) << char(0) << dict
        << std::string(reinterpret_cast<const char*>(columns.data()), columns.size() * 4);
    REQUIRE(run_cli(dir, "--points c.npy --out C.npy").code == 0);
    const auto r = run_cli(dir, "--points f.npy --out F.npy");
    INFO(r.err);
    REQUIRE(r.code == 0);
    CHECK(test_bytes(at("F.npy")) == test_bytes(at("C.npy")));

    spmd::npy::save(at("flat.npy"), std::vector<double>{0.5, 2, -1}, {3});
    spmd::npy::save(at("column.npy"), std::vector<double>{0.5, 2, -1}, {3, 1});
    REQUIRE(run_cli(dir, "--points flat.npy --out FL.npy").code == 0);
    REQUIRE(run_cli(dir, "--points column.npy --out CO.npy").code == 0);
    CHECK(test_bytes(at("FL.npy")) == test_bytes(at("CO.npy")));
}

TEST_CASE("a failing rank or an unwritable output leaves no file behind", "[rbf][launch]") {
    test::TempDir dir;
    const std::string path = (dir.path / "D.npy").string();
    // Rank 1 fails after the file is made: the matrix never appears under its name. (The
    // temp file goes too only if rank 0 unwinds; launch stops it with SIGTERM at once.)
    CHECK_THROWS_WITH(
        spmd::launch(2,
                     [&](spmd::World& world) {
                         MappedOutput out(world, path, spmd::npy::Dtype::f8, {64, 64});
                         if (world.rank() == 1) throw spmd::Error("boom");
                         out.commit();
                     }),
        Catch::Contains("boom"));
    CHECK(!fs::exists(path));
    for (const auto& name : dir.entries()) fs::remove(dir.path / name);
    // Rank 0 cannot make the file: every rank learns why, none waits forever.
    const Points p = random_points(10, 2, 1);
    CHECK_THROWS_WITH(spmd::launch(3,
                                   [&](spmd::World& world) {
                                       write_rbf_matrix(world, p, Radial{},
                                                        (dir.path / "nowhere" / "D.npy").string());
                                   }),
                      Catch::Contains("nowhere"));
    CHECK(dir.entries().empty());
}
