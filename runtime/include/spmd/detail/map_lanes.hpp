// World::map's shared state (map.hpp). No barrier: a map of trivially copyable results
// waits only for the work. Each rank counts the indices it computed into the `done` word
// of the scratch half it wrote; a rank that wants the results waits until the count
// covers them, copies them, and counts itself into `freed`. Maps alternate halves, so a
// rank may run into the next map while a slow root still copies this one; the map after
// that waits for the root's `freed`.
//
// Lanes: a rank works through the ranges its schedule hands it in small blocks, claimed
// from its lane (a published range), and once the schedule is dry it steals the back half
// of another rank's lane (work stealing as in Blumofe and Leiserson 1999), also while it
// waits for the results. So a rank that loses its core mid-map delays the others by at
// most the block it was computing, and a rank that never got the core delays nobody.
#pragma once
#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>

#include "spmd/detail/wait.hpp"
#include "spmd/schedule.hpp"
#include "spmd/shared_array.hpp"

namespace spmd::detail {

// A lane word packs (tag:16 | begin:24 | end:24), begin and end relative to the lane's
// base; every publication bumps the tag, so a stale compare-exchange fails.
struct alignas(64) MapLane {
    std::atomic<std::uint64_t> range{0};
    std::atomic<std::uint64_t> base{0};  // (map number & 0xffffff) << 40 | first index
};

struct MapHalf {
    alignas(64) std::atomic<std::uint64_t> done{0};   // indices computed, over all maps
    alignas(64) std::atomic<std::uint64_t> freed{0};  // readers finished, over all maps
};

struct MapControl {
    MapHalf half[2];
    WaitWord progress;  // notified when a done or freed count grows
    MapLane lane[1];    // one per rank (the shared array is sized for them)

    static std::size_t bytes_for(int ranks) {
        return sizeof(MapControl) + std::size_t(ranks - 1) * sizeof(MapLane);
    }
};

// What a World keeps between maps.
struct MapState {
    SharedArray<std::byte> control;  // a MapControl, made at the first map
    SharedArray<std::byte> scratch;  // the results: two halves
    std::uint64_t maps = 0;
    std::uint64_t done_target[2] = {0, 0};
    std::uint64_t freed_target[2] = {0, 0};
    std::uint16_t tag = 0;            // this rank's lane publications
    bool mapped[2] = {false, false};  // this process has the half's pages mapped
};

class LaneRunner {
public:
    static constexpr std::uint64_t max_lane = (1u << 24) - 1;

    LaneRunner(MapControl& control, int rank, int size, std::uint64_t map, std::uint16_t& tag)
        : control_(control), rank_(rank), size_(size), map_(map & 0xffffff), tag_(tag) {}

    // Runs body(begin, end) over this rank's schedule and whatever it can steal; returns
    // how many indices it ran.
    template <class Body>
    std::uint64_t run(ScheduledLoop& loop, Body&& body) {
        std::uint64_t ran = 0;
        for (Range r : loop)
            for (std::size_t first = r.begin; first < r.end; first += max_lane) {
                publish(first, std::min<std::size_t>(max_lane, r.end - first));
                ran += drain(body);
            }
        while (const std::uint64_t more = help(body)) ran += more;
        return ran;
    }

    // Steals one range and runs it; how many indices that was (0: nothing to steal now).
    // A rank waiting for the map's results calls it as it waits: a rank that published
    // its range after this one ran dry may lose its core next.
    template <class Body>
    std::uint64_t help(Body&& body) {
        std::size_t first = 0, count = 0;
        if (!steal(first, count)) return 0;
        publish(first, count);
        return drain(body);
    }

private:
    static std::uint64_t pack(std::uint64_t tag, std::uint64_t begin, std::uint64_t end) {
        return tag << 48 | begin << 24 | end;
    }
    static std::uint64_t tag_of(std::uint64_t w) { return w >> 48; }
    static std::uint64_t begin_of(std::uint64_t w) { return (w >> 24) & max_lane; }
    static std::uint64_t end_of(std::uint64_t w) { return w & max_lane; }

    void publish(std::size_t first, std::size_t count) {
        MapLane& lane = control_.lane[rank_];
        lane.base.store(map_ << 40 | first, std::memory_order_relaxed);
        lane.range.store(pack(++tag_, 0, count), std::memory_order_release);
        control_.progress.notify_all();  // waiters may steal from it
        first_ = first;
        // Blocks of 1/8 of the range (at most 4096): small enough that a stalled owner
        // holds back little, large enough that claiming costs nothing next to the work.
        block_ = std::clamp<std::size_t>(count / 8, 1, 4096);
    }

    template <class Body>
    std::uint64_t drain(Body& body) {
        std::atomic<std::uint64_t>& range = control_.lane[rank_].range;
        std::uint64_t ran = 0;
        std::uint64_t w = range.load(std::memory_order_relaxed);
        for (;;) {
            const std::uint64_t begin = begin_of(w), end = end_of(w);
            if (begin >= end) return ran;
            const std::uint64_t take = std::min<std::uint64_t>(block_, end - begin);
            if (!range.compare_exchange_weak(w, pack(tag_of(w), begin + take, end),
                                             std::memory_order_relaxed))
                continue;
            body(first_ + begin, first_ + begin + take);
            ran += take;
            w = range.load(std::memory_order_relaxed);
        }
    }

    // Takes the back half (all of a last index) of another rank's lane of this map.
    bool steal(std::size_t& first, std::size_t& count) {
        for (int k = 1; k < size_; ++k) {
            MapLane& lane = control_.lane[(rank_ + k) % size_];
            std::uint64_t w = lane.range.load(std::memory_order_acquire);
            for (;;) {
                const std::uint64_t begin = begin_of(w), end = end_of(w);
                if (begin >= end) break;
                const std::uint64_t base = lane.base.load(std::memory_order_relaxed);
                if (base >> 40 != map_) break;  // a lane of another map
                const std::uint64_t cut = end - (end - begin + 1) / 2;
                if (lane.range.compare_exchange_weak(w, pack(tag_of(w), begin, cut),
                                                     std::memory_order_acquire)) {
                    first = std::size_t((base & ((std::uint64_t(1) << 40) - 1)) + cut);
                    count = std::size_t(end - cut);
                    return true;
                }
            }
        }
        return false;
    }

    MapControl& control_;
    int rank_;
    int size_;
    std::uint64_t map_;
    std::uint16_t& tag_;
    std::size_t first_ = 0;
    std::size_t block_ = 1;
};

}  // namespace spmd::detail
