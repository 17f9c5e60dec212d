// World's collectives over the scratch halves of the job segment. Each call moves its
// data in pieces that fit a rank's scratch slot; every piece alternates halves, so a
// rank that runs ahead writes the other half while slow peers still read this one (a
// rank can only get two pieces ahead by passing a barrier that waits for them). Pieces are
// counted in bytes where bytes are only moved; a reduction needs whole elements, so one
// whose element outgrows a scratch slot goes by point-to-point messages instead.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "in_pieces.hpp"
#include "shm.hpp"
#include "spmd/detail/copy.hpp"
#include "spmd/detail/job.hpp"
#include "spmd/detail/messenger.hpp"
#include "spmd/detail/trace.hpp"

namespace spmd::detail {

using trace::Collective;
using trace::Kind;
using TraceSpan = trace::Span;

namespace {
// Below this many elements in all ranks' pieces together, every rank combines all of
// them itself (one barrier) instead of a reduce-scatter and all-gather (two).
constexpr std::size_t combine_everything_below = 4096;
// A reduction by messages moves this many bytes (or one element) per message.
constexpr std::size_t message_piece_bytes = 4 << 20;
}  // namespace

void Transport::Impl::broadcast(void* data, std::size_t bytes, int root) {
    TraceSpan trace(Kind::collective, root, -1, bytes, std::uint16_t(Collective::broadcast));
    const auto call = WaitCall::broadcast;
    auto* buffer = static_cast<std::byte*>(data);
    // Only root writes, so a piece may use the whole half (the slots are contiguous).
    const std::size_t piece = job->scratch_bytes() * std::size_t(size);
    in_pieces(bytes, piece, [&](std::size_t done, std::size_t n) {
        std::byte* scratch = job->scratch(next_scratch_half(), 0);
        if (rank == root && n) copy_bytes(scratch, buffer + done, n);
        barrier(call);
        if (rank != root && n) copy_bytes(buffer + done, scratch, n);
    });
}

void Transport::Impl::reduce(const void* in, void* out, std::size_t count, std::size_t elem,
                             Combine combine, const void* fn, int root) {
    const bool everyone = root < 0;
    const auto call = everyone ? WaitCall::all_reduce : WaitCall::reduce;
    TraceSpan trace(Kind::collective, root, -1, count * elem,
                    std::uint16_t(everyone ? Collective::all_reduce : Collective::reduce));
    const auto* source = static_cast<const std::byte*>(in);
    auto* result = static_cast<std::byte*>(out);
    const bool receives = everyone || rank == root;
    if (size == 1) {  // nothing to combine: the result is the input
        const std::size_t n = count * elem;
        const auto to = reinterpret_cast<std::uintptr_t>(out);
        const auto from = reinterpret_cast<std::uintptr_t>(in);
        if (to + n <= from || from + n <= to)
            copy_bytes(result, source, n);
        else if (to != from)
            std::memmove(result, source, n);  // overlapping spans
        return;
    }
    if (everyone && value_all_reduce(source, result, count, elem, combine, fn)) return;
    if (elem > job->scratch_bytes()) {
        reduce_by_messages(source, result, count, elem, combine, fn, root);
        return;
    }
    if (reduce_by_single_copy(source, result, count, elem, combine, fn, root)) return;
    std::vector<std::byte> partial;
    in_pieces(count, job->scratch_bytes() / elem, [&](std::size_t done, std::size_t n) {
        const int half = next_scratch_half();
        auto slot = [&](int r) { return job->scratch(half, r); };
        if (n) copy_bytes(slot(rank), source + done * elem, n * elem);
        barrier(call);
        std::byte* target = result + done * elem;
        if (n * std::size_t(size) <= combine_everything_below) {
            if (receives && n) {
                copy_bytes(target, slot(0), n * elem);
                for (int r = 1; r < size; ++r) combine(target, slot(r), n, fn);
            }
        } else {
            // Reduce-scatter: rank r combines sub-range r of every slot, in rank order,
            // and leaves the result in sub-range r of its own slot (only it reads that).
            const std::size_t sub = (n + std::size_t(size) - 1) / std::size_t(size);
            auto range = [&](int r) {
                const std::size_t lo = std::min(n, sub * std::size_t(r));
                return std::pair{lo, std::min(n, lo + sub)};
            };
            const auto [lo, hi] = range(rank);
            if (lo < hi) {
                partial.assign(slot(0) + lo * elem, slot(0) + hi * elem);
                for (int r = 1; r < size; ++r)
                    combine(partial.data(), slot(r) + lo * elem, hi - lo, fn);
                copy_bytes(slot(rank) + lo * elem, partial.data(), (hi - lo) * elem);
            }
            barrier(call);
            if (receives)
                for (int r = 0; r < size; ++r) {
                    const auto [rlo, rhi] = range(r);
                    if (rlo < rhi)
                        copy_bytes(target + rlo * elem, slot(r) + rlo * elem, (rhi - rlo) * elem);
                }
        }
    });
}

// Elements larger than a scratch slot: the reducing rank (root, or rank 0 for all_reduce)
// receives each rank's elements in turn and combines them in rank order, as the scratch
// path does, so results stay bitwise the same; all_reduce then broadcasts the result
// (broadcast moves bytes, so any element size fits its pieces).
void Transport::Impl::reduce_by_messages(const std::byte* in, std::byte* out, std::size_t count,
                                         std::size_t elem, Combine combine, const void* fn,
                                         int root) {
    const bool everyone = root < 0;
    const auto call = everyone ? WaitCall::all_reduce : WaitCall::reduce;
    const int reducer = everyone ? 0 : root;
    const std::size_t per_message = std::max<std::size_t>(1, message_piece_bytes / elem);
    std::vector<std::byte> acc, theirs;
    for (std::size_t done = 0; done < count; done += per_message) {
        const std::size_t n = std::min(per_message, count - done);
        const std::byte* mine = in + done * elem;
        if (rank != reducer) {
            messenger().send(reducer, collective_tag, mine, n * elem, call);
            continue;
        }
        acc.resize(n * elem);
        theirs.resize(n * elem);
        for (int r = 0; r < size; ++r) {
            std::byte* into = r == 0 ? acc.data() : theirs.data();
            if (r == rank)
                copy_bytes(into, mine, n * elem);
            else
                messenger().recv(r, collective_tag, into, n * elem, call);
            if (r > 0) combine(acc.data(), theirs.data(), n, fn);
        }
        copy_bytes(out + done * elem, acc.data(), n * elem);
    }
    if (everyone) broadcast(out, count * elem, reducer);
}

void Transport::Impl::gather(const void* in, void* out, std::size_t bytes, int root) {
    const bool everyone = root < 0;
    const auto call = everyone ? WaitCall::all_gather : WaitCall::gather;
    TraceSpan trace(Kind::collective, root, -1, bytes, std::uint16_t(Collective::gather));
    const auto* source = static_cast<const std::byte*>(in);
    auto* result = static_cast<std::byte*>(out);
    in_pieces(bytes, job->scratch_bytes(), [&](std::size_t done, std::size_t n) {
        const int half = next_scratch_half();
        if (n) copy_bytes(job->scratch(half, rank), source + done, n);
        barrier(call);
        if ((everyone || rank == root) && n)
            for (int r = 0; r < size; ++r)
                copy_bytes(result + std::size_t(r) * bytes + done, job->scratch(half, r), n);
    });
}

void Transport::Impl::scatter(const void* in, void* out, std::size_t bytes, int root) {
    const auto call = WaitCall::scatter;
    TraceSpan trace(Kind::collective, root, -1, bytes, std::uint16_t(Collective::scatter));
    const auto* source = static_cast<const std::byte*>(in);
    auto* result = static_cast<std::byte*>(out);
    in_pieces(bytes, job->scratch_bytes(), [&](std::size_t done, std::size_t n) {
        const int half = next_scratch_half();
        if (rank == root && n)
            for (int r = 0; r < size; ++r)
                copy_bytes(job->scratch(half, r), source + std::size_t(r) * bytes + done, n);
        barrier(call);
        if (n) copy_bytes(result + done, job->scratch(half, rank), n);
    });
}

}  // namespace spmd::detail
