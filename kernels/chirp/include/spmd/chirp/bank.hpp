// The chirp masses of a template bank (solar masses): an inclusive range "MIN:MAX:STEP"
// giving round((MAX - MIN) / STEP) + 1 masses made as numpy's arange makes them, bit for bit:
// MIN, MIN + STEP, then MIN + i delta with delta = (MIN + STEP) - MIN. The bank is thus
// np.arange(MIN, MAX + STEP / 2, STEP) (the default 0.8:1.73:0.01 is np.arange(0.8, 1.74,
// 0.01), 94 masses). Or a list from a file. All positive and finite.
#pragma once
#include <span>
#include <string_view>
#include <vector>

namespace spmd::chirp {

struct BankRange {
    double min = 0.8;
    double max = 1.73;
    double step = 0.01;
};

// Throws spmd::UsageError on bad syntax, non-positive masses or step, or max < min.
BankRange parse_bank_range(std::string_view text);
std::vector<double> bank_masses(const BankRange& range);

// Throws spmd::UsageError if `masses` is empty or holds a non-positive or non-finite mass;
// `what` names the source in the message ("bank", "--signal-mc", a file name).
void check_masses(std::span<const double> masses, std::string_view what);

}  // namespace spmd::chirp
