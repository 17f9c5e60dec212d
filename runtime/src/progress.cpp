#include "spmd/progress.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "spmd/error.hpp"
#include "spmd/world.hpp"

namespace spmd {

namespace {

constexpr double redraw_seconds = 0.2;
// Rank 0 adds to the counter (and reads the clock) in batches it sizes to take 10-50 ms.
constexpr double shortest_batch = 0.01, longest_batch = 0.05;

double seconds_now() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

// SPMD_PROGRESS_AFTER: seconds before the first line (default 1; the tests use 0).
double first_line_after() {
    const char* text = std::getenv("SPMD_PROGRESS_AFTER");
    if (!text) return 1.0;
    char* end = nullptr;
    const double seconds = std::strtod(text, &end);
    if (!*text || *end || !(seconds >= 0))
        throw UsageError(std::string("SPMD_PROGRESS_AFTER='") + text +
                         "' is not a number of seconds >= 0");
    return seconds;
}

std::string number(double x) {
    char text[32];
    std::snprintf(text, sizeof text, x >= 100 ? "%.0f" : "%.3g", x);
    return text;
}

std::string duration(double seconds) {
    char text[48];
    const long s = std::lround(seconds);
    if (s < 60)
        std::snprintf(text, sizeof text, "%ld s", s);
    else if (s < 3600)
        std::snprintf(text, sizeof text, "%ld min %02ld s", s / 60, s % 60);
    else
        std::snprintf(text, sizeof text, "%ld h %02ld min", s / 3600, s / 60 % 60);
    return text;
}

}  // namespace

ShowProgress progress_choice(bool progress_flag, bool no_progress_flag) {
    if (progress_flag && no_progress_flag)
        throw UsageError("give --progress or --no-progress, not both");
    return progress_flag      ? ShowProgress::always
           : no_progress_flag ? ShowProgress::never
                              : ShowProgress::automatic;
}

bool progress_wanted(ShowProgress choice) {
    if (choice != ShowProgress::automatic) return choice == ShowProgress::always;
    if (const char* told = std::getenv("SPMD_STDERR_TTY")) return std::string_view(told) == "1";
    return isatty(2) == 1;
}

Progress::Progress(World& world, std::string_view label, std::size_t total, std::string_view unit,
                   ShowProgress choice)
    : total_(total), size_(world.size()), label_(label), unit_(unit) {
    if (!progress_wanted(choice)) return;
    after_ = first_line_after();
    // Every rank makes its Progress objects in the same order: the same name on all.
    static unsigned made = 0;
    counter_ = world.shared<std::uint64_t>("spmd.progress." + std::to_string(made++), 2);
    std::atomic_ref<std::uint64_t>(counter_[1]).fetch_add(1, std::memory_order_relaxed);
    always_ = choice == ShowProgress::always;
    rank0_ = world.rank() == 0;
    // The others' counts reach rank 0 late by at most 1/1000 of their share.
    batch_ = rank0_ ? 1 : std::max<std::uint64_t>(1, total / (std::uint64_t(size_) * 1000));
    start_ = last_publish_ = seconds_now();
}

Progress::~Progress() {
    if (open_) {
        [[maybe_unused]] auto ignored = write(2, "\n", 1);
    }
}

void Progress::publish() {
    std::atomic_ref<std::uint64_t> done(counter_[0]);
    const std::uint64_t all = done.fetch_add(pending_, std::memory_order_relaxed) + pending_;
    pending_ = 0;
    if (!rank0_) return;
    const double now = seconds_now(), took = now - last_publish_;
    last_publish_ = now;
    if (took < shortest_batch) batch_ *= 2;
    if (took > longest_batch && batch_ > 1) batch_ /= 2;
    if (now - start_ < after_ || now - last_draw_ < redraw_seconds) return;
    // Ranks of other hosts count on their own host's counter: assume they keep pace.
    const std::uint64_t sharing = std::atomic_ref<std::uint64_t>(counter_[1]).load();
    const double scaled = sharing > 0 && sharing < std::uint64_t(size_)
                              ? double(all) * size_ / double(sharing)
                              : double(all);
    draw(std::min<std::uint64_t>(total_, std::uint64_t(scaled)), now, false);
}

void Progress::finish() {
    if (!rank0_) return;
    if (open_ || always_) draw(total_, seconds_now(), true);
    rank0_ = false;  // once
    batch_ = UINT64_MAX;
}

void Progress::draw(std::uint64_t done, double now, bool last) {
    const double elapsed = std::max(now - start_, 1e-9);
    const double rate = double(done) / elapsed;
    std::string line = label_ + ": ";
    if (last) {
        line += "100% of " + std::to_string(total_) + " " + unit_ + " in " + number(elapsed) +
                " s, " + number(rate) + " " + unit_ + "/s";
    } else {
        const double fraction = total_ > 0 ? double(done) / double(total_) : 1.0;
        line += std::to_string(int(fraction * 100)) + "% of " + std::to_string(total_) + " " +
                unit_ + ", " + number(rate) + " " + unit_ + "/s";
        if (done > 0) line += ", " + duration(double(total_ - done) / rate) + " left";
    }
    // Blank what a longer line before left behind; "\r" puts the cursor back for the next.
    widest_ = std::max(widest_, line.size());
    line.resize(widest_, ' ');
    line += last ? '\n' : '\r';
    [[maybe_unused]] auto ignored = write(2, line.data(), line.size());
    open_ = !last;
    last_draw_ = now;
}

}  // namespace spmd
