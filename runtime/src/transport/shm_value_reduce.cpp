// all_reduce of a small value (a few scalars: a residual, a count, a dot product) through
// the ranks' value flags instead of the scratch slots and a barrier: each rank writes its
// value and the call's epoch into its own flag's cache line, then reads every rank's line
// and combines them in rank order, as the scratch path does, so every rank gets bitwise
// the same result. One cache-line hand-off per peer and no barrier.
// The two flags of a rank alternate between calls. A rank writes a flag again only two
// calls later, after it has read every rank's value of the call in between, which each
// rank wrote only after it had read this call's values: no reader is left behind.
#include <cstring>

#include "shm.hpp"
#include "spmd/detail/trace.hpp"

namespace spmd::detail {

bool Transport::Impl::value_all_reduce(const std::byte* in, std::byte* out, std::size_t count,
                                       std::size_t elem, Combine combine, const void* fn) {
    const std::size_t bytes = count * elem;
    if (bytes > sizeof(BarrierFlag::value)) return false;
    if (bytes == 0) return true;  // every rank passes the same count: nothing to combine
    const std::uint32_t epoch = ++value_epoch;
    const int parity = int(epoch & 1);
    BarrierFlag& mine = job->value_flag(rank, parity);
    std::memcpy(mine.value, in, bytes);
    signal_flag(mine, epoch);
    for (int r = 0; r < size; ++r) {
        BarrierFlag& theirs = job->value_flag(r, parity);
        if (r != rank) {
            trace::Span trace_wait(trace::Kind::value_wait, r, -1, bytes);
            wait_flag(theirs, epoch, WaitCall::all_reduce, r);
        }
        if (r == 0)
            std::memcpy(out, theirs.value, bytes);
        else
            combine(out, theirs.value, count, fn);
    }
    if (job->aborted()) throw_aborted();
    return true;
}

}  // namespace spmd::detail
