// chirp: which chirp mass of a template bank best matches each signal, by the matched-filter
// SNR maximised over time shifts. Runs alone (one rank) or as `mprun -n N chirp ...`;
// results are bitwise the same for every N. See --help for the inputs and outputs. Errors:
// one line "chirp: <what>" from the whole job (spmd::run_cli), exit 2 for bad input.
#include <algorithm>
#include <boost/program_options.hpp>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "spmd/across_hosts.hpp"
#include "spmd/chirp/bank.hpp"
#include "spmd/chirp/bank_search.hpp"
#include "spmd/chirp/signals.hpp"
#include "spmd/cli.hpp"
#include "spmd/npy.hpp"
#include "spmd/world.hpp"

namespace po = boost::program_options;
using namespace spmd::chirp;

namespace {

const char* const usage =
    R"(usage: chirp [options] (--signal-mc LIST | --random-signals K | --signals S.npy)

Finds, for each signal, the template of a bank of Newtonian inspiral chirps (chirp masses
in solar masses) with the largest matched-filter SNR over time shifts, and prints
  signal=<k> best_mc=<Mc> snr=<SNR> match=<M> [true_mc=<Mc of the signal, if known>]
SNR is the correlation with the unit-norm template, in the signal's own units. match, in
[0, 1], is that correlation over the signal's norm too: 1 when the signal is the template
(shifted in time, any amplitude), lower with noise or another mass; it says whether a
signal was found. A best template at either end of the bank draws a warning: the signal's
mass may lie outside it.
Signals are one-sided spectra on f = linspace(0, fmax, samples), in the units of the
waveform formula (|h| is about 1e-7 at 40 Hz, so useful noise levels are around 1e-8).
With --out PREFIX it writes, all three or none, PREFIX_snr.npy (float64, K x templates:
the SNR of every signal against every template, bank order), PREFIX_match.npy (float64,
K x templates: the normalised matches) and PREFIX_best.npy (float64, K x 2: per signal
the best chirp mass, then its SNR).

)";

const char* const notes = R"(
FFTW plans are measured once (about 0.25 s for 2^17 points) and kept as wisdom in
$SPMD_FFTW_WISDOM, else $XDG_CACHE_HOME/mprun/fftw-wisdom, else ~/.cache/mprun/fftw-wisdom;
later runs rebuild the plan from it in milliseconds. Every rank runs rank 0's plan, so the
SNRs are bitwise the same for any number of ranks. Runs that plan differently (another
wisdom file, none, or --fft estimate) may differ in the last bits.
)";

struct Config {
    Grid grid;
    std::vector<double> masses;
    std::vector<double> signal_masses;  // from --signal-mc; drawn in run() for --random-signals
    bool random_signals = false;
    std::string signals_file;
    spmd::npy::Header signals_header;
    std::size_t signal_count = 0;
    double noise = 0;
    std::uint64_t seed = 1;
    std::string out;
    FftOptions fft;
    spmd::ShowProgress progress = spmd::ShowProgress::automatic;
};

std::vector<double> parse_mass_list(const std::string& text) {
    std::vector<double> masses;
    std::stringstream in(text);
    for (std::string word; std::getline(in, word, ',');) {
        std::size_t used = 0;
        double m = 0;
        try {
            m = std::stod(word, &used);
        } catch (const std::exception&) {
            used = 0;
        }
        if (used == 0 || used != word.size())
            throw spmd::UsageError("--signal-mc: '" + word + "' is not a number");
        masses.push_back(m);
    }
    check_masses(masses, "--signal-mc");
    return masses;
}

std::vector<double> load_bank_file(const std::string& path) {
    auto a = spmd::npy::load_as<double>(path);
    if (a.shape.size() != 1)
        throw spmd::UsageError(path + ": a bank file holds a 1-D array of chirp masses");
    check_masses(a.data, path);
    return std::move(a.data);
}

// Reads the header only: every rank checks the file before any collective call, so bad
// input fails on all ranks alike; rank 0 alone reads the data later.
void check_signals_file(Config& c) {
    const std::string& path = c.signals_file;
    c.signals_header = spmd::npy::read_header(path);
    const auto& h = c.signals_header;
    if (h.dtype != spmd::npy::Dtype::c16)
        throw spmd::UsageError(path + ": signals must be complex128, not " +
                               std::string(spmd::npy::name(h.dtype)));
    const std::size_t bins = h.shape.empty() ? 0 : h.shape.back();
    if (h.shape.empty() || h.shape.size() > 2 || bins != c.grid.samples)
        throw spmd::UsageError(path + ": signals must have shape (K, " +
                               std::to_string(c.grid.samples) + ") or (" +
                               std::to_string(c.grid.samples) + ",) to match --samples");
    c.signal_count = h.shape.size() == 2 ? h.shape[0] : 1;
    if (c.signal_count == 0) throw spmd::UsageError(path + ": no signals");
}

