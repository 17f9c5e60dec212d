#include "spmd/chirp/bank_search.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <string>

#include "spmd/chirp/bank.hpp"
#include "spmd/error.hpp"
#include "spmd/memory.hpp"

namespace spmd::chirp {

namespace {
const std::vector<double>& checked(const std::vector<double>& masses) {
    check_masses(masses, "bank");
    return masses;
}

// Rank 0's plan: from the wisdom file if it covers the transform (milliseconds), else
// planned afresh and the file updated for the next run. ESTIMATE reads no file: FFTW
// would otherwise use stronger wisdom for it, and the plan would depend on the cache.
std::unique_ptr<MatchedFilter> plan_first(const Grid& grid, const FftOptions& fft) {
    if (fft.rigor == PlanRigor::estimate) return std::make_unique<MatchedFilter>(grid, fft.rigor);
    if (import_wisdom_file(fft.wisdom_file)) {
        try {
            return std::make_unique<MatchedFilter>(grid, fft.rigor, /*wisdom_only=*/true);
        } catch (const Error&) {  // wisdom for other sizes or weaker flags: plan below
        }
    }
    auto filter = std::make_unique<MatchedFilter>(grid, fft.rigor);
    export_wisdom_file(fft.wisdom_file);  // best effort: a read-only cache only costs time
    return filter;
}
}  // namespace

BankSearch::BankSearch(World& world, const Grid& grid, std::vector<double> masses,
                       const FftOptions& fft)
    : world_(world),
      grid_(grid),
      masses_(std::move(checked(masses))),
      tables_(grid_),
      bank_(tables_, masses_, static_share(masses_.size(), world.rank(), world.size())) {
    std::vector<Complex> h(grid_.samples);
    tables_.normalised_template(masses_[0], h);
    template_norm_ = self_correlation(h, grid_);
    if (world.size() == 1) {
        filter_ = plan_first(grid_, fft);
        return;
    }
    // Every rank must run rank 0's plan: MEASURE picks by timing, so independent planning
    // could pick different algorithms, and SNRs would then differ in the last bits
    // depending on which rank computed them. Wisdom carries the choice over.
    // Broadcast, so that ranks on other hosts get it too.
    std::string wisdom;
    if (world.rank() == 0) {
        filter_ = plan_first(grid_, fft);
        wisdom = export_wisdom();
    }
    wisdom.resize(world.broadcast_value(wisdom.size()));
    world.broadcast(std::span<char>(wisdom));
    if (world.rank() != 0) {
        import_wisdom(wisdom);
        filter_ = std::make_unique<MatchedFilter>(grid_, fft.rigor, /*wisdom_only=*/true);
    }
}

namespace {
// Which of two candidates is the better match: the larger SNR, then the lower index.
struct BetterMatch {
    Match operator()(const Match& a, const Match& b) const {
        return b.snr > a.snr || (b.snr == a.snr && b.index < a.index) ? b : a;
    }
};
}  // namespace

std::vector<Match> BankSearch::match(std::span<const Complex> signals, std::span<double> snr,
                                     ShowProgress show_progress) {
    const std::size_t samples = grid_.samples, templates = masses_.size();
    const std::size_t count = signals.size() / samples;
    if (signals.size() != count * samples || snr.size() != count * templates)
        throw Error("BankSearch::match: " + std::to_string(signals.size()) + " signal bins and " +
                    std::to_string(snr.size()) + " SNR slots do not make K signals of " +
                    std::to_string(samples) + " bins against " + std::to_string(templates) +
                    " templates");
    world_.barrier();
    // Templates outer, a block of signals inner: a template then comes from cache for every
    // signal of the block instead of from memory once per signal (a share of the bank is
    // tens of MB). All ranks read the same signals, so a block of up to 16 MB stays in L3
    // once for the job; blocks are of equal size, so none reads its templates for a few.
    const std::size_t most = std::max<std::size_t>(1, (16u << 20) / (samples * sizeof(Complex)));
    const std::size_t blocks = (count + most - 1) / most;
    const std::size_t block = blocks ? (count + blocks - 1) / blocks : 1;
    const Range share = bank_.share();
    Progress progress(world_, "chirp", count * templates, "filters", show_progress);
    for (std::size_t first = 0; first < count; first += block) {
        const std::size_t last = std::min(count, first + block);
        for (std::size_t j = 0; j < share.size(); ++j) {
            for (std::size_t k = first; k < last; ++k)
                snr[k * templates + share.begin + j] =
                    filter_->snr(signals.subspan(k * samples, samples), bank_[j]);
            progress.add(last - first);
        }
    }
    // This rank's best of each signal (none, -inf, if it holds no template), then the
    // reduction over ranks: each rank's SNRs are written before it contributes.
    std::vector<Match> best(count, Match{templates, 0, -std::numeric_limits<double>::infinity()});
    for (std::size_t k = 0; k < count; ++k)
        for (std::size_t j = share.begin; j < share.end; ++j)
            best[k] = BetterMatch{}(best[k], Match{j, masses_[j], snr[k * templates + j]});
    world_.all_reduce(std::span<Match>(best), BetterMatch{});
    progress.finish();  // the all_reduce waited for every rank's SNRs
    const std::vector<double> scale = match_scale(signals);
    for (std::size_t k = 0; k < count; ++k) best[k].match = best[k].snr * scale[k];
    return best;
}

std::vector<double> BankSearch::match_scale(std::span<const Complex> signals) const {
    const std::size_t samples = grid_.samples, count = signals.size() / samples;
    std::vector<double> scale(count);
    for (std::size_t k = 0; k < count; ++k) {
        const double norm = self_correlation(signals.subspan(k * samples, samples), grid_);
        scale[k] = norm > 0 ? 1 / std::sqrt(norm * template_norm_) : 0;
    }
    return scale;
}

void check_fits_in_memory(const Grid& grid, std::size_t templates, std::size_t signals, int ranks) {
    // In doubles: the products may not fit in 64 bits, and an estimate is all this needs.
    const double bins = double(grid.samples), complex_bytes = sizeof(Complex);
    const double bank = double(templates) * (bins + 3) * complex_bytes;  // rows padded
    const double shared = double(signals) * (bins * complex_bytes + double(templates) * 8);
    const double per_rank = 2 * bins * complex_bytes + 3 * bins * 8;  // filter, tables
    const double needed = bank + shared + double(ranks) * per_rank;
    const double available = available_memory(), available_shared = available_shared_memory();
    if (needed <= available && shared <= available_shared) return;
    char text[256];
    if (shared > available_shared)
        std::snprintf(text, sizeof text, "%.1f GB of shared memory, %.1f GB are free", shared / 1e9,
                      available_shared / 1e9);
    else
        std::snprintf(text, sizeof text, "%.1f GB of memory, %.1f GB are available", needed / 1e9,
                      available / 1e9);
    throw UsageError("the search of " + std::to_string(signals) + " signal(s) against " +
                     std::to_string(templates) + " templates of " + std::to_string(grid.samples) +
                     " bins on " + std::to_string(ranks) + " rank(s) needs " + text);
}

std::vector<Match> best_matches(std::span<const double> snr, std::span<const double> masses) {
    const std::size_t templates = masses.size();
    std::vector<Match> best(templates ? snr.size() / templates : 0);
    for (std::size_t k = 0; k < best.size(); ++k) {
        const double* row = snr.data() + k * templates;
        const std::size_t j = std::size_t(std::max_element(row, row + templates) - row);
        best[k] = {j, masses[j], row[j]};
    }
    return best;
}

}  // namespace spmd::chirp
