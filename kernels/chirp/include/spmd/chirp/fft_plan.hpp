// How hard FFTW plans, and its wisdom kept between runs: for the matched filter's transforms
// (four of 2^14 points for the default grid) MEASURE plans in ~0.25 s and runs 2.4x faster
// than ESTIMATE's plan, and its wisdom file rebuilds that plan in ~2 ms next time. A wisdom
// file that cannot be read or written only costs time.
#pragma once
#include <filesystem>
#include <string>
#include <string_view>

namespace spmd::chirp {

enum class PlanRigor { estimate, measure, patient };

// "estimate", "measure" or "patient"; anything else is a spmd::UsageError.
PlanRigor parse_plan_rigor(std::string_view word);
std::string_view to_string(PlanRigor rigor);
unsigned fftw_flags(PlanRigor rigor);  // FFTW_ESTIMATE, ...

struct FftOptions {
    PlanRigor rigor = PlanRigor::measure;
    std::filesystem::path wisdom_file;  // empty: neither read nor write a file
};

// $SPMD_FFTW_WISDOM, else $XDG_CACHE_HOME/mprun/fftw-wisdom, else
// $HOME/.cache/mprun/fftw-wisdom; empty if none of these is set.
std::filesystem::path default_wisdom_file();

// FFTW's wisdom in this process to and from a file: false when that fails (missing,
// unreadable, foreign). Export writes a temp file in the same directory and renames it.
bool import_wisdom_file(const std::filesystem::path& file);
bool export_wisdom_file(const std::filesystem::path& file);

// The same in memory, to hand rank 0's plan to the other ranks.
std::string export_wisdom();
bool import_wisdom(const std::string& text);
// Drops this process's wisdom (a forked child starts with its parent's).
void forget_wisdom();

}  // namespace spmd::chirp
