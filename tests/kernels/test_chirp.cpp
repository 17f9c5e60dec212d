// Tests of the chirp kernel: waveforms and normalisation, the SNR against an O(n^2) DFT,
// the search finding each signal's own mass, bitwise-equal SNRs for 1..4 ranks, and the
// CLI's handling of bad input (one line on stderr, exit 2).
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <complex>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <numbers>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "../support/temp_dir.hpp"
#include "spmd/chirp/bank.hpp"
#include "spmd/chirp/bank_search.hpp"
#include "spmd/chirp/matched_filter.hpp"
#include "spmd/chirp/signals.hpp"
#include "spmd/chirp/waveform.hpp"
#include "spmd/launch.hpp"
#include "spmd/npy.hpp"

using namespace spmd::chirp;
namespace fs = std::filesystem;

namespace {

// Worst |a - b| relative to what rounding allows at bin k: a few ulps of the phase, which
// reaches 1e5 rad at low frequencies (the tables factor it as c(Mc) f^(-5/3), the formula
// does not), times the magnitude.
double phase_error(std::span<const Complex> a, std::span<const Complex> b, double mc,
                   const Grid& grid) {
    double worst = 0;
    for (std::size_t k = 1; k < a.size(); ++k) {
        const double phase =
            3.0 / 128 *
            std::pow(std::numbers::pi * mc * solar_mass_seconds * grid.frequency(k), -5.0 / 3);
        const double allowed = 1e-15 * (1 + phase) * std::abs(a[k]) + 1e-300;
        worst = std::max(worst, std::abs(a[k] - b[k]) / allowed);
    }
    return worst;
}

// A scratch directory of this test process, removed at exit.
const fs::path& scratch() {
    static const test::TempDir dir;
    return dir.path;
}

// Memory shared with the ranks that spmd::launch forks: the way results come back.
template <class T>
struct SharedResult {
    explicit SharedResult(std::size_t n) : count(n) {
        void* p = mmap(nullptr, bytes(), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        REQUIRE(p != MAP_FAILED);
        data = static_cast<T*>(p);
    }
    ~SharedResult() { munmap(data, bytes()); }
    std::size_t bytes() const { return std::max<std::size_t>(1, count * sizeof(T)); }
    std::vector<T> copy() const { return {data, data + count}; }
    T* data;
    std::size_t count;
};

// SNRs of `signals` against the bank from `ranks` ranks. Each rank starts with no FFTW
// wisdom in memory, as a fresh process under mprun would. Every rank also checks the best
// matches match() returned against the serial max_loc of the whole matrix.
std::vector<double> search_snr(int ranks, const Grid& grid, const std::vector<double>& masses,
                               const std::vector<Complex>& signals, const FftOptions& fft) {
    SharedResult<double> out(signals.size() / grid.samples * masses.size());
    SharedResult<int> wrong_best{std::size_t(ranks)};
    spmd::launch(ranks, [&](spmd::World& world) {
        forget_wisdom();
        BankSearch search(world, grid, masses, fft);
        auto s = world.shared<Complex>("signals", signals.size());
        auto snr = world.shared<double>("snr", out.count);
        if (world.rank() == 0) std::copy(signals.begin(), signals.end(), s.begin());
        const auto best = search.match(s.span(), snr.span());
        const auto serial = best_matches(snr.span(), masses);
        bool same = best.size() == serial.size();
        for (std::size_t k = 0; same && k < best.size(); ++k)
            same = best[k].index == serial[k].index && best[k].mass == serial[k].mass &&
                   best[k].snr == serial[k].snr;
        wrong_best.data[world.rank()] = !same;
        if (world.rank() == 0) std::copy(snr.begin(), snr.end(), out.data);
    });
    for (int r = 0; r < ranks; ++r) CHECK(wrong_best.data[r] == 0);
    return out.copy();
}

std::vector<Complex> chirp_signals(const Grid& grid, const std::vector<double>& masses) {
    const ChirpTables tables(grid);
    std::vector<Complex> s(masses.size() * grid.samples);
    for (std::size_t k = 0; k < masses.size(); ++k)
        tables.waveform(masses[k], std::span(s).subspan(k * grid.samples, grid.samples));
    return s;
}

}  // namespace

// numpy's arange rule, from its source (PyArray_Arange, then the dtype's fill): the first
// two values are start and start + step, the rest start + i * delta with delta their
// difference; the length is ceil((stop - start) / step), with stop = MAX + STEP / 2 here.
std::vector<double> arange_rule(double start, double stop, double step) {
    const auto length = std::size_t(std::ceil((stop - start) / step));
    std::vector<double> a(length);
    if (length > 0) a[0] = start;
    if (length > 1) a[1] = start + step;
    const double delta = length > 1 ? a[1] - a[0] : 0;
    for (std::size_t i = 2; i < length; ++i) a[i] = start + double(i) * delta;
    return a;
}

// np.arange(start, stop, step) from Debian's python3-numpy, as exact hex floats; empty if
// numpy is not installed.
std::vector<double> numpy_arange(double start, double stop, double step) {
    if (!fs::exists("/usr/bin/python3")) return {};
    char cmd[512];
    std::snprintf(cmd, sizeof cmd,
                  "/usr/bin/python3 -c 'import numpy as np; print(\" \".join(float(x).hex() for x "
                  "in np.arange(float.fromhex(\"%a\"), float.fromhex(\"%a\"), "
                  "float.fromhex(\"%a\"))))' 2>/dev/null",
                  start, stop, step);
    std::vector<double> values;
    if (FILE* p = popen(cmd, "r")) {
        std::string text;
        char buf[4096];
        while (std::size_t got = std::fread(buf, 1, sizeof buf, p)) text.append(buf, got);
        pclose(p);
        std::istringstream in(text);
        for (std::string word; in >> word;) values.push_back(std::strtod(word.c_str(), nullptr));
    }
    return values;
}

TEST_CASE("the bank is numpy's arange, bit for bit", "[chirp]") {
    bool numpy_seen = false;
    for (const char* text : {"0.8:1.73:0.01", "0.1:0.95:0.05", "1:2:0.1", "0.001:0.002:0.00001",
                             "1.2:1.2:0.1", "0.3:7.1:0.7"}) {
        const BankRange r = parse_bank_range(text);
        const auto masses = bank_masses(r);
        const auto want = arange_rule(r.min, r.max + r.step / 2, r.step);
        INFO(text);
        CHECK(masses.size() == std::size_t(std::round((r.max - r.min) / r.step)) + 1);
        REQUIRE(masses.size() == want.size());
        CHECK(std::memcmp(masses.data(), want.data(), masses.size() * sizeof(double)) == 0);
        const auto numpy = numpy_arange(r.min, r.max + r.step / 2, r.step);
        if (!numpy.empty()) {
            numpy_seen = true;
            CHECK(numpy == masses);
        }
    }
    // The rule matters: most default masses differ from MIN + i STEP in the last bits.
    const auto def = bank_masses(BankRange{});
    std::size_t differ = 0;
    for (std::size_t i = 0; i < def.size(); ++i) differ += def[i] != 0.8 + double(i) * 0.01;
    CHECK(differ > 40);
    if (!numpy_seen) WARN("python3-numpy is not installed: checked against the rule alone");
}

TEST_CASE("bank ranges are inclusive and bad ones are usage errors", "[chirp]") {
    const auto def = bank_masses(BankRange{});
    CHECK(def.size() == 94);  // numpy's arange(0.8, 1.74, 0.01)
    CHECK(def.front() == 0.8);
    CHECK(def.back() == Approx(1.73));
    CHECK(bank_masses(parse_bank_range("0.8:1.74:0.01")).size() == 95);
    CHECK(bank_masses(parse_bank_range("1.2:1.2:0.1")).size() == 1);
    for (const char* bad : {"1.7:0.8:0.01", "0:1:0.1", "-1:1:0.1", "0.8:1:0", "0.8:1:-0.1", "0.8:1",
                            "a:b:c", "0.8:1:0.1:2", "", "0.8::0.1", "nan:1:0.1"})
        CHECK_THROWS_AS(parse_bank_range(bad), spmd::UsageError);
    CHECK_THROWS_AS(check_masses(std::vector<double>{}, "x"), spmd::UsageError);
    CHECK_THROWS_AS(check_masses(std::vector<double>{1.0, -1.0}, "x"), spmd::UsageError);
    CHECK_THROWS_WITH(check_masses(std::vector<double>{1.0, 2.0, NAN}, "b.npy"),
                      "b.npy: chirp mass 2 is nan: masses must be positive and finite");
    CHECK_THROWS_AS((Grid{1, 1024, 40}.check()), spmd::UsageError);
    CHECK_THROWS_AS((Grid{65, 1024, 1024}.check()), spmd::UsageError);
    CHECK_THROWS_AS((Grid{65, 100, 200}.check()), spmd::UsageError);
    CHECK_NOTHROW((Grid{2, 1024, 0}.check()));
}

TEST_CASE("templates are normalised and match the direct formula", "[chirp]") {
    for (const Grid grid : {Grid{}, Grid{257, 1024, 40}, Grid{100, 500, 0}}) {
        const ChirpTables tables(grid);
        std::vector<Complex> t(grid.samples), h(grid.samples), w(grid.samples);
        for (double mc : {0.8, 1.0, 1.37, 1.73, 2.5}) {
            tables.normalised_template(mc, t);
            CHECK(normsq(t, grid.df()) == Approx(1.0).epsilon(1e-13));
            CHECK(t[0] == Complex(0, 0));
            chirp_waveform(mc, grid, h);  // independent: straight from the formula
            tables.waveform(mc, w);
            CHECK(phase_error(h, w, mc, grid) < 8);
            normalise(h, grid.df());
            CHECK(normsq(h, grid.df()) == Approx(1.0).epsilon(1e-13));
            CHECK(phase_error(h, t, mc, grid) < 8);
        }
    }
    // Nothing at or below fmin.
    const Grid grid{257, 1024, 40};
    std::vector<Complex> t(grid.samples);
    ChirpTables(grid).normalised_template(1.2, t);
    for (std::size_t k = 0; k < grid.samples; ++k)
        if (grid.frequency(k) <= 40) CHECK(t[k] == Complex(0, 0));
}

TEST_CASE("the SNR equals a straightforward DFT of the correlation", "[chirp]") {
    std::mt19937_64 rng(7);
    std::normal_distribution<double> normal;
    // Lengths L = samples - 1 of every kind the filter treats apart: not a multiple of 4
    // (one transform), L/4 = 1 and 2 (no vector lanes), L/4 odd and even, and enough
    // lanes for the vector loop with a scalar remainder.
    const std::vector<std::size_t> lengths = {2, 3, 5, 9, 17, 33, 37, 50, 65, 129, 200, 257, 1025};
    for (std::size_t samples : lengths) {
        for (double fmin : {0.0, 40.0}) {
            const Grid grid{samples, 1024, fmin};
            const std::size_t n = grid.time_samples();
            const ChirpTables tables(grid);
            std::vector<Complex> t(samples), s(samples);
            tables.normalised_template(1.1, t);
            // Random spectra too: their DC and Nyquist bins have imaginary parts, which
            // irfft (numpy's and FFTW's alike) ignores.
            const bool chirp = samples % 2 == 1 && samples != 37 && samples != 129;
            if (chirp) {
                tables.waveform(1.13, s);
                add_white_noise(s, 1e-8, 3, 0);
            } else {
                for (auto& x : s) x = Complex(normal(rng), normal(rng));
            }
            MatchedFilter filter(grid, PlanRigor::estimate);
            const double snr = filter.snr(s, t);
            // x[j] = (1/n) sum over all n bins of X_k e^{2 pi i jk/n}, X Hermitian-extended.
            const double df = grid.df();
            std::vector<long double> x(n);
            long double best = -INFINITY, scale = 0;
            for (std::size_t j = 0; j < n; ++j) {
                long double sum = 0;
                for (std::size_t k = 0; k < samples; ++k) {
                    const std::complex<long double> X = std::complex<long double>(4.0L / df) *
                                                        std::conj(std::complex<long double>(s[k])) *
                                                        std::complex<long double>(t[k]);
                    if (k == 0 || k == samples - 1) {
                        sum += X.real() * std::cos(std::numbers::pi_v<long double> * 2 * j * k / n);
                    } else {
                        const long double a =
                            2 * std::numbers::pi_v<long double> * ((j * k) % n) / n;
                        sum += 2 * (X.real() * std::cos(a) - X.imag() * std::sin(a));
                    }
                }
                x[j] = sum / n;
                best = std::max(best, x[j]);
                scale = std::max(scale, std::abs(x[j]));
            }
            INFO("samples " << samples << " fmin " << fmin);
            CHECK(std::abs(snr - double(best)) <= 1e-12 * double(scale));
            // The whole series, in time order, not only its maximum.
            const std::vector<double> series = filter.series();
            REQUIRE(series.size() == n);
            for (std::size_t j = 0; j < n; ++j)
                REQUIRE(std::abs(series[j] - double(x[j])) <= 1e-12 * double(scale));
        }
    }
}

TEST_CASE("a normalised template matches itself better than any other of the bank", "[chirp]") {
    const Grid grid;
    const auto masses = bank_masses(BankRange{});
    const ChirpTables tables(grid);
    MatchedFilter filter(grid, PlanRigor::estimate);
    std::vector<Complex> a(grid.samples), b(grid.samples);
    for (std::size_t i : {0u, 17u, 46u, 80u, 93u}) {
        tables.normalised_template(masses[i], a);
        const double self = filter.snr(a, a);
        // At zero shift every bin adds in phase: (1/n) (2 normsq - (4/df)|t[last]|^2).
        const double last = std::norm(a.back()) * 4 / grid.df();
        CHECK(self == Approx((2 - last) / double(grid.time_samples())).epsilon(1e-12));
        for (std::size_t j = 0; j < masses.size(); ++j) {
            if (j == i) continue;
            tables.normalised_template(masses[j], b);
            INFO("template " << i << " against " << j);
            CHECK(filter.snr(a, b) < self);
        }
    }
}

TEST_CASE("a noiseless chirp's best template is its own mass", "[chirp]") {
    const Grid grid;
    const auto masses = bank_masses(BankRange{});
    // Bank masses themselves and masses between them, across the whole bank.
    const std::vector<double> truth = {0.8,  0.8049, 0.93, 1.0,    1.1234,
                                       1.37, 1.5551, 1.6,  1.7299, 1.73};
    const FftOptions fft{PlanRigor::estimate, {}};
    const auto snr = search_snr(2, grid, masses, chirp_signals(grid, truth), fft);
    const auto best = best_matches(snr, masses);
    REQUIRE(best.size() == truth.size());
    for (std::size_t k = 0; k < truth.size(); ++k) {
        INFO("true Mc " << truth[k] << " best " << best[k].mass);
        CHECK(std::abs(best[k].mass - truth[k]) <= 0.01 / 2 + 1e-9);
        CHECK(best[k].snr == snr[k * masses.size() + best[k].index]);
    }
    // With noise well below the signal the answer holds (the noise seed is per signal).
    std::vector<Complex> noisy = chirp_signals(grid, {1.2, 1.45});
    for (std::size_t k = 0; k < 2; ++k)
        add_white_noise(std::span(noisy).subspan(k * grid.samples, grid.samples), 2e-9, 5, k);
    const auto noisy_best = best_matches(search_snr(1, grid, masses, noisy, fft), masses);
    CHECK(noisy_best[0].mass == Approx(1.2));
    CHECK(noisy_best[1].mass == Approx(1.45));
}

TEST_CASE("SNRs are bitwise the same for 1 to 4 ranks", "[chirp][ranks]") {
    const Grid grid{4097, 1024, 40};  // small enough to MEASURE in a moment
    const auto masses = bank_masses(parse_bank_range("0.8:1.7:0.1"));  // 10: shares of 10/3
    const auto signals = chirp_signals(grid, {0.9, 1.234, 1.61});
    // MEASURE: the first run measures and saves wisdom; later runs plan from the file on
    // rank 0 and from rank 0's wisdom elsewhere (a MEASURE plan per rank could differ).
    const FftOptions measure{PlanRigor::measure, scratch() / "wisdom"};
    const FftOptions estimate{PlanRigor::estimate, {}};
    for (const FftOptions& fft : {measure, estimate}) {
        const auto one = search_snr(1, grid, masses, signals, fft);
        for (int ranks = 2; ranks <= 4; ++ranks) {
            INFO(ranks << " ranks, " << to_string(fft.rigor));
            CHECK(search_snr(ranks, grid, masses, signals, fft) == one);
        }
        // The same code path outside any World gives the same bits, given the same plan:
        // the file's for MEASURE, and for ESTIMATE no wisdom (it would use stronger wisdom).
        forget_wisdom();
        const bool from_file = import_wisdom_file(fft.wisdom_file);
        CHECK(from_file == (fft.rigor == PlanRigor::measure));
        const ChirpTables tables(grid);
        MatchedFilter filter(grid, fft.rigor, from_file);
        std::vector<Complex> t(grid.samples);
        bool same = true;
        for (std::size_t j = 0; j < masses.size(); ++j) {
            tables.normalised_template(masses[j], t);
            for (std::size_t k = 0; k < 3; ++k)
                same &= filter.snr(std::span(signals).subspan(k * grid.samples, grid.samples), t) ==
                        one[k * masses.size() + j];
        }
        CHECK(same);
    }
    CHECK(fs::exists(scratch() / "wisdom"));
    // No wisdom at all: rank 0 measures and hands its plan over; the others must not fail.
    const auto fresh = search_snr(3, grid, masses, signals, {PlanRigor::measure, {}});
    const auto one = search_snr(1, grid, masses, signals, estimate);
    for (std::size_t i = 0; i < one.size(); ++i) CHECK(fresh[i] == Approx(one[i]).epsilon(1e-12));
}

TEST_CASE("a search too large for the machine's memory is refused up front", "[chirp]") {
    const Grid grid;
    CHECK_NOTHROW(check_fits_in_memory(grid, 94, 10, 8));
    CHECK_THROWS_WITH(check_fits_in_memory(Grid{std::size_t{1} << 30, 1024, 40}, 94, 1, 2),
                      Catch::Contains("94 templates of 1073741824 bins on 2 rank(s) needs") &&
                          Catch::Contains("GB of memory"));
    CHECK_THROWS_WITH(check_fits_in_memory(grid, 94, 1'000'000'000, 1),
                      Catch::Contains("GB of shared memory"));
    CHECK_THROWS_AS(check_fits_in_memory(grid, std::size_t(-1), std::size_t(-1), 1024),
                    spmd::UsageError);
}

TEST_CASE("the best match is a max_loc over ranks: lowest index on ties, empty shares",
          "[chirp][ranks]") {
    // Templates 1 and 2 are the same chirp, so their SNRs are equal to the bit; with 2 or
    // 3 ranks they live on different ranks. With 4 ranks and 3 templates one rank has none.
    const Grid grid{1025, 1024, 40};
    const FftOptions fft{PlanRigor::estimate, {}};
    const auto signals = chirp_signals(grid, {1.2, 1.0, 1.4});
    for (const std::vector<double>& masses :
         {std::vector<double>{1.0, 1.2, 1.2, 1.4}, std::vector<double>{1.0, 1.2, 1.4}}) {
        for (int ranks = 1; ranks <= 4; ++ranks) {
            INFO(masses.size() << " templates, " << ranks << " ranks");
            const auto snr = search_snr(ranks, grid, masses, signals, fft);
            const auto best = best_matches(snr, masses);
            CHECK(best[0].index == 1);
            CHECK(best[0].mass == 1.2);
            CHECK(best[1].index == 0);
            CHECK(best[2].index == masses.size() - 1);
            if (masses.size() == 4) CHECK(snr[1] == snr[2]);
        }
    }
}

// ---- the CLI ---------------------------------------------------------------------------

TEST_CASE("the normalised match equals a direct time-domain correlation of unit vectors",
          "[chirp]") {
    std::mt19937_64 rng(11);
    std::normal_distribution<double> normal;
    for (std::size_t samples : {9, 33, 65, 130}) {
        const Grid grid{samples, 1024, 40};
        const std::size_t n = grid.time_samples();
        std::vector<Complex> s(samples), h(samples);
        for (auto& x : s) x = Complex(normal(rng), normal(rng));
        // A template-like h and a signal that is h shifted by 5 samples, plus noise: a match
        // near, not at, 1. The first and last bins are real, as irfft reads them.
        for (std::size_t k = 0; k < samples; ++k) {
            h[k] = Complex(normal(rng), normal(rng));
            const double a = -2 * std::numbers::pi * double(k) * 5 / double(n);
            s[k] = 3.0 * h[k] * Complex(std::cos(a), std::sin(a)) + 0.3 * s[k];
        }
        for (auto* v : {&s, &h}) {
            (*v)[0] = (*v)[0].real();
            (*v)[samples - 1] = (*v)[samples - 1].real();
        }
        MatchedFilter filter(grid, PlanRigor::estimate);
        const double match =
            filter.snr(s, h) / std::sqrt(self_correlation(s, grid) * self_correlation(h, grid));
        // The time series by a direct inverse DFT, then max over shifts of <s, h(. + t)>
        // over |s| |h|: no FFT, no norm formula in the frequency domain.
        const auto time_series = [&](const std::vector<Complex>& spectrum) {
            std::vector<long double> x(n);
            for (std::size_t m = 0; m < n; ++m) {
                long double sum =
                    spectrum[0].real() + spectrum[samples - 1].real() * ((m % 2) ? -1 : 1);
                for (std::size_t k = 1; k + 1 < samples; ++k) {
                    const long double a = 2 * std::numbers::pi_v<long double> * ((m * k) % n) / n;
                    sum +=
                        2 * (spectrum[k].real() * std::cos(a) - spectrum[k].imag() * std::sin(a));
                }
                x[m] = sum / n;
            }
            return x;
        };
        const auto st = time_series(s), ht = time_series(h);
        long double ss = 0, hh = 0, best = -INFINITY;
        for (std::size_t m = 0; m < n; ++m) ss += st[m] * st[m], hh += ht[m] * ht[m];
        for (std::size_t t = 0; t < n; ++t) {
            long double c = 0;
            for (std::size_t m = 0; m < n; ++m) c += st[m] * ht[(m + t) % n];
            best = std::max(best, c);
        }
        const double want = double(best / std::sqrt(ss * hh));
        INFO("samples " << samples << " match " << match << " direct " << want);
        CHECK(std::abs(match - want) <= 1e-12);
        CHECK(match > 0.9);
        CHECK(match < 1);
    }
}

TEST_CASE("a noiseless chirp matches its own template with 1, at any amplitude", "[chirp]") {
    const Grid grid{4097, 1024, 40};
    const auto masses = bank_masses(parse_bank_range("1:1.5:0.05"));
    SharedResult<Match> found{6};
    spmd::launch(2, [&](spmd::World& world) {
        BankSearch search(world, grid, masses, {PlanRigor::estimate, {}});
        auto signals = world.shared<Complex>("s", 3 * grid.samples);
        auto snr = world.shared<double>("snr", 3 * masses.size());
        if (world.rank() == 0) {
            const auto row = [&](std::size_t k) {
                return signals.span().subspan(k * grid.samples, grid.samples);
            };
            search.tables().waveform(1.2, row(0));
            search.tables().waveform(1.2, row(1));
            for (auto& x : row(1)) x *= 1e6;         // amplitude does not change a match
            search.tables().waveform(1.33, row(2));  // between two templates
            add_white_noise(row(2), 3e-9, 1, 0);
        }
        const auto best = search.match(signals.span(), snr.span());
        if (world.rank() == 0) std::copy(best.begin(), best.end(), found.data);
    });
    CHECK(found.data[0].mass == masses[4]);
    CHECK(found.data[0].match == Approx(1).epsilon(1e-9));
    CHECK(found.data[0].match <= 1 + 1e-12);
    CHECK(found.data[1].match == Approx(found.data[0].match).epsilon(1e-12));
    CHECK(found.data[1].snr == Approx(found.data[0].snr * 1e6).epsilon(1e-12));
    CHECK(found.data[2].match > 0.1);
    CHECK(found.data[2].match < 0.99);
}

namespace {

// The chirp binary: $CHIRP_EXE, else the path CMake compiled in, else beside this test
// (CMake puts every executable in build/bin). The test's working directory is a scratch
// directory, so a path relative to it would not do.
fs::path chirp_exe() {
    if (const char* env = std::getenv("CHIRP_EXE"); env && *env) return env;
#ifdef CHIRP_EXE
    if (fs::exists(CHIRP_EXE)) return CHIRP_EXE;
#endif
    return fs::read_symlink("/proc/self/exe").parent_path() / "chirp";
}

struct Run {
    int status = -1;
    std::string out, err;
};

std::string slurp(const fs::path& p) {
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

Run run(const std::string& args, const std::string& prefix = "") {
    const fs::path out = scratch() / "stdout", err = scratch() / "stderr";
    const std::string cmd = prefix + "'" + chirp_exe().string() + "' " + args + " >'" +
                            out.string() + "' 2>'" + err.string() + "'";
    const int raw = std::system(cmd.c_str());
    return {WIFEXITED(raw) ? WEXITSTATUS(raw) : -1, slurp(out), slurp(err)};
}

std::size_t lines(const std::string& s) {
    return std::size_t(std::count(s.begin(), s.end(), '\n'));
}

}  // namespace

TEST_CASE("the CLI rejects bad input with one line and exit 2", "[chirp][cli]") {
    REQUIRE(fs::exists(chirp_exe()));
    const std::string dir = scratch().string();
    const std::vector<double> none, negative{1.0, -0.5};
    spmd::npy::save(dir + "/empty.npy", none, {0});
    spmd::npy::save(dir + "/negative.npy", negative, {2});
    const std::vector<double> real_signals(2 * 65);
    spmd::npy::save(dir + "/real.npy", real_signals, {2, 65});
    const std::vector<Complex> short_signals(2 * 64);
    spmd::npy::save(dir + "/short.npy", short_signals, {2, 64});
    std::ofstream(dir + "/garbage.npy") << "not a numpy file\n";
    fs::create_directories(dir + "/taken_best.npy");  // an output name that is a directory

    const std::vector<std::string> cases = {
        "--bank 1.74:0.8:0.01 --signal-mc 1",
        "--bank 0:1:0.1 --signal-mc 1",
        "--bank -1:1:0.1 --signal-mc 1",
        "--bank 0.8:1.2:0 --signal-mc 1",
        "--bank 0.8:1.2:-0.01 --signal-mc 1",
        "--bank 0.8:1.2 --signal-mc 1",
        "--bank-file " + dir + "/empty.npy --signal-mc 1",
        "--bank-file " + dir + "/negative.npy --signal-mc 1",
        "--bank-file " + dir + "/garbage.npy --signal-mc 1",
        "--bank-file " + dir + "/missing.npy --signal-mc 1",
        "--bank 0.8:1:0.1 --bank-file " + dir + "/negative.npy --signal-mc 1",
        "--samples 1 --signal-mc 1",
        "--samples -3 --signal-mc 1",
        "--samples many --signal-mc 1",
        "--fmin 1024 --signal-mc 1",
        "--fmin 50 --fmax 40 --signal-mc 1",
        "--signal-mc 1,-2",
        "--signal-mc 1,x",
        "--signal-mc 0",
        "",
        "--signal-mc 1 --random-signals 2",
        "--random-signals 0",
        "--signals " + dir + "/real.npy --samples 65",
        "--signals " + dir + "/short.npy --samples 65",
        "--signals " + dir + "/short.npy",
        "--signals " + dir + "/missing.npy",
        "--signal-mc 1 --noise -1",
        "--signal-mc 1 --fft sometimes",
        "--signal-mc 1 --frobnicate",
        "--signal-mc 1 --out " + dir + "/missing/x",
        "--samples 1073741824 --signal-mc 1",  // 1.7 TB of templates: refused, not OOM-killed
        "--random-signals 1000000000",
        "--signal-mc 1 --out " + dir + "/taken",
    };
    for (const auto& args : cases) {
        const Run r = run(args);
        INFO("chirp " << args << "\nstderr: " << r.err);
        CHECK(r.status == 2);
        CHECK(r.out.empty());
        CHECK(lines(r.err) == 1);
        CHECK(r.err.rfind("chirp: ", 0) == 0);
    }
    // Neither output of a failed run appears, not even the one whose name was free.
    CHECK(!fs::exists(dir + "/taken_snr.npy"));
    CHECK(!fs::exists(dir + "/taken_match.npy"));
    CHECK(!fs::exists(dir + "/missing"));
}

TEST_CASE("the CLI refuses NaN and inf in signals and bank, naming the first", "[chirp][cli]") {
    REQUIRE(fs::exists(chirp_exe()));
    const std::string dir = scratch().string();
    std::vector<Complex> signals(3 * 65, Complex(1e-8, 0));
    signals[65 + 7] = Complex(0, NAN);
    signals[2 * 65 + 3] = INFINITY;
    spmd::npy::save(dir + "/nan.npy", signals, {3, 65});
    signals[65 + 7] = 0;
    spmd::npy::save(dir + "/inf.npy", signals, {3, 65});
    spmd::npy::save(dir + "/bank.npy", std::vector<double>{1.0, 1.1, INFINITY}, {3});
    const fs::path mprun = chirp_exe().parent_path() / "mprun";
    for (const std::string& prefix : {std::string(), "'" + mprun.string() + "' -n 3 "}) {
        if (!prefix.empty() && !fs::exists(mprun)) continue;
        Run r =
            run("--signals " + dir + "/nan.npy --samples 65 --fft estimate --no-wisdom", prefix);
        CHECK(r.status == 2);
        CHECK(r.err ==
              "chirp: " + dir + "/nan.npy: signal 1 bin 7 is nan: signals must be finite\n");
        r = run("--signals " + dir + "/inf.npy --samples 65 --fft estimate --no-wisdom", prefix);
        CHECK(r.status == 2);
        CHECK(r.err ==
              "chirp: " + dir + "/inf.npy: signal 2 bin 3 is inf: signals must be finite\n");
        r = run("--bank-file " + dir + "/bank.npy --signal-mc 1 --samples 65", prefix);
        CHECK(r.status == 2);
        CHECK(r.err == "chirp: " + dir +
                           "/bank.npy: chirp mass 2 is inf: masses must be positive and finite\n");
    }
}

TEST_CASE("the CLI warns once when best templates sit at the bank's edges", "[chirp][cli]") {
    REQUIRE(fs::exists(chirp_exe()));
    const std::string common = " --samples 4097 --fft estimate --no-wisdom --bank 0.9:1.5:0.05";
    Run r = run("--signal-mc 1.2,1.37" + common);
    REQUIRE(r.status == 0);
    CHECK(r.err.empty());
    r = run("--signal-mc 1.53,1.2,0.88" + common);  // just beyond either end
    REQUIRE(r.status == 0);
    CHECK(lines(r.out) == 3);
    CHECK(r.err ==
          "chirp: warning: the best template of 2 signal(s) (0,2) is at an edge of the "
          "bank (0.9 or 1.5); the true mass may lie outside it: widen --bank\n");
}

TEST_CASE("the CLI finds the masses and writes its results", "[chirp][cli]") {
    REQUIRE(fs::exists(chirp_exe()));
    const std::string dir = scratch().string();
    const std::string common = " --samples 4097 --fft estimate --no-wisdom --bank 0.8:1.73:0.01";
    const Run r = run("--signal-mc 0.9,1.37,1.7" + common + " --out " + dir + "/a");
    INFO(r.err);
    REQUIRE(r.status == 0);
    CHECK(lines(r.out) == 3);
    CHECK(r.out.find("signal=1 best_mc=1.37 ") != std::string::npos);
    const auto best = spmd::npy::load<double>(dir + "/a_best.npy");
    REQUIRE(best.shape == std::vector<std::size_t>{3, 2});
    CHECK(best.data[0] == Approx(0.9));
    CHECK(best.data[2] == Approx(1.37));
    CHECK(best.data[4] == Approx(1.7));
    const auto snr = spmd::npy::load<double>(dir + "/a_snr.npy");
    REQUIRE(snr.shape == std::vector<std::size_t>{3, 94});
    CHECK(best.data[3] == *std::max_element(snr.data.begin() + 94, snr.data.begin() + 188));
    // Normalised matches: each row a multiple of the SNRs, at most 1, 1 at a noiseless
    // signal's own mass; the printed match is the row's largest.
    const auto match = spmd::npy::load<double>(dir + "/a_match.npy");
    REQUIRE(match.shape == std::vector<std::size_t>{3, 94});
    for (std::size_t k = 0; k < 3; ++k) {
        const double* m = match.data.data() + 94 * k;
        const double* x = snr.data.data() + 94 * k;
        const double top = *std::max_element(m, m + 94);
        CHECK(top <= 1 + 1e-12);
        CHECK(top == Approx(1).epsilon(1e-9));
        for (std::size_t j = 0; j < 94; ++j)
            CHECK(m[j] == Approx(x[j] * (top / best.data[2 * k + 1])));
        char printed[32];
        std::snprintf(printed, sizeof printed, " match=%.6f ", top);
        CHECK(r.out.find(printed) != std::string::npos);
    }

    // The same chirps from a file give the same SNRs, bit for bit.
    spmd::npy::save(dir + "/s.npy", chirp_signals(Grid{4097, 1024, 40}, {0.9, 1.37, 1.7}),
                    {3, 4097});
    REQUIRE(run("--signals " + dir + "/s.npy" + common + " --out " + dir + "/b").status == 0);
    CHECK(spmd::npy::load<double>(dir + "/b_snr.npy").data == snr.data);

    // Random signals are reproducible from the seed and land within the bank's range.
    const Run r1 = run("--random-signals 4 --seed 9 --noise 1e-9" + common);
    const Run r2 = run("--random-signals 4 --seed 9 --noise 1e-9" + common);
    CHECK(r1.status == 0);
    CHECK(r1.out == r2.out);
    CHECK(lines(r1.out) == 4);

    // Under the launcher, if it is built beside us: the same bits from 3 ranks.
    const fs::path mprun = chirp_exe().parent_path() / "mprun";
    if (fs::exists(mprun)) {
        const Run m = run("--signal-mc 0.9,1.37,1.7" + common + " --out " + dir + "/c",
                          "'" + mprun.string() + "' -n 3 ");
        INFO(m.err);
        CHECK(m.status == 0);
        CHECK(m.out == r.out);
        CHECK(spmd::npy::load<double>(dir + "/c_snr.npy").data == snr.data);
    } else {
        WARN("no mprun beside the test: the CLI's multi-rank run is not checked here");
    }
}
