// The split copy of a pulled send (split.hpp). One offer at a time per receiver: the
// receiver opens a round, reads its tail, then either takes the head back (the sender
// did not claim it) or waits for the sender's write to end, which is short since the
// sender is copying as fast as the receiver did.
#include "split.hpp"

#include "spmd/detail/single_copy.hpp"
#include "spmd/detail/wait.hpp"

namespace spmd::mpi {

namespace {
// The stages of a round (PullSplit::state = 8 * round + stage).
enum Stage : std::uint64_t {
    offered = 1,    // the head waits for the sender
    writing = 2,    // the sender claimed it and writes it
    written = 3,    // the sender wrote it
    refused = 4,    // the sender could not write it: the receiver reads it
    taken_back = 5  // the receiver read it itself
};
constexpr std::uint64_t stage_of(std::uint64_t state) {
    return state % 8;
}

// The head: half, a multiple of 4 KiB, so with page-aligned buffers the two copies
// never pin the same page.
std::size_t head_of(std::size_t bytes) {
    return (bytes / 2) & ~std::size_t(4095);
}
}  // namespace

bool read_split(detail::JobSegment& job, int me, int source, pid_t sender, std::uint64_t id,
                std::uint64_t address, std::byte* target, std::size_t bytes) {
    detail::PullSplit& slot = job.inbox(me).pull_split;
    const std::size_t head = head_of(bytes);
    const std::uint64_t round = 8 * (slot.state.load(std::memory_order_relaxed) / 8 + 1);
    slot.sender.store(source, std::memory_order_relaxed);
    slot.id.store(id, std::memory_order_relaxed);
    slot.address.store(reinterpret_cast<std::uintptr_t>(target), std::memory_order_relaxed);
    slot.head.store(head, std::memory_order_relaxed);
    slot.state.store(round + offered, std::memory_order_seq_cst);

    const bool tail = detail::read_from(sender, address + head, target + head, bytes - head);
    std::uint64_t state = round + offered;
    if (!slot.state.compare_exchange_strong(state, round + taken_back, std::memory_order_acq_rel))
        // The sender writes the head. It is running (it claimed the offer a moment ago)
        // and copies no more than we did, so yield until it is done; a sender that dies
        // meanwhile fails its part, and a failing job ends the wait.
        while (stage_of(state = slot.state.load(std::memory_order_acquire)) == writing) {
            if (job.header().abort.load(std::memory_order_relaxed)) detail::throw_aborted();
            if (job.report(source).live_pid() != sender) break;
            detail::yield_core();
        }
    if (stage_of(state) == written) return tail;
    slot.state.store(round + taken_back, std::memory_order_release);  // a late writer stays out
    return tail && detail::read_from(sender, address, target, head);
}

bool split_offered(detail::JobSegment& job, int me, int dest, std::uint64_t& id,
                   std::uint64_t& head) {
    const detail::PullSplit& slot = job.inbox(dest).pull_split;
    if (stage_of(slot.state.load(std::memory_order_acquire)) != offered ||
        slot.sender.load(std::memory_order_relaxed) != me)
        return false;
    id = slot.id.load(std::memory_order_relaxed);
    head = slot.head.load(std::memory_order_relaxed);
    return true;
}

void write_split_head(detail::JobSegment& job, int me, int dest, std::uint64_t id,
                      const std::byte* data) {
    detail::PullSplit& slot = job.inbox(dest).pull_split;
    std::uint64_t state = slot.state.load(std::memory_order_acquire);
    // The fields read here are this round's if the claim below succeeds: the receiver
    // rewrites them only after the round ended.
    if (stage_of(state) != offered || slot.sender.load(std::memory_order_relaxed) != me ||
        slot.id.load(std::memory_order_relaxed) != id)
        return;
    const std::uint64_t address = slot.address.load(std::memory_order_relaxed);
    const std::size_t head = slot.head.load(std::memory_order_relaxed);
    const std::uint64_t round = state - offered;
    if (!slot.state.compare_exchange_strong(state, round + writing, std::memory_order_acq_rel))
        return;  // the receiver took it back, or it is another round's
    const bool done = detail::write_into(job.report(dest).live_pid(), address, data, head);
    slot.state.store(round + (done ? written : refused), std::memory_order_release);
}

}  // namespace spmd::mpi
