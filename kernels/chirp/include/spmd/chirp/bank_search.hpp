// BankSearch: the chirp bank's matched-filter search, SPMD over a World. Each rank keeps its
// static share of the templates and rank 0's FFTW plan, so every SNR comes from one rank on
// one code path, the same bits for any rank count. Signals and SNRs live in shared arrays
// (the signals are in effect broadcast: every rank reads them all); each signal's best
// template is a max_loc reduction of the ranks' own bests.
//   spmd::chirp::BankSearch search(world, grid, masses, fft);   // collective, once
//   auto best = search.match(signals, snr);                     // collective, per batch
#pragma once
#include <cstddef>
#include <memory>
#include <span>
#include <vector>

#include "spmd/chirp/fft_plan.hpp"
#include "spmd/chirp/matched_filter.hpp"
#include "spmd/chirp/template_bank.hpp"
#include "spmd/chirp/waveform.hpp"
#include "spmd/progress.hpp"
#include "spmd/world.hpp"

namespace spmd::chirp {

// A signal's best template: its index in the bank, its mass, the SNR, and the normalised
// match in [0, 1]: the SNR over the norms of signal and template (see self_correlation),
// so 1 for a noiseless signal that is a template, whatever its amplitude.
struct Match {
    std::size_t index = 0;
    double mass = 0;
    double snr = 0;
    double match = 0;
};

class BankSearch {
public:
    // Collective: plans (rank 0 from the wisdom file or by measuring, then the others from
    // rank 0's wisdom) and builds this rank's share of the templates.
    BankSearch(World& world, const Grid& grid, std::vector<double> masses, const FftOptions& fft);

    // Collective: snr[k * T + j] = SNR of signal k against template j, for the K =
    // signals.size() / samples signals, row-major. Both spans must be views of arrays every
    // rank of a host sees (World::shared); a barrier on entry publishes the signals. Returns,
    // on every rank, each signal's best template: the largest SNR, the lowest index on ties
    // (as MPI_MAXLOC), by an all_reduce of the ranks' own bests, which also publishes the
    // SNRs to the host's ranks (those of other hosts' templates: gather_pieces).
    // `progress`: a line over the K x T filters on rank 0's stderr (progress.hpp).
    std::vector<Match> match(std::span<const Complex> signals, std::span<double> snr,
                             ShowProgress progress = ShowProgress::never);

    // Per signal, the factor that turns its SNRs into normalised matches:
    // 1 / sqrt(self_correlation(signal) self_correlation(template)), 0 for a zero signal.
    // (Every normalised template has the same |h|, hence one template norm for the bank.)
    std::vector<double> match_scale(std::span<const Complex> signals) const;

    const Grid& grid() const { return grid_; }
    const std::vector<double>& masses() const { return masses_; }
    const ChirpTables& tables() const { return tables_; }
    const TemplateBank& templates() const { return bank_; }
    MatchedFilter& filter() { return *filter_; }

private:
    World& world_;
    Grid grid_;
    std::vector<double> masses_;
    ChirpTables tables_;
    TemplateBank bank_;
    std::unique_ptr<MatchedFilter> filter_;
    double template_norm_;  // self_correlation of a normalised template
};

// Throws spmd::UsageError, naming the sizes, if a search of `signals` signals against
// `templates` templates by `ranks` ranks of this machine would not fit in its memory: the
// bank, the shared signals and SNRs, and each rank's filter and tables. (Linux would let it
// start, and the OOM killer would end a rank with SIGKILL, which says nothing of the cause.)
void check_fits_in_memory(const Grid& grid, std::size_t templates, std::size_t signals, int ranks);

// The serial reference of match()'s reduction, for a whole K x T SNR matrix.
std::vector<Match> best_matches(std::span<const double> snr, std::span<const double> masses);

}  // namespace spmd::chirp
