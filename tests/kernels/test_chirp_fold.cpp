// The matched filter's fold exists twice: 4 lanes wide for CPUs with AVX2 and FMA, 2 wide
// (SSE2) for any x86-64, picked at run time so that builds without -march=native keep the
// fast path. Both must give the same correlation series (test_chirp checks the default
// path against a direct DFT), and the pick must follow the CPU's flags.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "../support/run.hpp"
#include "spmd/chirp/matched_filter.hpp"
#include "spmd/chirp/waveform.hpp"

using namespace spmd::chirp;

namespace {
// The flags of the first CPU in /proc/cpuinfo, as the kernel reports them.
bool cpuinfo_has(const std::string& flag) {
    for (const auto& line : test::lines(test::read_file("/proc/cpuinfo")))
        if (line.rfind("flags", 0) == 0) {
            std::istringstream words(line.substr(line.find(':') + 1));
            for (std::string word; words >> word;)
                if (word == flag) return true;
            return false;
        }
    return false;
}
}  // namespace

TEST_CASE("the fold takes the 4-wide path exactly when the CPU has AVX2 and FMA", "[chirp]") {
    MatchedFilter filter(Grid{1025, 1024, 40}, PlanRigor::estimate);
#if defined(__x86_64__) || defined(__i386__)
    CHECK(filter.wide_fold() == (cpuinfo_has("avx2") && cpuinfo_has("fma")));
#else
    CHECK_FALSE(filter.wide_fold());
#endif
    filter.use_narrow_fold();
    CHECK_FALSE(filter.wide_fold());
}

TEST_CASE("the 2-wide and 4-wide folds give the same correlation series", "[chirp]") {
    std::mt19937_64 rng(11);
    std::normal_distribution<double> normal;
    // Lane counts L/4 with no vector lanes, a 2-wide remainder, a 4-wide remainder, many.
    for (std::size_t samples : {9, 17, 33, 41, 65, 129, 1025, 4097}) {
        const Grid grid{samples, 1024, 40};
        std::vector<Complex> s(samples), t(samples);
        for (auto& x : s) x = Complex(normal(rng), normal(rng));
        for (auto& x : t) x = Complex(normal(rng), normal(rng));
        MatchedFilter best(grid, PlanRigor::estimate), narrow(grid, PlanRigor::estimate);
        narrow.use_narrow_fold();
        const double snr = best.snr(s, t), snr_narrow = narrow.snr(s, t);
        const std::vector<double> a = best.series(), b = narrow.series();
        REQUIRE(a.size() == b.size());
        double scale = 0;
        for (double x : a) scale = std::max(scale, std::abs(x));
        INFO("samples " << samples);
        CHECK(std::abs(snr - snr_narrow) <= 1e-12 * scale);
        for (std::size_t j = 0; j < a.size(); ++j) REQUIRE(std::abs(a[j] - b[j]) <= 1e-12 * scale);
    }
}
