#include "spmd/chirp/grid.hpp"

#include <cmath>
#include <string>

#include "spmd/error.hpp"
#include "text.hpp"

namespace spmd::chirp {

void Grid::check() const {
    // 2^30 bins keep the transform length within FFTW's int and the arrays within reason.
    if (samples < 2 || samples > (std::size_t{1} << 30))
        throw UsageError("samples must be between 2 and 2^30, not " + std::to_string(samples));
    if (!std::isfinite(fmax) || !std::isfinite(fmin) || fmin < 0 || fmin >= fmax)
        throw UsageError("need 0 <= fmin < fmax, got fmin " + detail::show(fmin) + " and fmax " +
                         detail::show(fmax));
}

}  // namespace spmd::chirp
