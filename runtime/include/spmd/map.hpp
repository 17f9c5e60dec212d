// World::map: Python's Pool.map over the ranks of a job. fn(i) runs once for every i in
// [0, n), spread over the ranks by a loop schedule (dynamic by default), and the results
// come back in input order on every rank (or on one root). Collective.
//   std::vector<double> y = world.map(n, [&](std::size_t i) { return f(x[i]); });
//   auto names = world.map(n, describe, spmd::Root{0});  // std::string results, on rank 0
// Trivially copyable results are written straight into one shared array, kept by the World
// for the next map (up to 64 MiB), whose pages are then already mapped. Strings and
// vectors (spmd::bytes) go through a variable-size path: each rank encodes its results,
// publishes their sizes, and after a prefix sum writes them into one shared byte array.
#pragma once
#include <cstdint>
#include <cstring>
#include <span>
#include <type_traits>
#include <vector>

#include "spmd/bytes.hpp"
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

// Collective (every rank asks for the same size): scratch of at least `bytes`.
inline std::byte* World::map_scratch(std::size_t bytes) {
    if (bytes > map_scratch_.size()) {
        map_scratch_ = {};  // unmap the old one first
        map_scratch_ = shared<std::byte>("map results", bytes);
    }
    return map_scratch_.data();
}

template <class F>
auto World::map_impl(std::size_t n, F& fn, Schedule policy, std::size_t chunk, int root)
    -> MapResults<F> {
    using R = typename MapResults<F>::value_type;
    const bool wanted = root < 0 || root == rank_;
    MapResults<F> results;
    if constexpr (std::is_trivially_copyable_v<R> && !std::is_pointer_v<R>) {
        constexpr std::size_t keep_at_most = std::size_t(64) << 20;
        SharedArray<R> once;  // results too large to keep
        R* out;
        if (n <= keep_at_most / sizeof(R)) {
            out = reinterpret_cast<R*>(map_scratch(n * sizeof(R)));  // mappings are page-aligned
        } else {
            once = shared<R>("map results", n);
            out = once.data();
        }
        for (Range r : schedule(n, policy, chunk))
            for (std::size_t i = r.begin; i < r.end; ++i) out[i] = fn(i);
        barrier();
        if (wanted) results.assign(out, out + n);
        barrier();  // the next map may write the scratch once everyone has read it
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
