// What the benchmarks share: a clock, the --seconds option, the calibration of the
// MPI anchors (double a trial count until rank 0 has seen 50 ms, scale to the target,
// agree on it through a broadcast), so mprun's figures and OpenMPI's mean the same, and
// figure(): the key=value line of a figure, also written as CSV on request.
#pragma once
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <spmd/world.hpp>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace bench {

namespace detail {
inline std::vector<std::string> split_csv(const std::string& line) {
    std::vector<std::string> cells;
    std::stringstream in(line);
    for (std::string cell; std::getline(in, cell, ',');) cells.push_back(cell);
    if (!line.empty() && line.back() == ',') cells.emplace_back();
    return cells;
}

// Adds the key=value words of `line` to the CSV file at `path` as one row. The header is
// the union of the keys of every row so far, in the order they first came, so one file
// can collect the lines of several benchmarks; a row lacks the keys it did not have.
inline void append_csv(const std::string& path, const std::string& line) {
    std::vector<std::pair<std::string, std::string>> fields;
    std::istringstream words(line);
    for (std::string word; words >> word;)
        if (const auto eq = word.find('='); eq != std::string::npos && eq > 0)
            fields.emplace_back(word.substr(0, eq), word.substr(eq + 1));
    std::vector<std::string> header;
    std::vector<std::vector<std::string>> rows;
    {
        std::ifstream in(path);
        std::string text;
        if (std::getline(in, text)) header = split_csv(text);
        while (std::getline(in, text)) rows.push_back(split_csv(text));
    }
    std::vector<std::string> row(header.size());
    for (const auto& [key, value] : fields) {
        const auto at = std::find(header.begin(), header.end(), key);
        if (at == header.end()) {
            header.push_back(key);
            row.push_back(value);
        } else {
            row[std::size_t(at - header.begin())] = value;
        }
    }
    rows.push_back(row);
    const std::string temporary = path + ".tmp";
    {
        std::ofstream out(temporary, std::ios::trunc);
        auto put = [&](const std::vector<std::string>& cells) {
            for (std::size_t i = 0; i < header.size(); ++i)
                out << (i ? "," : "") << (i < cells.size() ? cells[i] : "");
            out << '\n';
        };
        put(header);
        for (const auto& r : rows) put(r);
        out.flush();
        if (!out) {
            std::fprintf(stderr, "bench: cannot write '%s' (SPMD_BENCH_CSV): %s\n", path.c_str(),
                         std::strerror(errno));
            std::exit(1);
        }
    }
    if (std::rename(temporary.c_str(), path.c_str()) != 0) {
        std::fprintf(stderr, "bench: cannot replace '%s' (SPMD_BENCH_CSV): %s\n", path.c_str(),
                     std::strerror(errno));
        std::exit(1);
    }
}
}  // namespace detail

// Prints one figure, a line of key=value words ("bench=barrier ranks=2 usec=0.21\n"),
// printf-style, and flushes it. With SPMD_BENCH_CSV=FILE in the environment the line is
// also added to FILE as a CSV row (a file from an older run is extended, not replaced).
[[gnu::format(printf, 1, 2)]] inline void figure(const char* format, ...) {
    va_list args;
    va_start(args, format);
    char small[512];
    va_list again;
    va_copy(again, args);
    const int n = std::vsnprintf(small, sizeof small, format, args);
    std::string line = small;
    if (n >= int(sizeof small)) {
        line.assign(std::size_t(n) + 1, '\0');
        std::vsnprintf(line.data(), line.size(), format, again);
        line.resize(std::size_t(n));
    }
    va_end(again);
    va_end(args);
    std::fputs(line.c_str(), stdout);
    std::fflush(stdout);
    if (const char* csv = std::getenv("SPMD_BENCH_CSV"); csv && *csv) detail::append_csv(csv, line);
}

inline double now() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

// The value after `name` on the command line, or fallback.
inline double number_option(int argc, char** argv, const char* name, double fallback) {
    for (int i = 1; i + 1 < argc; ++i)
        if (std::strcmp(argv[i], name) == 0) return std::atof(argv[i + 1]);
    return fallback;
}

inline double seconds_option(int argc, char** argv, double fallback = 1.0) {
    return number_option(argc, argv, "--seconds", fallback);
}

// Returns how many iterations of kernel(iters) take about `target` seconds; every rank
// gets the same count.
template <class Kernel>
long calibrate(spmd::World& world, Kernel&& kernel, double target, long min_iters, long max_iters) {
    for (long trial = 1;; trial *= 4) {
        world.barrier();
        const double t0 = now();
        kernel(trial);
        const double dt = now() - t0;
        double decision[2] = {dt >= 0.05 || trial >= max_iters ? 1.0 : 0.0, dt / double(trial)};
        world.broadcast(std::span<double>(decision, 2), 0);
        if (decision[0] != 0.0)
            return std::clamp(long(target / std::max(decision[1], 1e-9)), min_iters, max_iters);
    }
}

// Times kernel(iters) after a barrier; returns seconds per iteration on this rank.
template <class Kernel>
double time_per_iteration(spmd::World& world, Kernel&& kernel, long iters) {
    world.barrier();
    const double t0 = now();
    kernel(iters);
    return (now() - t0) / double(iters);
}

}  // namespace bench
