// World::map's shared state (map.hpp). No barrier: a map waits only for the work. The
// indices go in blocks, and each block has a word (beside the scratch half its results go
// to, never inside it: a rank that comes late to a map must read only words there) that
// says for which map it is free, taken by a rank, or done. A rank takes a
// block with one compare-exchange, so a rank that loses its core mid-map holds back the
// others by at most the block it is computing: the rest of its share is taken from the
// back by ranks that ran dry (work stealing as in Blumofe and Leiserson 1999), also while
// they wait for a block to be done. Maps alternate halves, so a rank may run into the next
// map while a slow reader still copies this one; the map after that waits until every
// reader of this one has counted itself into the half's `freed`.
#pragma once
#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <vector>

#include "spmd/detail/wait.hpp"
#include "spmd/schedule.hpp"
#include "spmd/shared_array.hpp"

namespace spmd::detail {

struct MapHalf {
    alignas(64) std::atomic<std::uint64_t> freed{0};  // readers finished, over all maps
};

struct MapControl {
    MapHalf half[2];
    WaitWord progress;  // notified when a block is done or a half freed
};

// What a World keeps between maps.
struct MapState {
    SharedArray<std::byte> control;     // a MapControl, made at the first map
    SharedArray<std::byte> scratch;     // the results: two halves
    SharedArray<std::uint64_t> blocks;  // the block words of each half
    std::uint64_t maps = 0;
    std::uint64_t freed_target[2] = {0, 0};
    bool mapped[2] = {false, false};  // this process has the half's pages mapped
};

// fn(i) for i = begin, begin + 1, ...: a forward range whose values are computed as
// vector::insert constructs them, so the only reader of a map writes the results of its
// own blocks straight into its vector (one pass, no scratch, no zero-fill).
template <class F, class R>
class Computed {
public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = R;
    using difference_type = std::ptrdiff_t;
    using pointer = void;
    using reference = R;

    Computed() = default;
    Computed(F& fn, std::size_t i) : fn_(&fn), i_(i) {}
    R operator*() const { return (*fn_)(i_); }
    Computed& operator++() {
        ++i_;
        return *this;
    }
    Computed operator++(int) {
        Computed before = *this;
        ++i_;
        return before;
    }
    bool operator==(const Computed& other) const { return i_ == other.i_; }

private:
    F* fn_ = nullptr;
    std::size_t i_ = 0;
};

// How a map of n indices goes in blocks: the chunk asked for (at most 4096), or by default
// about 1/256 of a rank's share, so that stealing balances the ranks at the end; at most
// 2^20 blocks, so that the words stay small beside the results.
struct BlockPlan {
    std::size_t n = 0;
    std::size_t size = 1;   // indices per block
    std::size_t count = 0;  // blocks
    std::size_t chunk = 0;  // the schedule's chunk, in blocks (0: the schedule's default)

    BlockPlan(std::size_t indices, int ranks, std::size_t chunk_indices) : n(indices) {
        constexpr std::size_t most_per_block = 4096, most_blocks = std::size_t(1) << 20;
        const std::size_t wanted =
            chunk_indices ? chunk_indices : (n + 256 * std::size_t(ranks) - 1) / (256 * ranks);
        size = std::max({std::size_t(1), std::min(wanted, most_per_block),
                         (n + most_blocks - 1) / most_blocks});
        count = (n + size - 1) / size;
        chunk = chunk_indices ? (chunk_indices + size - 1) / size : 0;
    }
    std::size_t begin(std::size_t block) const { return block * size; }
    std::size_t end(std::size_t block) const { return std::min(n, (block + 1) * size); }
};

// The blocks of one map as one rank sees them. A word holds (map + 1) << 24 | state,
// state the taker's rank + 1 or `done`; a word of an earlier map is free. Words of a
// later map mean this map's block is long done (a half is reused only once freed), so a
// rank that comes to a map after the others finished it finds nothing left to take.
class MapBlocks {
public:
    MapBlocks(std::uint64_t* words, const BlockPlan& plan, std::uint64_t map, int rank,
              MapControl& control, const std::atomic<std::uint32_t>& abort)
        : words_(words),
          plan_(plan),
          tag_(map + 1),
          rank_(rank),
          control_(control),
          abort_(abort),
          scan_(plan.count) {}

