// A job's trace after the job: every rank's events, and the arrows between ranks that
// they imply (a message from its send to its recv, a barrier signal from the signalling
// round to the round that waited for it). mprun writes it as Chrome trace-event JSON
// (--trace) or as a self-contained HTML timeline (--trace-html).
#pragma once
#include <cstdint>
#include <ostream>
#include <vector>

#include "spmd/detail/trace.hpp"

namespace mprun {

using spmd::detail::trace::Event;

struct Flow {
    enum class Kind { message, signal } kind;
    int from_rank, from_event;  // indices into MergedTrace::events
    int to_rank, to_event;
};

struct MergedTrace {
    int ranks = 0;
    std::uint64_t start_ns = 0, end_ns = 0;  // earliest and latest time of any event
    std::vector<std::vector<Event>> events;  // per rank, in the order recorded
    std::vector<std::uint64_t> dropped;      // per rank: events that found its log full
    std::vector<Flow> flows;
};

MergedTrace merge(const spmd::detail::trace::Buffer& buffer);

void write_chrome_json(const MergedTrace& trace, std::ostream& out);
void write_html(const MergedTrace& trace, std::ostream& out);

}  // namespace mprun
