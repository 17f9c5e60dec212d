// spmd::chirp from the installed package (it links FFTW3): a noiseless chirp of mass 1.2
// is best matched by the bank's 1.2 template, not by 1.0 or 1.4.
#include <cstdio>
#include <spmd/chirp/bank_search.hpp>

int main(int argc, char** argv) {
    spmd::World world(argc, argv);
    spmd::chirp::Grid grid;
    grid.samples = 8193;
    spmd::chirp::FftOptions fft;
    fft.rigor = spmd::chirp::PlanRigor::estimate;
    spmd::chirp::BankSearch search(world, grid, {1.0, 1.2, 1.4}, fft);
    auto signal = world.shared<spmd::chirp::Complex>("signal", grid.samples);
    if (world.rank() == 0) spmd::chirp::chirp_waveform(1.2, grid, signal.span());
    auto snr = world.shared<double>("snr", 3);
    const auto best = search.match(signal.span(), snr.span());
    if (world.rank() != 0) return 0;
    const bool ok = best[0].index == 1;
    std::printf("use_chirp ranks=%d best_mc=%g %s\n", world.size(), best[0].mass,
                ok ? "ok" : "WRONG");
    return ok ? 0 : 1;
}
