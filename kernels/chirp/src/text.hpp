// Small text helpers shared by the chirp sources: numbers in messages as a user would write
// them, and strict parsing (the whole word must be the number).
#pragma once
#include <charconv>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>

namespace spmd::chirp::detail {

inline std::string show(double x) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.10g", x);
    return buf;
}

inline std::optional<double> parse_double(std::string_view word) {
    double x = 0;
    const char* end = word.data() + word.size();
    auto [ptr, ec] = std::from_chars(word.data(), end, x);
    if (ec != std::errc() || ptr != end || word.empty()) return std::nullopt;
    return x;
}

}  // namespace spmd::chirp::detail
