#include "spmd/chirp/template_bank.hpp"

#include <string>

#include "spmd/error.hpp"

namespace spmd::chirp {

Range static_share(std::size_t count, int rank, int size) {
    if (size < 1 || rank < 0 || rank >= size)
        throw Error("static_share: rank " + std::to_string(rank) + " of " + std::to_string(size));
    const std::size_t base = count / std::size_t(size), extra = count % std::size_t(size);
    const std::size_t r = std::size_t(rank);
    const std::size_t begin = r * base + (r < extra ? r : extra);
    return {begin, begin + base + (r < extra ? 1 : 0)};
}

namespace {
// Rows start on a 64-byte boundary (4 complex<double>), so every template's vector loop
// starts aligned like the first one's.
std::size_t padded(std::size_t samples) {
    return (samples + 3) / 4 * 4;
}
}  // namespace

TemplateBank::TemplateBank(const ChirpTables& tables, std::span<const double> masses, Range share)
    : share_(share),
      samples_(tables.grid().samples),
      stride_(padded(samples_)),
      templates_(share.size() * stride_) {
    if (share.begin > share.end || share.end > masses.size())
        throw Error("TemplateBank: share [" + std::to_string(share.begin) + ", " +
                    std::to_string(share.end) + ") of " + std::to_string(masses.size()) +
                    " masses");
    for (std::size_t i = 0; i < share.size(); ++i)
        tables.normalised_template(masses[share.begin + i],
                                   {templates_.data() + i * stride_, samples_});
}

}  // namespace spmd::chirp
