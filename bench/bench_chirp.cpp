// bench_chirp: what the chirp search costs, against its floor. Default bank (94 templates,
// 2^16 + 1 bins), K random signals; run as `mprun -n N build/bin/bench_chirp [--signals K]
// [--fft estimate|measure] [--rounds R]`. Rank 0 prints one line:
//   bench=chirp ranks=N templates=94 samples=65537 signals=10 fft=measure start_s=..
//   bank_s=.. first_per_signal_s=.. per_signal_s=.. ifft_us=.. floor_per_signal_s=..
//   ratio=.. fold_us=.. transforms_us=.. peak_us=.. total_s=..
// start_s: main() to an attached World; bank_s: plans (wisdom) and this rank's templates;
// first_per_signal_s: the first round of matching / K; per_signal_s: the median over R
// rounds (default 5) / K, the figure a long run sees; ifft_us: the median
// of one bare FFTW c2r of 2^17 points (same flags and wisdom), timed by all ranks at once
// as they run in the job; floor: the templates of the busiest core (ranks, or cores when
// oversubscribed) x ifft_us; ratio:
// per_signal_s / floor; fold_us, transforms_us, peak_us: the medians of the filter's own
// three steps (MatchedFilter::fold, transform, peak); total_s: main() to the first results.
#include <fftw3.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <spmd/chirp/bank.hpp>
#include <spmd/chirp/bank_search.hpp>
#include <spmd/chirp/signals.hpp>
#include <spmd/detail/wait.hpp>
#include <spmd/world.hpp>
#include <string>
#include <vector>

#include "bench_common.hpp"

using namespace spmd::chirp;

int main(int argc, char** argv) {
    const double start = bench::now();
    std::size_t count = 10;
    int rounds = 5;
    std::string fft = "measure";
    for (int i = 1; i + 1 < argc; i += 2) {
        if (std::strcmp(argv[i], "--signals") == 0)
            count = std::strtoul(argv[i + 1], nullptr, 10);
        else if (std::strcmp(argv[i], "--rounds") == 0)
            rounds = std::max(1, std::atoi(argv[i + 1]));
        else if (std::strcmp(argv[i], "--fft") == 0)
            fft = argv[i + 1];
    }
    try {
        spmd::World world(argc, argv);
        const double attached = bench::now();
        const Grid grid;
        const auto masses = bank_masses(BankRange{});
        const FftOptions options{parse_plan_rigor(fft), default_wisdom_file()};

        BankSearch search(world, grid, masses, options);
        world.barrier();
        const double bank_done = bench::now();

        auto signals = world.shared<Complex>("signals", count * grid.samples);
        auto snr = world.shared<double>("snr", count * masses.size());
        const auto truth = random_masses(count, masses.front(), masses.back(), 1);
        const spmd::Range mine = static_share(count, world.rank(), world.size());
        for (std::size_t k = mine.begin; k < mine.end; ++k)
            search.tables().waveform(truth[k],
                                     signals.span().subspan(k * grid.samples, grid.samples));
        world.barrier();

        double first = 0, total = 0;
        std::vector<double> round_times;
        for (int r = 0; r < rounds; ++r) {
            const double t = bench::now();
            search.match(signals.span(), snr.span());  // ends with an all_reduce: all ranks done
            const double dt = bench::now() - t;
            if (r == 0) {
                first = dt;
                total = bench::now() - start;
            }
            round_times.push_back(dt);
        }

        // The floor: one bare c2r of the same length on a realistic input (the product for
        // the first template), restored before each run since c2r destroys it. Planned here,
        // with the same flags and wisdom file, so it owes nothing to the filter's code.
        const std::size_t n = grid.time_samples();
        fftw_complex* spectrum = fftw_alloc_complex(grid.samples);
        double* series = fftw_alloc_real(n);
        if (!options.wisdom_file.empty() && options.rigor != PlanRigor::estimate)
            fftw_import_wisdom_from_filename(options.wisdom_file.c_str());
        fftw_plan c2r = fftw_plan_dft_c2r_1d(int(n), spectrum, series, fftw_flags(options.rigor));
        if (world.rank() == 0 && options.rigor != PlanRigor::estimate)
            export_wisdom_file(options.wisdom_file);
        std::vector<Complex> product(grid.samples);
        for (std::size_t k = 0; k < grid.samples; ++k)
            product[k] = std::conj(signals[k]) * search.templates()[0][k];
        auto median_us = [&](auto&& prepare, auto&& run) {
            std::vector<double> times;
            world.barrier();
            for (int rep = 0; rep < 200; ++rep) {
                prepare();
                const double t = bench::now();
                run();
                times.push_back(bench::now() - t);
            }
            std::nth_element(times.begin(), times.begin() + 100, times.end());
            return times[100] * 1e6;
        };
        const auto restore = [&] {
            std::memcpy(spectrum, product.data(), grid.samples * sizeof(Complex));
        };
        const double ifft_us = median_us(restore, [&] { fftw_execute(c2r); });
        MatchedFilter& filter = search.filter();
        const auto signal = signals.span().first(grid.samples);
        const auto templ = search.templates()[0];
        const auto nothing = [] {};
        const double fold_us = median_us(nothing, [&] { filter.fold(signal, templ); });
        const double transforms_us = median_us(nothing, [&] { filter.transform(); });
        volatile double peak = 0;  // keeps the call
        const double peak_us = median_us(nothing, [&] { peak = filter.peak(); });
        fftw_destroy_plan(c2r);
        fftw_free(series);
        fftw_free(spectrum);
        world.barrier();

        if (world.rank() == 0) {
            // With more ranks than cores, the cores are what the templates are shared over.
            const int parallel = std::min(world.size(), spmd::detail::usable_cores());
            const double largest_share = double(static_share(masses.size(), 0, parallel).size());
            const double floor = largest_share * ifft_us * 1e-6;
            std::nth_element(round_times.begin(), round_times.begin() + rounds / 2,
                             round_times.end());
            const double per_signal = round_times[std::size_t(rounds / 2)] / double(count);
            bench::figure(
                "bench=chirp ranks=%d templates=%zu samples=%zu signals=%zu fft=%s start_s=%.4f "
                "bank_s=%.4f first_per_signal_s=%.5f per_signal_s=%.5f ifft_us=%.1f "
                "floor_per_signal_s=%.5f ratio=%.3f fold_us=%.1f transforms_us=%.1f "
                "peak_us=%.1f total_s=%.4f\n",
                world.size(), masses.size(), grid.samples, count, fft.c_str(), attached - start,
                bank_done - attached, first / double(count), per_signal, ifft_us, floor,
                per_signal / floor, fold_us, transforms_us, peak_us, total);
        }
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "bench_chirp: %s\n", e.what());
        return 1;
    }
}
