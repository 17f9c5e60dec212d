// The kernels' CLIs against scipy and numpy themselves: knn against scipy.spatial.cKDTree,
// rbf against scipy.spatial.distance.cdist, chirp's normalised match against a numpy matched
// filter, on inputs numpy wrote (Fortran order, integer and float32 dtypes). The inputs and
// answers come from scipy_reference.py; without python3-scipy the test says SKIP (exit 77).
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "../support/run.hpp"
#include "../support/temp_dir.hpp"
#include "spmd/npy.hpp"

namespace {

const std::string python = "/usr/bin/python3";

// Writes the inputs and references into dir, or ends the test as skipped.
void make_references(const test::TempDir& dir) {
    const auto r = test::run(python + " " + SCIPY_REFERENCE_SCRIPT + " " + dir.path.string());
    if (r.code == 77 || !test::file_exists(python)) {
        std::fputs(r.err.empty() ? "SKIP: /usr/bin/python3 is not installed\n" : r.err.c_str(),
                   stderr);
        std::_Exit(77);
    }
    INFO(r.err);
    REQUIRE(r.code == 0);
}

// Runs a kernel's CLI on 2 ranks; returns its stderr.
std::string run_ok(const std::string& args) {
    const auto r = test::run(test::bin("mprun") + " -n 2 " + args);
    INFO(args << "\n" << r.err);
    REQUIRE(r.code == 0);
    return r.err;
}

// The largest |a - b| relative to max(|b|, 1); infinities must match exactly.
double worst_difference(const std::vector<double>& a, const std::vector<double>& b) {
    REQUIRE(a.size() == b.size());
    double worst = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (std::isinf(b[i]) || std::isinf(a[i])) {
            if (a[i] != b[i]) return INFINITY;
            continue;
        }
        worst = std::max(worst, std::abs(a[i] - b[i]) / std::max(std::abs(b[i]), 1.0));
    }
    return worst;
}

void check_knn(const test::TempDir& dir, const std::string& out, const std::string& reference) {
    using spmd::npy::load;
    const auto want_idx = load<std::int64_t>(dir / (reference + "_idx.npy"));
    const auto got_idx = load<std::int64_t>(dir / (out + "_idx.npy"));
    CHECK(got_idx.shape == want_idx.shape);
    CHECK(got_idx.data == want_idx.data);
    CHECK(worst_difference(load<double>(dir / (out + "_dist.npy")).data,
                           load<double>(dir / (reference + "_dist.npy")).data) <= 1e-15);
}

}  // namespace

TEST_CASE("knn, rbf and chirp give scipy's and numpy's answers on numpy-written inputs",
          "[knn][rbf][chirp][scipy]") {
    REQUIRE(test::file_exists(test::bin("mprun")));
    test::TempDir dir;
    make_references(dir);
    const std::string knn = test::bin("knn"), rbf = test::bin("rbf"), chirp = test::bin("chirp");

    SECTION("knn: int32 Fortran-order data, int64 queries, as cKDTree.query") {
        const std::string inputs =
            " --data " + dir / "knn_x_i4_fortran.npy" + " --queries " + dir / "knn_q_i8.npy";
        run_ok(knn + inputs + " -k 4 --out " + dir / "l2");
        check_knn(dir, "l2", "knn_l2");
        run_ok(knn + inputs + " -k 4 --metric l1 --out " + dir / "l1");
        check_knn(dir, "l1", "knn_l1");
        char bound[64];
        std::snprintf(bound, sizeof bound, "%.17g",
                      spmd::npy::load<double>(dir / "knn_bound.npy").data.at(0));
        run_ok(knn + inputs + " -k 4 --max-distance " + bound + " --out " + dir / "bound");
        check_knn(dir, "bound", "knn_bound");
    }
    SECTION("knn: float32 Fortran-order data, as cKDTree.query") {
        run_ok(knn + " --data " + dir / "knn_x_f4_fortran.npy" + " --queries " +
               dir / "knn_q_i8.npy" + " -k 4 --out " + dir / "f4");
        check_knn(dir, "f4", "knn_l2");
    }
    SECTION("rbf: float32 Fortran-order and int16 points, as phi(cdist(P, P))") {
        auto check = [&](const std::string& points, const std::string& phi,
                         const std::string& reference) {
            run_ok(rbf + " --points " + dir / points + " " + phi + " --out " + dir / "D.npy");
            const auto got = spmd::npy::load<double>(dir / "D.npy");
            const auto want = spmd::npy::load<double>(dir / reference);
            INFO(reference);
            CHECK(got.shape == want.shape);
            CHECK(worst_difference(got.data, want.data) <= 1e-13);
        };
        check("rbf_p_f4_fortran.npy", "--phi gaussian --eps 2", "rbf_gaussian.npy");
        check("rbf_p_f4_fortran.npy", "--phi cubic-quadratic", "rbf_cubic_quadratic.npy");
        check("rbf_p_i2.npy", "--phi multiquadric --eps 0.5", "rbf_multiquadric.npy");
    }
    SECTION("chirp: the normalised match is numpy's; a signal beyond the bank is warned of") {
        const std::string err =
            run_ok(chirp + " --samples 4097 --fft estimate --no-wisdom --signals " +
                   dir / "chirp_signals.npy" + " --bank-file " + dir / "chirp_bank.npy" +
                   " --out " + dir / "c");
        const auto got = spmd::npy::load<double>(dir / "c_match.npy");
        const auto want = spmd::npy::load<double>(dir / "chirp_match.npy");
        CHECK(got.shape == want.shape);
        CHECK(worst_difference(got.data, want.data) <= 1e-9);
        // Signal 0 is a bank template shifted in time (match 1); signal 2, of mass 2.5,
        // lies beyond the bank's heaviest mass 1.5 and finds the bank's edge.
        CHECK(want.data.at(4) == Approx(1).epsilon(1e-12));
        CHECK(got.data.at(4) == Approx(1).epsilon(1e-9));
        INFO(err);
        CHECK(test::lines(err).size() == 1);
        CHECK(err.find("chirp: warning: the best template of 1 signal(s) (2) is at an edge") == 0);
    }
}
