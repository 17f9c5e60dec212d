#include "trace_merge.hpp"

#include <algorithm>
#include <deque>
#include <map>
#include <tuple>

namespace mprun {

using spmd::detail::trace::Kind;

MergedTrace merge(const spmd::detail::trace::Buffer& buffer) {
    MergedTrace trace;
    trace.ranks = buffer.ranks();
    trace.events.resize(std::size_t(trace.ranks));
    trace.start_ns = UINT64_MAX;
    for (int r = 0; r < trace.ranks; ++r) {
        const auto& log = buffer.log(r);
        const std::uint64_t n = std::min(log.count.load(std::memory_order_acquire), log.capacity);
        trace.events[std::size_t(r)].assign(buffer.events(r), buffer.events(r) + n);
        trace.dropped.push_back(log.dropped.load(std::memory_order_relaxed));
        for (const Event& e : trace.events[std::size_t(r)]) {
            trace.start_ns = std::min(trace.start_ns, e.begin_ns);
            trace.end_ns = std::max(trace.end_ns, e.end_ns);
        }
    }
    if (trace.start_ns == UINT64_MAX) trace.start_ns = trace.end_ns = 0;

    // Messages: MPI's non-overtaking rule (and mprun's inboxes) deliver the sends from s
    // to d with tag t in order, so the k-th such send matches the k-th such recv.
    std::map<std::tuple<int, int, int>, std::deque<int>> sends;  // (from, to, tag) -> events
    // Barrier signals: the round that waited is known by (waiter, epoch, round).
    std::map<std::tuple<int, std::uint64_t, int>, int> waits;
    for (int r = 0; r < trace.ranks; ++r) {
        const auto& events = trace.events[std::size_t(r)];
        for (int i = 0; i < int(events.size()); ++i) {
            const Event& e = events[std::size_t(i)];
            if (e.kind == Kind::send) sends[{r, e.peer, e.peer2}].push_back(i);
            if (e.kind == Kind::barrier_round) waits[{r, e.a, e.detail}] = i;
        }
    }
    for (int r = 0; r < trace.ranks; ++r) {
        const auto& events = trace.events[std::size_t(r)];
        for (int i = 0; i < int(events.size()); ++i) {
            const Event& e = events[std::size_t(i)];
            if (e.kind == Kind::recv) {
                auto it = sends.find({e.peer, r, e.peer2});
                if (it == sends.end() || it->second.empty()) continue;  // sender died unlogged
                trace.flows.push_back({Flow::Kind::message, e.peer, it->second.front(), r, i});
                it->second.pop_front();
            } else if (e.kind == Kind::barrier_round) {
                auto it = waits.find({e.peer, e.a, e.detail});
                if (it != waits.end() &&
                    trace.events[std::size_t(e.peer)][std::size_t(it->second)].peer2 == r)
                    trace.flows.push_back({Flow::Kind::signal, r, i, e.peer, it->second});
            }
        }
    }
    return trace;
}

}  // namespace mprun