// Returns nothing when --help was asked for (and printed).
std::optional<Config> parse(int argc, char** argv, int rank) {
    std::string bank = "0.8:1.73:0.01", bank_file, signal_mc, fft = "measure", wisdom;
    long long samples = 65537, random_signals = 0;
    Config c;
    po::options_description opts("options");
    opts.add_options()("help,h", "this text")(
        "bank", po::value(&bank),
        "chirp masses MIN:MAX:STEP, inclusive, as np.arange(MIN, MAX + STEP/2, STEP) "
        "to the bit (default 0.8:1.73:0.01, 94)")("bank-file", po::value(&bank_file),
                                                  "chirp masses from a 1-D .npy file instead")(
        "samples", po::value(&samples), "frequency bins (default 65537 = 2^16 + 1)")(
        "fmax", po::value(&c.grid.fmax), "highest frequency, Hz (default 1024)")(
        "fmin", po::value(&c.grid.fmin), "templates are zero at and below it, Hz (default 40)")(
        "signal-mc", po::value(&signal_mc), "noiseless chirps of these masses, e.g. 1.2,1.37")(
        "random-signals", po::value(&random_signals),
        "K chirps of random masses in the bank's range")(
        "signals", po::value(&c.signals_file), "signals from a complex128 .npy, K x samples")(
        "noise", po::value(&c.noise), "add white noise of this sigma to every bin (re and im)")(
        "seed", po::value(&c.seed), "seed of the random masses and the noise (default 1)")(
        "out", po::value(&c.out), "write PREFIX_snr.npy, PREFIX_match.npy and PREFIX_best.npy")(
        "fft", po::value(&fft), "FFTW planning: estimate, measure (default) or patient")(
        "wisdom", po::value(&wisdom), "FFTW wisdom file (default: see below)")(
        "no-wisdom", "neither read nor write a wisdom file")(
        "progress", "show a progress line on stderr even when it is not a terminal")(
        "no-progress", "never show the progress line (default: shown on a terminal)");
    po::variables_map vm;
    try {
        po::store(po::command_line_parser(argc, argv).options(opts).run(), vm);
        po::notify(vm);
    } catch (const po::error& e) {
        throw spmd::UsageError(e.what());
    }
    if (vm.count("help")) {
        if (rank == 0) std::cout << usage << opts << notes;
        return std::nullopt;
    }

    if (samples < 2) throw spmd::UsageError("--samples must be at least 2");
    c.grid.samples = std::size_t(samples);
    c.grid.check();

    if (vm.count("bank") && vm.count("bank-file"))
        throw spmd::UsageError("give --bank or --bank-file, not both");
    c.masses =
        vm.count("bank-file") ? load_bank_file(bank_file) : bank_masses(parse_bank_range(bank));

    const int sources =
        int(vm.count("signal-mc") + vm.count("random-signals") + vm.count("signals"));
    if (sources != 1)
        throw spmd::UsageError("give exactly one of --signal-mc, --random-signals, --signals");
    if (vm.count("signal-mc")) {
        c.signal_masses = parse_mass_list(signal_mc);
    } else if (vm.count("random-signals")) {
        if (random_signals < 1) throw spmd::UsageError("--random-signals must be at least 1");
        c.random_signals = true;  // drawn once the sizes are known to fit
        c.signal_count = std::size_t(random_signals);
    } else {
        check_signals_file(c);
    }
    if (!c.signal_masses.empty()) c.signal_count = c.signal_masses.size();
    if (!(c.noise >= 0) || !std::isfinite(c.noise))
        throw spmd::UsageError("--noise must be a finite sigma >= 0");

    c.progress = spmd::progress_choice(vm.count("progress"), vm.count("no-progress"));
    c.fft.rigor = parse_plan_rigor(fft);
    if (!vm.count("no-wisdom"))
        c.fft.wisdom_file =
            vm.count("wisdom") ? std::filesystem::path(wisdom) : default_wisdom_file();
    return c;
}

// A NaN or infinite bin has no defined SNR (the maximum would ignore it or be NaN): refuse
// it, naming the first one.
void check_finite(std::span<const Complex> signals, std::size_t samples, const std::string& path) {
    for (std::size_t i = 0; i < signals.size(); ++i)
        if (!std::isfinite(signals[i].real()) || !std::isfinite(signals[i].imag())) {
            const bool nan = std::isnan(signals[i].real()) || std::isnan(signals[i].imag());
            throw spmd::UsageError(path + ": signal " + std::to_string(i / samples) + " bin " +
                                   std::to_string(i % samples) + " is " + (nan ? "nan" : "inf") +
                                   ": signals must be finite");
        }
}

