// World's collectives over MPI's (their nonblocking forms, waited for as every wait of
// the project is). Bytes are moved by MPI_Bcast, MPI_(All)gather and MPI_Scatter, in pieces that
// keep MPI's int counts in range. A reduction never uses MPI's reduction operations: MPI may
// combine in a tree, and floating point would then differ in the last bits from the shm transport.
// Instead each element is combined by one rank in rank order, acc = in(0); acc = fn(acc, in(r)), as
// shm_collectives.cpp does: few elements are gathered whole; many go by a reduce-scatter
// (MPI_Alltoallv: rank q gets sub-range q of every rank's input) and then an all-gather of the
// combined sub-ranges.
#include <algorithm>
#include <climits>
#include <cstdint>
#include <cstring>
#include <vector>

#include "in_pieces.hpp"
#include "mpi.hpp"
#include "spmd/detail/trace.hpp"
#include "spmd/error.hpp"

namespace spmd::detail {

using trace::Collective;
using trace::Kind;
using TraceSpan = trace::Span;

namespace {
// At most this many bytes per rank in one MPI call (well inside an int count).
constexpr std::size_t piece_bytes = std::size_t(1) << 28;
// Below this many bytes in all ranks' inputs together, the receivers gather every input
// and combine it themselves (one call) instead of a reduce-scatter and all-gather (two).
constexpr std::size_t gather_whole_below = 64 << 10;

bool overlap(const void* a, const void* b, std::size_t bytes) {
    const auto x = reinterpret_cast<std::uintptr_t>(a), y = reinterpret_cast<std::uintptr_t>(b);
    return bytes && x < y + bytes && y < x + bytes;
}

// n bytes whose copies for successive ranks lie `stride` bytes apart.
struct Strided {
    MPI_Datatype type = MPI_DATATYPE_NULL;
    Strided(std::size_t n, std::size_t stride) {
        MPI_Datatype block;
        MPI_Type_contiguous(int(n), MPI_BYTE, &block);
        MPI_Type_create_resized(block, 0, MPI_Aint(stride), &type);
        MPI_Type_commit(&type);
        MPI_Type_free(&block);
    }
    ~Strided() { MPI_Type_free(&type); }
};

// Starts a nonblocking collective and waits for it the project's way (Impl::complete).
template <class Start>
void nonblocking(Transport::Impl& self, Start&& start) {
    MPI_Request request;
    start(&request);
    self.complete(request);
}

// One element of `elem` bytes as an MPI type, so that counts are in elements.
struct Element {
    MPI_Datatype type = MPI_DATATYPE_NULL;
    explicit Element(std::size_t elem) {
        if (elem > std::size_t(INT_MAX))
            throw Error("reduce: elements of " + std::to_string(elem) +
                        " bytes are larger than the MPI transport combines (2^31 - 1)");
        MPI_Type_contiguous(int(elem), MPI_BYTE, &type);
        MPI_Type_commit(&type);
    }
    ~Element() { MPI_Type_free(&type); }
};
}  // namespace

void Transport::Impl::broadcast(void* data, std::size_t bytes, int root) {
    TraceSpan trace(Kind::collective, root, -1, bytes, std::uint16_t(Collective::broadcast));
    auto* buffer = static_cast<std::byte*>(data);
    in_pieces(bytes, piece_bytes, [&](std::size_t done, std::size_t n) {
        nonblocking(*this, [&](MPI_Request* r) {
            MPI_Ibcast(buffer + done, int(n), MPI_BYTE, root, comm, r);
        });
    });
}

void Transport::Impl::gather(const void* in, void* out, std::size_t bytes, int root) {
    const bool everyone = root < 0;
    TraceSpan trace(Kind::collective, root, -1, bytes, std::uint16_t(Collective::gather));
    const bool receives = everyone || rank == root;
    std::vector<std::byte> copy;  // MPI forbids a send buffer inside the receive buffer
    const auto* source = static_cast<const std::byte*>(in);
    if (receives && overlap(in, out, bytes * std::size_t(size)) && bytes) {
        copy.assign(source, source + bytes);
        source = copy.data();
    }
    auto* result = static_cast<std::byte*>(out);
    in_pieces(bytes, piece_bytes, [&](std::size_t done, std::size_t n) {
        if (n == bytes) {  // one piece: rank r's bytes at r * bytes
            if (everyone)
                nonblocking(*this, [&](MPI_Request* r) {
                    MPI_Iallgather(source, int(n), MPI_BYTE, result, int(n), MPI_BYTE, comm, r);
                });
            else
                nonblocking(*this, [&](MPI_Request* r) {
                    MPI_Igather(source + done, int(n), MPI_BYTE, result, int(n), MPI_BYTE, root,
                                comm, r);
                });
            return;
        }
        const Strided spaced(n, bytes);
        if (everyone)
            nonblocking(*this, [&](MPI_Request* r) {
                MPI_Iallgather(source + done, int(n), MPI_BYTE, result + done, 1, spaced.type, comm,
                               r);
            });
        else
            nonblocking(*this, [&](MPI_Request* r) {
                MPI_Igather(source + done, int(n), MPI_BYTE, receives ? result + done : nullptr, 1,
                            spaced.type, root, comm, r);
            });
    });
}

void Transport::Impl::scatter(const void* in, void* out, std::size_t bytes, int root) {
    TraceSpan trace(Kind::collective, root, -1, bytes, std::uint16_t(Collective::scatter));
    const auto* source = static_cast<const std::byte*>(in);
    auto* result = static_cast<std::byte*>(out);
    std::vector<std::byte> copy;
    if (rank == root && overlap(in, out, bytes * std::size_t(size)) && bytes) {
        copy.assign(source, source + bytes * std::size_t(size));
        source = copy.data();
    }
    in_pieces(bytes, piece_bytes, [&](std::size_t done, std::size_t n) {
        if (n == bytes) {
            nonblocking(*this, [&](MPI_Request* r) {
                MPI_Iscatter(source, int(n), MPI_BYTE, result, int(n), MPI_BYTE, root, comm, r);
            });
            return;
        }
        const Strided spaced(n, bytes);
        nonblocking(*this, [&](MPI_Request* r) {
            MPI_Iscatter(rank == root ? source + done : nullptr, 1, spaced.type, result + done,
                         int(n), MPI_BYTE, root, comm, r);
        });
    });
}

void Transport::Impl::reduce(const void* in, void* out, std::size_t count, std::size_t elem,
                             Combine combine, const void* fn, int root) {
    const bool everyone = root < 0;
    TraceSpan trace(Kind::collective, root, -1, count * elem,
                    std::uint16_t(everyone ? Collective::all_reduce : Collective::reduce));
    const bool receives = everyone || rank == root;
    const std::size_t total = count * elem;
    const auto* source = static_cast<const std::byte*>(in);
    auto* result = static_cast<std::byte*>(out);
    if (size == 1) {
        if (source != result && total) std::memmove(result, source, total);
        return;
    }
    std::vector<std::byte> copy;  // an input that overlaps the output, but not in place
    if (receives && source != result && overlap(source, result, total)) {
        copy.assign(source, source + total);
        source = copy.data();
    }
    const std::size_t ranks = std::size_t(size);
    if (total * ranks <= gather_whole_below) {
        std::vector<std::byte> all(total * ranks);
        if (everyone)
            nonblocking(*this, [&](MPI_Request* r) {
                MPI_Iallgather(source, int(total), MPI_BYTE, all.data(), int(total), MPI_BYTE, comm,
                               r);
            });
        else
            nonblocking(*this, [&](MPI_Request* r) {
                MPI_Igather(source, int(total), MPI_BYTE, all.data(), int(total), MPI_BYTE, root,
                            comm, r);
            });
        if (receives && total) {
            std::memcpy(result, all.data(), total);
            for (std::size_t r = 1; r < ranks; ++r)
                combine(result, all.data() + r * total, count, fn);
        }
        return;
    }
    const Element element(elem);
    std::vector<std::byte> theirs, partial;
    std::vector<int> send_counts(ranks), send_at(ranks), recv_counts(ranks), recv_at(ranks);
    in_pieces(
        count, std::max<std::size_t>(1, piece_bytes / elem), [&](std::size_t done, std::size_t n) {
            // Rank q combines sub-range q of the piece, as shm_collectives.cpp splits it.
            const std::size_t sub = (n + ranks - 1) / ranks;
            auto range = [&](std::size_t r) {
                const std::size_t lo = std::min(n, sub * r);
                return std::pair{lo, std::min(n, lo + sub)};
            };
            const auto [lo, hi] = range(std::size_t(rank));
            for (std::size_t r = 0; r < ranks; ++r) {
                const auto [rlo, rhi] = range(r);
                send_counts[r] = int(rhi - rlo);
                send_at[r] = int(rlo);
                recv_counts[r] = int(hi - lo);
                recv_at[r] = int(r * (hi - lo));
            }
            theirs.resize(ranks * (hi - lo) * elem);
            nonblocking(*this, [&](MPI_Request* r) {
                MPI_Ialltoallv(source + done * elem, send_counts.data(), send_at.data(),
                               element.type, theirs.data(), recv_counts.data(), recv_at.data(),
                               element.type, comm, r);
            });
            const std::size_t mine = (hi - lo) * elem;
            partial.assign(theirs.begin(), theirs.begin() + std::ptrdiff_t(mine));
            for (std::size_t r = 1; r < ranks; ++r)
                combine(partial.data(), theirs.data() + r * mine, hi - lo, fn);
            // Every rank's combined sub-range to the receivers, at its place in the piece.
            for (std::size_t r = 0; r < ranks; ++r) {
                recv_counts[r] = send_counts[r];
                recv_at[r] = send_at[r];
            }
            std::byte* target = result + done * elem;
            if (everyone)
                nonblocking(*this, [&](MPI_Request* r) {
                    MPI_Iallgatherv(partial.data(), int(hi - lo), element.type, target,
                                    recv_counts.data(), recv_at.data(), element.type, comm, r);
                });
            else
                nonblocking(*this, [&](MPI_Request* r) {
                    MPI_Igatherv(partial.data(), int(hi - lo), element.type,
                                 receives ? target : nullptr, recv_counts.data(), recv_at.data(),
                                 element.type, root, comm, r);
                });
        });
}

}  // namespace spmd::detail