    const BlockPlan& plan() const { return plan_; }

    // Takes block b if it is free.
    bool claim(std::size_t b) {
        std::atomic_ref<std::uint64_t> word(words_[b]);
        std::uint64_t w = word.load(std::memory_order_relaxed);
        while (w >> state_bits < tag_)
            if (word.compare_exchange_weak(w, tag_ << state_bits | std::uint64_t(rank_ + 1),
                                           std::memory_order_acquire))
                return true;
        return false;
    }

    // Block b (taken by this rank) is written.
    void finish(std::size_t b) {
        std::atomic_ref<std::uint64_t>(words_[b]).store(tag_ << state_bits | done,
                                                        std::memory_order_release);
        control_.progress.notify_all();
    }

    // Runs body(begin, end) over this rank's share of the schedule (position p is block p,
    // or block count - 1 - p when `reversed`), then over every block still free.
    template <class Body>
    void work(ScheduledLoop& loop, bool reversed, Body& body) {
        for (Range r : loop)
            for (std::size_t p = r.begin; p < r.end; ++p) {
                const std::size_t b = reversed ? plan_.count - 1 - p : p;
                if (claim(b)) run(b, body);
            }
        while (help(body)) {
        }
    }

    // Takes the last free block and runs it; false if none is left. The scan only moves
    // down (a block once taken stays taken), so a rank reads each word once per map.
    template <class Body>
    bool help(Body& body) {
        while (scan_ > 0)
            if (const std::size_t b = --scan_; claim(b)) {
                run(b, body);
                return true;
            }
        return false;
    }

    // Waits until block b (taken by someone) is done, running free blocks meanwhile.
    template <class Body>
    void await(std::size_t b, Body& body) {
        std::atomic_ref<std::uint64_t> word(words_[b]);
        const std::uint64_t w = word.load(std::memory_order_acquire);
        if (is_done(w)) return;
        const int holder = int(w & done) - 1;
        control_.progress.wait({abort_, WaitCall::gather, holder}, [&] {
            if (is_done(word.load(std::memory_order_acquire))) return true;
            help(body);
            return is_done(word.load(std::memory_order_acquire));
        });
    }

    // Appends the results to `results` in order, block by block: a free block it takes it
    // hands to own(b), which computes it, finishes it and appends its results; a block
    // another rank took, it waits for and copies. Appending to reserved capacity copies
    // with no zero-fill.
    template <class R, class Body, class Own>
    void read_in_order(const R* out, Body& body, Own&& own, std::vector<R>& results) {
        results.reserve(plan_.n);
        for (std::size_t b = 0; b < plan_.count; ++b) {
            if (claim(b)) {
                own(b);
            } else {
                await(b, body);
                results.insert(results.end(), out + plan_.begin(b), out + plan_.end(b));
            }
        }
    }

private:
    static constexpr int state_bits = 24;
    static constexpr std::uint64_t done = (std::uint64_t(1) << state_bits) - 1;

    bool is_done(std::uint64_t w) const {
        return w >> state_bits > tag_ || w == (tag_ << state_bits | done);
    }

    template <class Body>
    void run(std::size_t b, Body& body) {
        body(plan_.begin(b), plan_.end(b));
        finish(b);
    }

    std::uint64_t* words_;
    BlockPlan plan_;
    std::uint64_t tag_;
    int rank_;
    MapControl& control_;
    const std::atomic<std::uint32_t>& abort_;
    std::size_t scan_;  // help() looks at the blocks below it
};

}  // namespace spmd::detail
