// bench_chirp: what the chirp search costs, against its floor. Default bank (94 templates,
// 2^16 + 1 bins), K random signals; run as `mprun -n N build/bin/bench_chirp [--signals K]
// [--fft estimate|measure] [--rounds R]`. Rank 0 prints one line:
//   bench=chirp ranks=N templates=94 samples=65537 signals=10 fft=measure start_s=..
//   bank_s=.. per_signal_s=.. best_per_signal_s=.. ifft_us=.. floor_per_signal_s=..
//   ratio=.. total_s=..
// start_s: main() to an attached World; bank_s: plans (wisdom) and this rank's templates;
// per_signal_s: the first round of matching / K (best_: over R rounds); ifft_us: the median
// of one bare c2r on this rank's plan, timed by all ranks at once (as they run in the job);
// floor: the largest share of templates x ifft_us; total_s: main() to the first results.
#include "bench_common.hpp"
#include <spmd/chirp/bank.hpp>
#include <spmd/chirp/bank_search.hpp>
#include <spmd/chirp/signals.hpp>
#include <spmd/world.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

using namespace spmd::chirp;

int main(int argc, char** argv) {
    const double start = bench::now();
    std::size_t count = 10;
    int rounds = 3;
    std::string fft = "measure";
    for (int i = 1; i + 1 < argc; i += 2) {
        if (std::strcmp(argv[i], "--signals") == 0) count = std::strtoul(argv[i + 1], nullptr, 10);
        else if (std::strcmp(argv[i], "--rounds") == 0) rounds = std::max(1, std::atoi(argv[i + 1]));
        else if (std::strcmp(argv[i], "--fft") == 0) fft = argv[i + 1];
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
            search.tables().waveform(truth[k], signals.span().subspan(k * grid.samples, grid.samples));
        world.barrier();

        double first = 0, best = 1e300, total = 0;
        for (int r = 0; r < rounds; ++r) {
            const double t = bench::now();
            search.match(signals.span(), snr.span());  // ends with a barrier: all ranks done
            const double dt = bench::now() - t;
            if (r == 0) {
                first = dt;
                total = bench::now() - start;
            }
            best = std::min(best, dt);
        }

        // The floor: one bare inverse transform on a realistic input (the product for the
        // first template), restored before each run since c2r destroys it.
        MatchedFilter& filter = search.filter();
        std::vector<Complex> product(grid.samples);
        for (std::size_t k = 0; k < grid.samples; ++k)
            product[k] = std::conj(signals[k]) * search.templates()[0][k];
        std::vector<double> times;
        world.barrier();
        for (int rep = 0; rep < 200; ++rep) {
            std::copy(product.begin(), product.end(), filter.input().begin());
            const double t = bench::now();
            filter.execute();
            times.push_back(bench::now() - t);
        }
        std::nth_element(times.begin(), times.begin() + 100, times.end());
        const double ifft = times[100];
        world.barrier();

        if (world.rank() == 0) {
            const double largest_share = double(static_share(masses.size(), 0, world.size()).size());
            const double floor = largest_share * ifft;
            const double per_signal = first / double(count);
            std::printf(
                "bench=chirp ranks=%d templates=%zu samples=%zu signals=%zu fft=%s start_s=%.4f "
                "bank_s=%.4f per_signal_s=%.5f best_per_signal_s=%.5f ifft_us=%.1f "
                "floor_per_signal_s=%.5f ratio=%.3f total_s=%.4f\n",
                world.size(), masses.size(), grid.samples, count, fft.c_str(), attached - start,
                bank_done - attached, per_signal, best / double(count), ifft * 1e6, floor,
                per_signal / floor, total);
        }
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "bench_chirp: %s\n", e.what());
        return 1;
    }
}