// One line for all signals whose best template is the bank's lightest or heaviest mass:
// their true mass may lie beyond it, where the SNR would still grow.
void warn_at_edges(const std::vector<Match>& best, const std::vector<double>& masses) {
    if (masses.size() < 3) return;  // every template is an edge
    const auto [lo, hi] = std::minmax_element(masses.begin(), masses.end());
    std::string which;
    std::size_t at_edge = 0;
    for (std::size_t k = 0; k < best.size(); ++k)
        if (best[k].mass == *lo || best[k].mass == *hi) {
            if (++at_edge <= 8) which += (which.empty() ? "" : ",") + std::to_string(k);
        }
    if (at_edge == 0) return;
    if (at_edge > 8) which += ",...";
    std::fprintf(stderr,
                 "chirp: warning: the best template of %zu signal(s) (%s) is at an edge of the "
                 "bank (%.6g or %.6g); the true mass may lie outside it: widen --bank\n",
                 at_edge, which.c_str(), *lo, *hi);
}

void run(spmd::World& world, const Config& c) {
    const std::size_t samples = c.grid.samples, count = c.signal_count;
    check_fits_in_memory(c.grid, c.masses.size(), count, world.size());
    std::vector<double> truth = c.signal_masses;  // empty when the signals come from a file
    if (c.random_signals) {
        const auto [lo, hi] = std::minmax_element(c.masses.begin(), c.masses.end());
        truth = random_masses(count, *lo, *hi, c.seed);
    }
    // Rank 0 creates the outputs before any work, so a bad --out fails at once (mprun then
    // stops the others); they get their names together, once all are written.
    std::optional<spmd::npy::OutputFile> snr_file, match_file, best_file;
    if (!c.out.empty() && world.rank() == 0) {
        using spmd::npy::Dtype;
        snr_file.emplace(c.out + "_snr.npy", Dtype::f8, std::vector{count, c.masses.size()});
        match_file.emplace(c.out + "_match.npy", Dtype::f8, std::vector{count, c.masses.size()});
        best_file.emplace(c.out + "_best.npy", Dtype::f8, std::vector<std::size_t>{count, 2});
    }
    BankSearch search(world, c.grid, c.masses, c.fft);

    // Signals are made once per host into a shared array that the host's ranks read: from
    // the file by the host's first rank (the file system is shared), or as chirps (and
    // noise) by the host's rank owning each one's static share.
    const spmd::Node& node = world.node();
    auto signals = world.shared<Complex>("chirp.signals", count * samples);
    if (!c.signals_file.empty()) {
        if (node.local_rank == 0) {
            spmd::npy::load_into(c.signals_file, c.signals_header, signals.span());
            check_finite(signals.span(), samples, c.signals_file);
        }
        world.barrier();
    }
    const spmd::Range mine = static_share(count, node.local_rank, int(node.ranks.size()));
    for (std::size_t k = mine.begin; k < mine.end; ++k) {
        const std::span<Complex> row = signals.span().subspan(k * samples, samples);
        if (c.signals_file.empty()) search.tables().waveform(truth[k], row);
        add_white_noise(row, c.noise, c.seed, k);
    }

    auto snr = world.shared<double>("chirp.snr", count * c.masses.size());
    const auto best = search.match(signals.span(), snr.span(), c.progress);
    // Rank 0 writes the table: the SNR columns of the templates of other hosts' ranks come
    // to it by messages (none on one host).
    std::vector<spmd::Range> columns;
    if (node.count > 1) {
        const spmd::Range share = search.templates().share();
        for (std::size_t k = 0; k < count; ++k)
            columns.push_back({k * c.masses.size() + share.begin, k * c.masses.size() + share.end});
    }
    spmd::gather_pieces(world, snr.span(), std::span<const spmd::Range>(columns));
    if (world.rank() != 0) return;

    for (std::size_t k = 0; k < count; ++k) {
        std::printf("signal=%zu best_mc=%.6g snr=%.9g match=%.6f", k, best[k].mass, best[k].snr,
                    best[k].match);
        if (!truth.empty()) std::printf(" true_mc=%.6g", truth[k]);
        std::printf("\n");
    }
    std::fflush(stdout);
    warn_at_edges(best, c.masses);
    if (snr_file) {
        std::vector<double> table(2 * count), match(snr.size());
        const std::vector<double> scale = search.match_scale(signals.span());
        for (std::size_t k = 0; k < count; ++k) {
            table[2 * k] = best[k].mass;
            table[2 * k + 1] = best[k].snr;
            for (std::size_t j = 0; j < c.masses.size(); ++j)
                match[k * c.masses.size() + j] = snr[k * c.masses.size() + j] * scale[k];
        }
        snr_file->write(std::span<const double>(snr.span()));
        match_file->write(std::span<const double>(match));
        best_file->write(std::span<const double>(table));
        spmd::npy::commit_all({&*snr_file, &*match_file, &*best_file});
    }
}

}  // namespace

int main(int argc, char** argv) {
    return spmd::run_cli("chirp", argc, argv, [&](spmd::World& world) {
        const auto config = parse(argc, argv, world.rank());
        if (config) run(world, *config);
        return 0;
    });
}
