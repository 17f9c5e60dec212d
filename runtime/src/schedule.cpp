#include "spmd/schedule.hpp"

#include <algorithm>
#include <string>

#include "spmd/detail/trace.hpp"
#include "spmd/error.hpp"

namespace spmd {

namespace {
__extension__ typedef unsigned __int128 uint128;  // n * r must not overflow
constexpr int index_bits = 40;
constexpr std::uint64_t index_mask = (std::uint64_t(1) << index_bits) - 1;
constexpr std::uint32_t generation_mask = (1u << 24) - 1;

// Generations are 24-bit and wrap: compare them as a signed difference.
int generation_order(std::uint32_t stored, std::uint32_t mine) {
    std::int32_t diff = std::int32_t((stored - mine) << 8) >> 8;
    return diff < 0 ? -1 : diff > 0 ? 1 : 0;
}
}  // namespace

Schedule parse_schedule(std::string_view word) {
    if (word == "static") return Schedule::static_;
    if (word == "dynamic") return Schedule::dynamic;
    if (word == "guided") return Schedule::guided;
    throw UsageError("unknown schedule '" + std::string(word) +
                     "' (expected static, dynamic or guided)");
}

std::string_view to_string(Schedule s) {
    switch (s) {
        case Schedule::static_:
            return "static";
        case Schedule::dynamic:
            return "dynamic";
        case Schedule::guided:
            return "guided";
    }
    return "?";
}

ScheduledLoop::ScheduledLoop(std::size_t n, Schedule policy, std::size_t chunk, int rank, int size,
                             detail::ScheduleCounter counter, std::uint32_t generation)
    : n_(n),
      policy_(policy),
      chunk_(chunk),
      rank_(rank),
      size_(size),
      counter_(counter),
      generation_(generation & generation_mask) {
    if (policy != Schedule::static_ && n > (index_mask >> 1))
        throw UsageError("a dynamic or guided loop takes at most 2^39 indices, not " +
                         std::to_string(n));
    if (chunk_ == 0 && policy == Schedule::dynamic)
        chunk_ = std::max<std::size_t>(1, (n + 32 * std::size_t(size) - 1) / (32 * size));
    if (chunk_ == 0 && policy == Schedule::guided) chunk_ = 1;
}

Range ScheduledLoop::next() {
    const Range range = policy_ == Schedule::static_ ? next_static() : next_shared();
    detail::trace::chunk(range.begin, range.end, std::uint16_t(policy_));
    return range;
}

Range ScheduledLoop::next_static() {
    const std::size_t step = static_step_++;
    if (chunk_ == 0) {  // one balanced block per rank
        if (step > 0) return {};
        auto edge = [&](std::size_t r) {
            return std::size_t((uint128)n_ * r / std::size_t(size_));
        };
        return {edge(rank_), edge(rank_ + 1)};
    }
    // Round-robin chunks: rank r takes chunks r, r + N, r + 2N, ...
    const uint128 begin = ((uint128)step * size_ + rank_) * chunk_;
    if (begin >= n_) return {};
    return {std::size_t(begin), std::min(n_, std::size_t(begin) + chunk_)};
}

Range ScheduledLoop::next_shared() {
    std::uint64_t word = counter_.load();
    for (;;) {
        const int order = generation_order(std::uint32_t(word >> index_bits), generation_);
        if (order > 0) return {};  // a later loop took the word: ours is exhausted
        if (order < 0) {           // an earlier loop's word: the first to arrive resets it
            counter_.compare_exchange(word, std::uint64_t(generation_) << index_bits);
            continue;
        }
        const std::size_t next = word & index_mask;
        if (next >= n_) return {};
        const std::size_t remaining = n_ - next;
        std::size_t take = chunk_;
        if (policy_ == Schedule::guided)  // OpenMP: remaining / N, at least the chunk
            take = std::max(chunk_, (remaining + size_ - 1) / size_);
        take = std::min(take, remaining);
        if (counter_.compare_exchange(word, word + take)) return {next, next + take};
    }
}

}  // namespace spmd
