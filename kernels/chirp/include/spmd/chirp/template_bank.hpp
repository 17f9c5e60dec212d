// TemplateBank: the normalised templates of one rank's share of the bank, computed once into
// one aligned block (rows padded to a cache line). Shares are a static partition, a function
// of (count, rank, size) alone, so which rank holds a template never depends on the signals.
#pragma once
#include <cstddef>
#include <span>

#include "spmd/chirp/aligned_buffer.hpp"
#include "spmd/chirp/waveform.hpp"
#include "spmd/schedule.hpp"

namespace spmd::chirp {

// Contiguous blocks whose sizes differ by at most one, lower ranks taking the larger.
Range static_share(std::size_t count, int rank, int size);

class TemplateBank {
public:
    TemplateBank(const ChirpTables& tables, std::span<const double> masses, Range share);

    Range share() const { return share_; }
    std::size_t size() const { return share_.size(); }
    // Template share().begin + i.
    std::span<const Complex> operator[](std::size_t i) const {
        return {templates_.data() + i * stride_, samples_};
    }

private:
    Range share_;
    std::size_t samples_;
    std::size_t stride_;
    AlignedBuffer<Complex> templates_;
};

}  // namespace spmd::chirp
