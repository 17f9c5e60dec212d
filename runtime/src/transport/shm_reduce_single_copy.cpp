// A large reduction by single copy (process_vm_readv/writev, single_copy.hpp): every rank
// publishes its buffers' addresses in its scratch slot; after one barrier rank r combines
// sub-range r of every rank's input, read straight from the peers' memory a chunk at a
// time in rank order, and writes each finished chunk into every receiving rank's output;
// a second barrier keeps all buffers valid until every rank is done with them. Each rank
// moves its sub-range of N inputs and N outputs once, with two barriers per call, where
// the scratch path copies every byte into and out of the segment with two barriers per
// scratch-slot piece (a reduce-scatter then an all-gather, as in Rabenseifner's 2004
// allreduce, with the peers' memory standing in for the messages).
#include <time.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "shm.hpp"
#include "spmd/detail/copy.hpp"
#include "spmd/detail/job.hpp"
#include "spmd/detail/single_copy.hpp"
#include "spmd/detail/wait.hpp"
#include "spmd/detail/wait_for.hpp"
#include "spmd/error.hpp"

namespace spmd::detail {

namespace {
// Each rank's part of a call, in its scratch slot of the call's half. Plain fields: the
// owner writes them before a barrier and the peers read them after it.
struct CallRecord {
    std::uint64_t in = 0, out = 0;
    std::uint64_t count = 0;
    std::uint32_t usable = 0;  // this rank can take the single copy for this call
    std::uint32_t probed = 0;  // the first call's probe: it could read every peer
    // A copy failed midway (written before the last barrier): refused, or its peer had
    // gone (gone_base + that rank).
    std::uint32_t failed = 0;
};
static_assert(sizeof(CallRecord) <= 16 << 10, "a record fits the smallest scratch slot");

// The combining unit: a rank reads this many bytes of each peer's sub-range per system
// call, combining into an accumulator that stays in the core's cache.
constexpr std::size_t chunk_bytes = 128 << 10;

// From this many bytes on a reduction takes the single copy. Below it the system calls
// cost about what the copies save (measured at N = 2: even at 16 KiB, ahead from 32 KiB).
constexpr std::size_t single_copy_reduce_bytes = 32 << 10;

// SPMD_REDUCE_SINGLE_COPY=1 takes the single copy whatever the cores (tests use it on
// small machines), 0 never; a rank's choice is published, so ranks that differ agree on
// the scratch path.
enum class Choice { automatic, always, never };
Choice chosen() {
    const char* value = std::getenv("SPMD_REDUCE_SINGLE_COPY");
    if (!value) return Choice::automatic;
    const std::string_view v(value);
    return v == "1" ? Choice::always : v == "0" ? Choice::never : Choice::automatic;
}

constexpr std::uint32_t refused_midway = 1, gone_base = 2;

// Why a copy with `pid` failed: its process had gone (exited, or killed and not yet
// reaped, which process_vm_readv/writev report as ESRCH), or the kernel refused it.
std::uint32_t failure_with(int peer, pid_t pid, int error) {
    return pid <= 0 || error == ESRCH ? gone_base + std::uint32_t(peer) : refused_midway;
}

// Waits as every wait for a rank does (wait.hpp) until the job stops (spmd::Aborted) or
// the launcher has reaped `peer` (PeerExited): so the job ends with the dead rank's own
// reason, as mprun reports it, not with a copy's failure.
[[noreturn]] void wait_for_departed(const std::atomic<std::uint32_t>& abort, WaitCall call,
                                    int peer) {
    wait_until(
        {abort, call, peer}, [] { return false; },
        [](long timeout_ns) {
            const timespec nap{0, std::min(timeout_ns, 1'000'000L)};  // nobody wakes this wait
            nanosleep(&nap, nullptr);
        });
    throw_aborted();  // not reached: the wait above ends only by throwing
}

bool same_or_apart(const void* a, const void* b, std::size_t bytes) {
    const auto x = reinterpret_cast<std::uintptr_t>(a), y = reinterpret_cast<std::uintptr_t>(b);
    return x == y || x + bytes <= y || y + bytes <= x;
}
}  // namespace

bool Transport::Impl::reduce_by_single_copy(const std::byte* in, std::byte* out, std::size_t count,
                                            std::size_t elem, Combine combine, const void* fn,
                                            int root) {
    const bool everyone = root < 0;
    const auto call = everyone ? WaitCall::all_reduce : WaitCall::reduce;
    const bool receives = everyone || rank == root;
    const std::size_t bytes = count * elem;
    // Decided on what every rank knows alike, so that all take the same path. With more
    // ranks than cores the scratch path is faster, and every rank knows it without the
    // record's barrier (SPMD_REDUCE_SINGLE_COPY, a knob for tests, is set on every rank
    // or on none).
    if (bytes < single_copy_reduce_bytes || single_copy_state < 0) return false;
    const Choice choice = chosen();  // after the size test: mid-size reductions skip getenv
    if (choice == Choice::automatic && size > job->header().cores) return false;
    if (single_copy_state == 0) allow_single_copy_from_siblings();  // before peers probe us

    const int half = next_scratch_half();
    auto record = [&](int r) -> CallRecord& {
        return *reinterpret_cast<CallRecord*>(job->scratch(half, r));
    };
    CallRecord& mine = record(rank);
    mine = CallRecord{};
    mine.in = reinterpret_cast<std::uintptr_t>(in);
    mine.out = reinterpret_cast<std::uintptr_t>(out);
    mine.count = count;
    // A rank writes its finished sub-range into the others' outputs while they read their
    // own inputs: partly overlapping buffers would mix the two (the scratch path copes).
    // With more ranks than cores the scratch path stays faster (README, "Running MPI
    // programs"), unless SPMD_REDUCE_SINGLE_COPY says otherwise.
    mine.usable = choice != Choice::never && single_copy_available() &&
                  (choice == Choice::always || size <= job->header().cores) &&
                  (!receives || same_or_apart(in, out, bytes));
    barrier(call);
    for (int r = 0; r < size; ++r) {
        // The same words on every rank, whichever the launcher reports.
        if (record(r).count != record(0).count)
            throw Error(std::string(call_name(call)) + ": rank 0 passes " +
                        std::to_string(record(0).count) + " elements, rank " + std::to_string(r) +
                        " " + std::to_string(record(r).count) +
                        ": every rank must pass the same count");
        if (!record(r).usable) return false;
    }
    auto pid = [&](int r) { return job->report(r).live_pid(); };
    if (single_copy_state == 0) {
        // Yama or seccomp may refuse the copy between ranks: find out once, by reading a
        // byte of every peer's input, before anything is written (the scratch path needs
        // the inputs intact), and agree on the answer.
        bool can = true;
        std::byte probe{};
        for (int r = 0; r < size && can; ++r)
            if (r != rank) can = read_from(pid(r), record(r).in, &probe, 1);
        mine.probed = can;
        barrier(call);
        single_copy_state = 1;
        for (int r = 0; r < size; ++r)
            if (!record(r).probed) single_copy_state = -1;
        if (single_copy_state < 0) return false;
    }

    const std::size_t sub = (count + std::size_t(size) - 1) / std::size_t(size);
    const std::size_t lo = std::min(count, sub * std::size_t(rank));
    const std::size_t hi = std::min(count, lo + sub);
    const std::size_t per_chunk = std::max<std::size_t>(1, chunk_bytes / elem);
    // Kept from call to call: fresh pages would cost a fault each, every call.
    const std::size_t length_max = std::min(hi - lo, per_chunk) * elem;
    if (single_copy_chunks.size() < 2 * length_max) single_copy_chunks.resize(2 * length_max);
    std::byte* const spare = single_copy_chunks.data();
    std::byte* const theirs = spare + length_max;
    // The accumulator is the output itself where it may be (one pass less), but not in
    // place on a rank past 0: rank 0's chunk would overwrite this rank's input unread.
    const bool into_output = receives && (rank == 0 || in != out);
    bool ok = true;
    for (std::size_t at = lo; at < hi && ok; at += per_chunk) {
        const std::size_t n = std::min(per_chunk, hi - at);
        const std::size_t offset = at * elem, length = n * elem;
        std::byte* const acc = into_output ? out + offset : spare;
        for (int r = 0; r < size && ok; ++r) {
            std::byte* into = r == 0 ? acc : theirs;
            const std::byte* from = into;
            if (r == rank)
                from = in + offset;
            else
                ok = read_from(pid(r), record(r).in + offset, into, length);
            if (!ok) {
                mine.failed = failure_with(r, pid(r), errno);
                break;
            }
            if (r == 0 && from != into)
                copy_bytes(acc, from, length);
            else if (r > 0)
                combine(acc, from, n, fn);
        }
        for (int r = 0; r < size && ok; ++r) {
            if (!(everyone || r == root)) continue;
            if (r != rank) {
                ok = write_into(pid(r), record(r).out + offset, acc, length);
                if (!ok) mine.failed = failure_with(r, pid(r), errno);
            } else if (!into_output)
                copy_bytes(out + offset, acc, length);
        }
    }
    barrier(call);  // a peer that died midway ends the job here with the usual reason...
    for (int r = 0; r < size; ++r)  // ...or, if it died after its last signal, here
        if (record(r).failed >= gone_base)
            wait_for_departed(job->header().abort, call, int(record(r).failed - gone_base));
    for (int r = 0; r < size; ++r)
        if (record(r).failed)
            throw Error(std::string(call_name(call)) + ": rank " + std::to_string(r) +
                        " could not copy between the ranks' memories midway (a refused "
                        "process_vm_readv/writev); SPMD_NO_SINGLE_COPY=1 avoids it");
    return true;
}

}  // namespace spmd::detail
