// World::map: Python's Pool.map over the ranks of a job. fn(i) runs once for every i in
// [0, n), spread over the ranks by a loop schedule (dynamic by default), and the results
// come back in input order on every rank (or on one root). Collective.
//   std::vector<double> y = world.map(n, [&](std::size_t i) { return f(x[i]); });
//   auto names = world.map(n, describe, spmd::Root{0});  // std::string results, on rank 0
// Trivially copyable results go by blocks through a shared scratch array, kept by the
// World for the next maps (up to 2 x 64 MiB), whose pages are then already mapped; no
// barrier, and work stealing between the ranks (detail/map_blocks.hpp), so a rank that
// loses its core on a busy machine holds back nobody for long. A rank that wants the
// results appends them to its vector block by block, in order, computing the blocks
// nobody took first (a root straight into its vector, all-rank readers via the scratch);
// with one root, the others take their blocks from the back, meeting it only at the end.
// Strings and vectors (spmd::bytes) go through a variable-size path: each rank encodes its
// results, publishes their sizes, and after a prefix sum writes them into one shared array.
#pragma once
#include <sys/mman.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "spmd/bytes.hpp"
#include "spmd/detail/job.hpp"
#include "spmd/detail/map_blocks.hpp"
#include "spmd/world.hpp"

namespace spmd {

template <class F>
auto World::map(std::size_t n, F&& fn, Schedule policy, std::size_t chunk) -> MapResults<F> {
    return map_impl(n, fn, policy, chunk, -1);
}

template <class F>
auto World::map(std::size_t n, F&& fn, Root root, Schedule policy, std::size_t chunk)
    -> MapResults<F> {
    check_root(root.rank, "map");
    return map_impl(n, fn, policy, chunk, root.rank);
}

// Collective (every rank asks for the same size): half `half` of a scratch array whose
// halves hold at least `bytes` each, page-aligned.
inline std::byte* World::map_scratch(std::size_t bytes, int half) {
    const std::size_t half_bytes = (bytes + 4095) / 4096 * 4096;
    if (2 * half_bytes > map_.scratch.size()) {
        map_.scratch = {};  // unmap the old one first
        map_.scratch = shared<std::byte>("map results", 2 * half_bytes);
        map_.mapped[0] = map_.mapped[1] = false;
    }
    return map_.scratch.data() + std::size_t(half) * (map_.scratch.size() / 2);
}

// Collective (every rank asks for the same count): the words of half `half` of the block
// words, at least `count` of them. New words are zero: free for every map.
inline std::uint64_t* World::map_block_words(std::size_t count, int half) {
    if (2 * count > map_.blocks.size()) {
        map_.blocks = {};
        map_.blocks = shared<std::uint64_t>("map blocks", 2 * count);
    }
    return map_.blocks.data() + std::size_t(half) * (map_.blocks.size() / 2);
}

// Collective at the first map: the counters of every map after.
inline detail::MapControl& World::map_control() {
    if (map_.control.size() == 0)
        map_.control = shared<std::byte>("map control", sizeof(detail::MapControl));
    return *reinterpret_cast<detail::MapControl*>(map_.control.data());
}

// Waits until `count` reaches `target` (or the job fails).
inline void World::map_wait(const std::atomic<std::uint64_t>& count, std::uint64_t target) {
    auto& control = map_control();
    control.progress.wait({job().header().abort, detail::WaitCall::gather, detail::any_peer},
                          [&] { return count.load(std::memory_order_acquire) >= target; });
}

template <class F>
auto World::map_impl(std::size_t n, F& fn, Schedule policy, std::size_t chunk, int root)
    -> MapResults<F> {
    using R = typename MapResults<F>::value_type;
    const bool wanted = root < 0 || root == rank_;
    MapResults<F> results;
    if (node_.count > 1) {
        // Scratch arrays are a host's: across hosts each rank maps one static block and
        // the blocks travel by a collective (padded to equal pieces, as gather wants).
        if constexpr (std::is_trivially_copyable_v<R> && !std::is_pointer_v<R>) {
            const std::size_t per = (n + std::size_t(size_) - 1) / std::size_t(size_);
            const std::size_t begin = std::min(n, per * std::size_t(rank_));
            const std::size_t end = std::min(n, begin + per);
            std::vector<R> mine(per);
            for (std::size_t i = begin; i < end; ++i) mine[i - begin] = fn(i);
            std::vector<R> all(wanted ? per * std::size_t(size_) : 0);
            if (root < 0)
                all_gather(std::span<const R>(mine), std::span<R>(all));
            else
                gather(std::span<const R>(mine), std::span<R>(all), root);
            if (wanted) results.assign(all.begin(), all.begin() + std::ptrdiff_t(n));
            return results;
        } else {
            throw UsageError(
                "World::map with string or vector results runs on one host only "
                "(its byte arrays are a host's shared memory); this job spans " +
                std::to_string(node_.count) + " hosts");
        }
    }
    if constexpr (std::is_trivially_copyable_v<R> && !std::is_pointer_v<R>) {
        constexpr std::size_t keep_at_most = std::size_t(64) << 20;
        if (n > keep_at_most / sizeof(R)) {  // too large to keep: one array, two barriers
            SharedArray<R> once = shared<R>("map results", n);
            R* out = once.data();
            for (Range r : schedule(n, policy, chunk))
                for (std::size_t i = r.begin; i < r.end; ++i) out[i] = fn(i);
            barrier();
            if (wanted) results.assign(out, out + n);
            barrier();
            return results;
        }
        if (n == 0) return results;
        detail::MapControl& control = map_control();
        const std::uint64_t number = map_.maps++;
        const int half = int(number & 1);
        const detail::BlockPlan plan(n, size_, chunk);
        R* out = reinterpret_cast<R*>(map_scratch(n * sizeof(R), half));
        // A rank that writes into the half maps its pages in one call the first time, not
        // a fault a page. The only reader writes nothing there (its own blocks go to its
        // vector): reading maps the pages the others wrote, many a fault (fault-around).
        const bool only_reader = root >= 0 || size_ == 1;
        if (!(only_reader && wanted) && !map_.mapped[half]) {
            madvise(out, map_.scratch.size() / 2, MADV_POPULATE_WRITE);
            map_.mapped[half] = true;
        }
        std::uint64_t* words = map_block_words(plan.count, half);
        // The map before the last one used this half: its readers must be done with it.
        map_wait(control.half[half].freed, map_.freed_target[half]);
        map_.freed_target[half] += root < 0 ? std::uint64_t(size_) : 1;
        detail::MapBlocks blocks(words, plan, number, rank_, control, job().header().abort);
        auto body = [&](std::size_t begin, std::size_t end) {
            for (std::size_t i = begin; i < end; ++i) out[i] = fn(i);
        };
        auto loop = schedule(plan.count, policy, plan.chunk);  // on every rank: loops count
        // The only reader reads from the front and takes no share of the schedule; the
        // other ranks then walk it from the back, away from the reader.
        if (!(only_reader && wanted)) blocks.work(loop, root >= 0, body);
        if (wanted) {
            // A block only this rank reads goes straight into its vector; one the other
            // readers want goes through the scratch, and is copied while still in cache.
            auto own = [&](std::size_t b) {
                const std::size_t begin = plan.begin(b), end = plan.end(b);
                if (only_reader) {
                    results.insert(results.end(), detail::Computed<F, R>(fn, begin),
                                   detail::Computed<F, R>(fn, end));
                    blocks.finish(b);
                } else {
                    body(begin, end);
                    blocks.finish(b);
                    results.insert(results.end(), out + begin, out + end);
                }
            };
            blocks.read_in_order(out, body, own, results);
            control.half[half].freed.fetch_add(1, std::memory_order_release);
            control.progress.notify_all();
        }
    } else {
        static_assert(bytes::Encodable<R>,
                      "World::map results must be trivially copyable, std::string, or "
                      "vectors/pairs/tuples of those (see spmd/bytes.hpp)");
        auto sizes = shared<std::uint64_t>("map result sizes", n);
        std::vector<std::byte> mine;  // this rank's encoded results, in the order computed
        std::vector<std::size_t> computed;
        for (Range r : schedule(n, policy, chunk))
            for (std::size_t i = r.begin; i < r.end; ++i) {
                const std::size_t before = mine.size();
                bytes::append(mine, fn(i));
                sizes[i] = mine.size() - before;
                computed.push_back(i);
            }
        barrier();
        std::vector<std::uint64_t> offset(n + 1, 0);
        for (std::size_t i = 0; i < n; ++i) offset[i + 1] = offset[i] + sizes[i];
        auto all = shared<std::byte>("map result bytes", offset[n]);
        std::size_t at = 0;
        for (std::size_t i : computed) {
            if (sizes[i]) std::memcpy(all.data() + offset[i], mine.data() + at, sizes[i]);
            at += sizes[i];
        }
        barrier();
        if (wanted) {
            results.reserve(n);
            for (std::size_t i = 0; i < n; ++i)
                results.push_back(bytes::decode<R>(
                    std::span<const std::byte>(all.data() + offset[i], offset[i + 1] - offset[i])));
        }
    }
    return results;
}

}  // namespace spmd
