#include "spmd/chirp/bank.hpp"

#include <cmath>
#include <string>

#include "spmd/error.hpp"
#include "text.hpp"

namespace spmd::chirp {

namespace {
void check_range(const BankRange& r, const std::string& quoted) {
    if (!std::isfinite(r.min) || !std::isfinite(r.max) || !std::isfinite(r.step))
        throw UsageError(quoted + " is not finite");
    if (r.min <= 0 || r.step <= 0) throw UsageError(quoted + ": masses and step must be positive");
    if (r.max < r.min) throw UsageError(quoted + " is inverted: MAX < MIN");
}
}  // namespace

BankRange parse_bank_range(std::string_view text) {
    const std::string quoted = "bank '" + std::string(text) + "'";
    double parts[3];
    std::size_t at = 0;
    for (int i = 0; i < 3; ++i) {
        const std::size_t colon = i < 2 ? text.find(':', at) : text.size();
        if (colon == std::string_view::npos) throw UsageError(quoted + " is not MIN:MAX:STEP");
        const auto x = detail::parse_double(text.substr(at, colon - at));
        if (!x || !std::isfinite(*x)) throw UsageError(quoted + " is not MIN:MAX:STEP");
        parts[i] = *x;
        at = colon + 1;
    }
    const BankRange r{parts[0], parts[1], parts[2]};
    check_range(r, quoted);
    return r;
}

std::vector<double> bank_masses(const BankRange& r) {
    check_range(
        r, "bank " + detail::show(r.min) + ":" + detail::show(r.max) + ":" + detail::show(r.step));
    const double intervals = std::round((r.max - r.min) / r.step);
    // Beyond this the bank would not fit in memory anyway; say so rather than overflow.
    if (!(intervals < 1e7)) throw UsageError("bank has more than 10^7 masses: step too small");
    std::vector<double> masses(std::size_t(intervals) + 1);
    // numpy's arange fills the first two values, then the rest from their difference
    // (PyArray_Arange and the dtype's fill function), so masses may differ from
    // MIN + i STEP in the last bits; equal bits let a user index numpy's array with ours.
    masses[0] = r.min;
    if (masses.size() > 1) masses[1] = r.min + r.step;
    const double delta = masses.size() > 1 ? masses[1] - masses[0] : 0;
    for (std::size_t i = 2; i < masses.size(); ++i) masses[i] = r.min + double(i) * delta;
    return masses;
}

void check_masses(std::span<const double> masses, std::string_view what) {
    if (masses.empty()) throw UsageError(std::string(what) + ": no chirp masses");
    for (std::size_t i = 0; i < masses.size(); ++i)
        if (!(masses[i] > 0) || !std::isfinite(masses[i]))
            throw UsageError(std::string(what) + ": chirp mass " + std::to_string(i) + " is " +
                             detail::show(masses[i]) + ": masses must be positive and finite");
}

}  // namespace spmd::chirp
