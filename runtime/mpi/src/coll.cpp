// Collectives. On MPI_COMM_WORLD the common ones go straight to World's collectives
// (scratch memory and the dissemination barrier): barrier, reduce and allreduce of basic
// types with predefined ops, gather, allgather and scatter of equal parts; bcast goes
// through the broadcast board (bcast_board.hpp).
// Everything else, and every collective on other communicators, runs over the engine's
// point-to-point messages on the communicator's collective context: a dissemination
// barrier, binomial-tree broadcast, and reductions that gather the contributions to one
// rank and combine them in rank order, so every rank gets bitwise the same result and
// non-commutative user operations are applied as MPI defines.
#include <cstring>
#include <numeric>
#include <optional>

#include "bcast_board.hpp"
#include "ops.hpp"
#include "spmd/detail/messenger.hpp"
#include "state.hpp"

namespace spmd::mpi {

namespace {

// Up to this many ranks a small broadcast is flat (see coll_bcast).
constexpr int flat_bcast_ranks = 32;

Request send_request(const Members& m, int to, const void* data, std::size_t bytes) {
    Request r;
    r.dest = m.world_of[std::size_t(to)];
    r.rtag = runtime_tag(m.field, m.tag);
    r.data = static_cast<const std::byte*>(data);
    r.bytes = bytes;
    return r;
}

void recv_request(Request& r, const Members& m, int from, void* data, std::size_t bytes) {
    r.kind = Request::Kind::recv;
    r.want_source = m.world_of[std::size_t(from)];
    r.want_field = m.field;
    r.want_tag = m.tag;
    r.buffer = static_cast<std::byte*>(data);
    r.capacity = bytes;
}

void check_received(const Request& r, std::size_t bytes) {
    if (r.error || r.received != bytes)
        fail(MPI_ERR_TRUNCATE, "the ranks passed different amounts of data to this collective");
}

// Waits for all, then checks what each receive got.
void wait_all(std::vector<Request>& rs, const std::vector<std::size_t>& expect) {
    engine().wait_for([&] {
        for (const Request& r : rs)
            if (!r.done) return false;
        return true;
    });
    for (std::size_t i = 0; i < rs.size(); ++i)
        if (rs[i].kind == Request::Kind::recv) check_received(rs[i], expect[i]);
}

}  // namespace

void coll_send(const Members& m, int to, const void* data, std::size_t bytes) {
    Request r = send_request(m, to, data, bytes);
    engine().start_send(r);
    engine().wait(r);
}

void coll_recv(const Members& m, int from, void* data, std::size_t bytes) {
    Request r;
    recv_request(r, m, from, data, bytes);
    engine().start_recv(r);
    engine().wait(r);
    check_received(r, bytes);
}

// Dissemination barrier (Hensgen, Finkel and Manber 1988) over zero-byte messages.
void coll_barrier(const Members& m) {
    const int n = m.size();
    for (int d = 1; d < n; d <<= 1) {
        Request s = send_request(m, (m.rank + d) % n, nullptr, 0);
        engine().start_send(s);
        coll_recv(m, (m.rank - d + n) % n, nullptr, 0);
        engine().wait(s);
    }
}

// A payload that travels inline in an envelope goes flat: root posts one to every rank
// and returns (posting costs it ~0.1 us a rank), so each rank waits for root alone, not
// for a chain of forwarding ranks that may not hold a core (more ranks than cores).
// Larger ones go down a binomial tree: relative rank v receives from v - 2^k (its lowest
// set bit), then sends to v + 2^j for the smaller powers; ceil(log2 n) rounds.
void coll_bcast(const Members& m, void* data, std::size_t bytes, int root) {
    const int n = m.size();
    if (!detail::Messenger::is_bulk(bytes) && n <= flat_bcast_ranks) {
        if (m.rank != root) return coll_recv(m, root, data, bytes);
        std::vector<Request> sends;
        sends.reserve(std::size_t(n));
        for (int r = 0; r < n; ++r)
            if (r != root) {
                sends.push_back(send_request(m, r, data, bytes));
                engine().start_send(sends.back());
            }
        return wait_all(sends, {});
    }
    const int v = (m.rank - root + n) % n;
    int mask = 1;
    while (mask < n) {
        if (v & mask) {
            coll_recv(m, (v - mask + root) % n, data, bytes);
            break;
        }
        mask <<= 1;
    }
    for (mask >>= 1; mask > 0; mask >>= 1)
        if (v + mask < n) coll_send(m, (v + mask + root) % n, data, bytes);
}

void coll_gatherv(const Members& m, const void* mine, std::size_t my_bytes, std::byte* out,
                  const std::vector<std::size_t>& sizes, const std::vector<std::size_t>& offsets,
                  int root) {
    if (m.rank != root) return coll_send(m, root, mine, my_bytes);
    std::vector<Request> rs(std::size_t(m.size()));
    for (int r = 0; r < m.size(); ++r) {
        if (r == root) {
            rs[std::size_t(r)].done = true;
            continue;
        }
        recv_request(rs[std::size_t(r)], m, r, out + offsets[std::size_t(r)],
                     sizes[std::size_t(r)]);
        engine().start_recv(rs[std::size_t(r)]);
    }
    if (mine != out + offsets[std::size_t(root)] && my_bytes)
        std::memmove(out + offsets[std::size_t(root)], mine, my_bytes);
    wait_all(rs, sizes);
}

namespace {

void coll_scatterv(const Members& m, const std::byte* in, const std::vector<std::size_t>& sizes,
                   const std::vector<std::size_t>& offsets, void* mine, std::size_t my_bytes,
                   int root) {
    if (m.rank != root) return coll_recv(m, root, mine, my_bytes);
    std::vector<Request> rs;
    rs.reserve(std::size_t(m.size()));
    for (int r = 0; r < m.size(); ++r)
        if (r != root) {
            rs.push_back(send_request(m, r, in + offsets[std::size_t(r)], sizes[std::size_t(r)]));
            engine().start_send(rs.back());
        }
    if (mine && in + offsets[std::size_t(root)] != mine && my_bytes)
        std::memmove(mine, in + offsets[std::size_t(root)], my_bytes);
    wait_all(rs, {});
}

// What a reduction works on: count basic elements, packed.
struct Reduction {
    MPI_Op op;
    int basic;
    MPI_Datatype type;
    std::size_t elements;  // basic elements
    std::size_t count;     // elements of type
    std::size_t bytes;
};

// Every rank's packed contribution in rank order -> the result on root (into `result`).
void coll_reduce(const Members& m, const Reduction& red, const std::byte* mine, std::byte* result,
                 int root) {
    const std::size_t n = std::size_t(m.size());
    std::vector<std::byte> all(m.rank == root ? n * red.bytes : 0);
    std::vector<std::size_t> sizes(n, red.bytes), offsets(n);
    for (std::size_t r = 0; r < n; ++r) offsets[r] = r * red.bytes;
    coll_gatherv(m, mine, red.bytes, all.data(), sizes, offsets, root);
    if (m.rank != root) return;
    // acc = x0; then x_r = acc op x_r and acc = x_r: rank order, whatever the op.
    for (std::size_t r = 1; r < n; ++r)
        combine(red.op, red.basic, red.type, all.data() + (r - 1) * red.bytes,
                all.data() + r * red.bytes, red.elements, red.count);
    if (red.bytes) std::memcpy(result, all.data() + (n - 1) * red.bytes, red.bytes);
}

}  // namespace

void coll_allreduce_or(const Members& m, std::uint32_t* words, std::size_t n) {
    std::vector<std::uint32_t> all(m.rank == 0 ? n * std::size_t(m.size()) : 0);
    std::vector<std::size_t> sizes(std::size_t(m.size()), n * 4), offsets(sizes.size());
    for (std::size_t r = 0; r < offsets.size(); ++r) offsets[r] = r * n * 4;
    coll_gatherv(m, words, n * 4, reinterpret_cast<std::byte*>(all.data()), sizes, offsets, 0);
    if (m.rank == 0)
        for (std::size_t r = 1; r < std::size_t(m.size()); ++r)
            for (std::size_t i = 0; i < n; ++i) words[i] |= all[r * n + i];
    coll_bcast(m, words, n * 4, 0);
}

}  // namespace spmd::mpi

using namespace spmd::mpi;

namespace {

Members members_of(const Comm& c) {
    return {c.world_of, c.rank, coll_field(c)};
}

void check_root(int root, const Comm& c) {
    if (root < 0 || root >= c.size())
        fail(MPI_ERR_ROOT, "root " + std::to_string(root) +
                               " is out of range for a communicator of size " +
                               std::to_string(c.size()));
}

struct Typed {
    const Datatype* type;  // lives through the call (a freed type's pending uses keep it)
    std::size_t count;
    std::size_t bytes() const { return type->size * count; }
};

Typed typed(int count, MPI_Datatype handle, const void* buf) {
    if (count < 0) fail(MPI_ERR_COUNT, "count " + std::to_string(count) + " is negative");
    const Datatype* t = datatype(handle).get();
    if (!t->committed) fail(MPI_ERR_TYPE, "the datatype is not committed (MPI_Type_commit)");
    if (!buf && count > 0 && t->size > 0)
        fail(MPI_ERR_BUFFER, "the buffer is NULL but the count is " + std::to_string(count));
    return {t, std::size_t(count)};
}

// The packed bytes of `count` elements at buf: the buffer itself when contiguous.
const std::byte* packed(const Typed& t, const void* buf, std::vector<std::byte>& copy) {
    if (t.type->contiguous) return static_cast<const std::byte*>(buf);
    copy.resize(t.bytes());
    pack(*t.type, t.count, buf, copy.data());
    return copy.data();
}

// Where packed data for buf lands: buf itself when contiguous, else `copy`, unpacked
// into buf by landed().
std::byte* landing(const Typed& t, void* buf, std::vector<std::byte>& copy) {
    if (t.type->contiguous) return static_cast<std::byte*>(buf);
    copy.resize(t.bytes());
    return copy.data();
}
void landed(const Typed& t, void* buf, const std::vector<std::byte>& copy) {
    if (!t.type->contiguous) unpack(*t.type, t.count, copy.data(), t.bytes(), buf);
}

void check_same_bytes(std::size_t a, std::size_t b) {
    if (a != b)
        fail(MPI_ERR_TRUNCATE, "the send and receive sides describe " + std::to_string(a) +
                                   " and " + std::to_string(b) + " bytes");
}

Reduction reduction(const Typed& t, MPI_Op op, MPI_Datatype handle) {
    check_op(op, *t.type);
    return {op, t.type->basic, handle, t.count * t.type->basics, t.count, t.bytes()};
}

// World's reduce for a basic type with a predefined op; false if this case has no fast path.
bool world_reduce(const Comm& c, const Typed& t, MPI_Op op, const void* in, void* out, int root) {
    if (!c.is_world || !t.type->predefined || !is_builtin(op)) return false;
    const std::size_t n = t.count;
    return ops::with_builtin(t.type->basic, op, [&]<class T>(auto fn) {
        const std::span<const T> from(static_cast<const T*>(in), n);
        if (root < 0)
            world().all_reduce(from, std::span<T>(static_cast<T*>(out), n), fn);
        else
            world().reduce(from, std::span<T>(static_cast<T*>(out), c.rank == root ? n : 0), fn,
                           root);
    });
}

}  // namespace

extern "C" {

int MPI_Barrier(MPI_Comm c) {
    return call("MPI_Barrier", c, [&] {
        const auto& on = comm(c);
        if (on->is_world)
            world().barrier();
        else
            coll_barrier(members_of(*on));
    });
}

int MPI_Bcast(void* buffer, int count, MPI_Datatype type, int root, MPI_Comm c) {
    return call("MPI_Bcast", c, [&] {
        const auto& on = comm(c);
        const Typed t = typed(count, type, buffer);
        check_root(root, *on);
        std::vector<std::byte> copy;
        std::byte* data = landing(t, buffer, copy);
        if (on->rank == root && !t.type->contiguous) pack(*t.type, t.count, buffer, data);
        // On the world, the board: the root writes and goes on, the others copy out (a
        // large value in chunks, pipelined), with no barrier and no message per rank.
        if (on->is_world && board_usable())
            board_bcast(data, t.bytes(), root, members_of(*on));
        else
            coll_bcast(members_of(*on), data, t.bytes(), root);
        if (on->rank != root) landed(t, buffer, copy);
    });
}

static void reduce_to(const void* sendbuf, void* recvbuf, int count, MPI_Datatype type, MPI_Op op,
                      int root, const Comm& on) {
    const bool receives = root < 0 || on.rank == root;
    const bool in_place = sendbuf == MPI_IN_PLACE;
    if (in_place && !receives)
        fail(MPI_ERR_BUFFER, "MPI_IN_PLACE is only for the root's send buffer");
    const Typed t = typed(count, type, in_place ? recvbuf : sendbuf);
    if (receives) typed(count, type, recvbuf);
    const Reduction red = reduction(t, op, type);
    const void* in = in_place ? recvbuf : sendbuf;
    if (t.type->contiguous && world_reduce(on, t, op, in, recvbuf, root)) return;
    std::vector<std::byte> in_copy, out_copy;
    const std::byte* mine = packed(t, in, in_copy);
    std::vector<std::byte> result(red.bytes);
    const Members m = members_of(on);
    coll_reduce(m, red, mine, result.data(), root < 0 ? 0 : root);
    if (root < 0) coll_bcast(m, result.data(), red.bytes, 0);
    if (receives) {
        if (t.type->contiguous)
            std::memcpy(recvbuf, result.data(), red.bytes);
        else
            unpack(*t.type, t.count, result.data(), red.bytes, recvbuf);
    }
}

int MPI_Reduce(const void* sendbuf, void* recvbuf, int count, MPI_Datatype type, MPI_Op op,
               int root, MPI_Comm c) {
    return call("MPI_Reduce", c, [&] {
        const auto& on = comm(c);
        check_root(root, *on);
        reduce_to(sendbuf, recvbuf, count, type, op, root, *on);
    });
}

int MPI_Allreduce(const void* sendbuf, void* recvbuf, int count, MPI_Datatype type, MPI_Op op,
                  MPI_Comm c) {
    return call("MPI_Allreduce", c,
                [&] { reduce_to(sendbuf, recvbuf, count, type, op, -1, *comm(c)); });
}

// Gather(v) and allgather(v): root (or everyone, root < 0) gets rank r's data at
// displs[r] elements of recvtype. sendbuf MPI_IN_PLACE: the receiver's part is there.
// equal_parts (MPI_Gather, MPI_Allgather) is the same on every rank, so on the world all
// ranks agree to take World's gather; each packs and unpacks its own side.
static void gather_to(const void* sendbuf, int sendcount, MPI_Datatype sendtype, void* recvbuf,
                      const std::vector<int>& recvcounts, const std::vector<int>& displs,
                      MPI_Datatype recvtype, int root, const Comm& on, bool equal_parts) {
    const bool everyone = root < 0;
    const bool receives = everyone || on.rank == root;
    const bool in_place = sendbuf == MPI_IN_PLACE;
    if (in_place && !receives)
        fail(MPI_ERR_BUFFER, "MPI_IN_PLACE is only for the root's send buffer");
    const std::size_t n = std::size_t(on.size());
    auto* out = static_cast<std::byte*>(recvbuf);
    std::shared_ptr<const Datatype> rt;
    std::vector<std::size_t> sizes(n), offsets(n);
    std::size_t total = 0;
    if (receives) {
        rt = datatype(recvtype);
        for (std::size_t r = 0; r < n; ++r) {
            typed(recvcounts[r], recvtype, recvbuf);
            sizes[r] = rt->size * std::size_t(recvcounts[r]);
            offsets[r] = total;
            total += sizes[r];
        }
    }
    std::vector<std::byte> send_copy;
    const std::byte* mine = nullptr;
    std::size_t my_bytes = 0;
    const std::size_t me = std::size_t(on.rank);
    if (in_place) {
        my_bytes = sizes[me];
        const std::byte* slot = out + std::size_t(displs[me]) * rt->extent;
        mine = rt->contiguous ? slot
                              : (send_copy.resize(my_bytes),
                                 pack(*rt, std::size_t(recvcounts[me]), slot, send_copy.data()),
                                 send_copy.data());
    } else {
        const Typed st = typed(sendcount, sendtype, sendbuf);
        mine = packed(st, sendbuf, send_copy);
        my_bytes = st.bytes();
        if (receives) check_same_bytes(my_bytes, sizes[me]);
    }
    std::vector<std::byte> all;
    const bool direct = receives && rt->contiguous && equal_parts;  // parts land in place
    if (on.is_world && equal_parts) {
        if (receives && !direct) all.resize(total);
        std::byte* land = direct ? out : all.data();
        const std::span<const std::byte> in(mine, my_bytes);
        if (everyone)
            world().all_gather(in, std::span<std::byte>(land, n * my_bytes));
        else
            world().gather(in, std::span<std::byte>(land, receives ? n * my_bytes : 0), root);
        if (direct || !receives) return;
    } else {
        const Members m = members_of(on);
        if (receives) all.resize(total);
        if (everyone) {
            coll_gatherv(m, mine, my_bytes, all.data(), sizes, offsets, 0);
            coll_bcast(m, all.data(), total, 0);
        } else {
            coll_gatherv(m, mine, my_bytes, all.data(), sizes, offsets, root);
        }
        if (!receives) return;
    }
    for (std::size_t r = 0; r < n; ++r)
        unpack(*rt, std::size_t(recvcounts[r]), all.data() + offsets[r], sizes[r],
               out + std::size_t(displs[r]) * rt->extent);
}

int MPI_Gather(const void* sendbuf, int sendcount, MPI_Datatype sendtype, void* recvbuf,
               int recvcount, MPI_Datatype recvtype, int root, MPI_Comm c) {
    return call("MPI_Gather", c, [&] {
        const auto& on = comm(c);
        check_root(root, *on);
        const std::size_t n = std::size_t(on->size());
        std::vector<int> counts(n, recvcount), displs(n);
        for (std::size_t r = 0; r < n; ++r) displs[r] = int(r) * recvcount;
        gather_to(sendbuf, sendcount, sendtype, recvbuf, counts, displs, recvtype, root, *on, true);
    });
}

int MPI_Gatherv(const void* sendbuf, int sendcount, MPI_Datatype sendtype, void* recvbuf,
                const int recvcounts[], const int displs[], MPI_Datatype recvtype, int root,
                MPI_Comm c) {
    return call("MPI_Gatherv", c, [&] {
        const auto& on = comm(c);
        check_root(root, *on);
        const std::size_t n = std::size_t(on->size());
        std::vector<int> counts(n), at(n);
        if (on->rank == root) {
            counts.assign(recvcounts, recvcounts + n);
            at.assign(displs, displs + n);
        }
        gather_to(sendbuf, sendcount, sendtype, recvbuf, counts, at, recvtype, root, *on, false);
    });
}

int MPI_Allgather(const void* sendbuf, int sendcount, MPI_Datatype sendtype, void* recvbuf,
                  int recvcount, MPI_Datatype recvtype, MPI_Comm c) {
    return call("MPI_Allgather", c, [&] {
        const auto& on = comm(c);
        const std::size_t n = std::size_t(on->size());
        std::vector<int> counts(n, recvcount), displs(n);
        for (std::size_t r = 0; r < n; ++r) displs[r] = int(r) * recvcount;
        gather_to(sendbuf, sendcount, sendtype, recvbuf, counts, displs, recvtype, -1, *on, true);
    });
}

int MPI_Allgatherv(const void* sendbuf, int sendcount, MPI_Datatype sendtype, void* recvbuf,
                   const int recvcounts[], const int displs[], MPI_Datatype recvtype, MPI_Comm c) {
    return call("MPI_Allgatherv", c, [&] {
        const auto& on = comm(c);
        const std::size_t n = std::size_t(on->size());
        gather_to(sendbuf, sendcount, sendtype, recvbuf,
                  std::vector<int>(recvcounts, recvcounts + n),
                  std::vector<int>(displs, displs + n), recvtype, -1, *on, false);
    });
}

// Scatter(v): rank r gets sendcounts[r] elements at displs[r] of root's sendbuf.
// recvbuf MPI_IN_PLACE (root only): root's own part stays where it is.
static void scatter_from(const void* sendbuf, const std::vector<int>& sendcounts,
                         const std::vector<int>& displs, MPI_Datatype sendtype, void* recvbuf,
                         int recvcount, MPI_Datatype recvtype, int root, const Comm& on,
                         bool equal_parts) {
    const bool in_place = recvbuf == MPI_IN_PLACE;
    const bool is_root = on.rank == root;
    if (in_place && !is_root)
        fail(MPI_ERR_BUFFER, "MPI_IN_PLACE is only for the root's receive buffer");
    const std::size_t n = std::size_t(on.size());
    std::vector<std::size_t> sizes(n), offsets(n);
    std::vector<std::byte> all;
    if (is_root) {
        const auto st = datatype(sendtype);
        for (std::size_t r = 0; r < n; ++r) {
            typed(sendcounts[r], sendtype, sendbuf);
            sizes[r] = st->size * std::size_t(sendcounts[r]);
            offsets[r] = r ? offsets[r - 1] + sizes[r - 1] : 0;
        }
        all.resize(offsets[n - 1] + sizes[n - 1]);
        for (std::size_t r = 0; r < n; ++r)
            pack(*st, std::size_t(sendcounts[r]),
                 static_cast<const std::byte*>(sendbuf) + std::size_t(displs[r]) * st->extent,
                 all.data() + offsets[r]);
    }
    std::optional<Typed> rt;
    if (!in_place) rt = typed(recvcount, recvtype, recvbuf);
    const std::size_t my_bytes = in_place ? sizes[std::size_t(root)] : rt->bytes();
    if (is_root) check_same_bytes(sizes[std::size_t(root)], my_bytes);
    std::vector<std::byte> copy;
    std::byte* mine = in_place ? (copy.resize(my_bytes), copy.data()) : landing(*rt, recvbuf, copy);
    if (on.is_world && equal_parts)
        world().scatter(std::span<const std::byte>(all.data(), is_root ? n * my_bytes : 0),
                        std::span<std::byte>(mine, my_bytes), root);
    else
        coll_scatterv(members_of(on), all.data(), sizes, offsets, in_place ? nullptr : mine,
                      my_bytes, root);
    if (!in_place) landed(*rt, recvbuf, copy);
}

int MPI_Scatter(const void* sendbuf, int sendcount, MPI_Datatype sendtype, void* recvbuf,
                int recvcount, MPI_Datatype recvtype, int root, MPI_Comm c) {
    return call("MPI_Scatter", c, [&] {
        const auto& on = comm(c);
        check_root(root, *on);
        const std::size_t n = std::size_t(on->size());
        std::vector<int> counts(n, sendcount), displs(n);
        for (std::size_t r = 0; r < n; ++r) displs[r] = int(r) * sendcount;
        scatter_from(sendbuf, counts, displs, sendtype, recvbuf, recvcount, recvtype, root, *on,
                     true);
    });
}

int MPI_Scatterv(const void* sendbuf, const int sendcounts[], const int displs[],
                 MPI_Datatype sendtype, void* recvbuf, int recvcount, MPI_Datatype recvtype,
                 int root, MPI_Comm c) {
    return call("MPI_Scatterv", c, [&] {
        const auto& on = comm(c);
        check_root(root, *on);
        const std::size_t n = std::size_t(on->size());
        std::vector<int> counts(n), at(n);
        if (on->rank == root) {
            counts.assign(sendcounts, sendcounts + n);
            at.assign(displs, displs + n);
        }
        scatter_from(sendbuf, counts, at, sendtype, recvbuf, recvcount, recvtype, root, *on, false);
    });
}

// Every rank sends part r of its sendbuf to rank r, all at once (the engine's progress
// keeps it from deadlocking at any size).
static void all_to_all(const void* sendbuf, const std::vector<int>& sendcounts,
                       const std::vector<int>& sdispls, MPI_Datatype sendtype, void* recvbuf,
                       const std::vector<int>& recvcounts, const std::vector<int>& rdispls,
                       MPI_Datatype recvtype, const Comm& on) {
    const std::size_t n = std::size_t(on.size());
    const bool in_place = sendbuf == MPI_IN_PLACE;
    const auto rt = datatype(recvtype);
    const auto st = in_place ? rt : datatype(sendtype);
    std::vector<std::vector<std::byte>> out(n), in(n);
    const Members m = members_of(on);
    std::vector<Request> rs(2 * n);
    std::vector<std::size_t> expect(2 * n);
    const void* from = in_place ? recvbuf : sendbuf;
    const auto& scounts = in_place ? recvcounts : sendcounts;
    const auto& sdisp = in_place ? rdispls : sdispls;
    for (std::size_t r = 0; r < n; ++r) {
        typed(recvcounts[r], recvtype, recvbuf);
        typed(scounts[r], in_place ? recvtype : sendtype, from);
        in[r].resize(rt->size * std::size_t(recvcounts[r]));
        out[r].resize(st->size * std::size_t(scounts[r]));
        pack(*st, std::size_t(scounts[r]),
             static_cast<const std::byte*>(from) + std::size_t(sdisp[r]) * st->extent,
             out[r].data());
    }
    for (std::size_t r = 0; r < n; ++r) {
        recv_request(rs[r], m, int(r), in[r].data(), in[r].size());
        expect[r] = in[r].size();
        engine().start_recv(rs[r]);
    }
    for (std::size_t k = 0; k < n; ++k) {  // start with the next rank, to spread the load
        const std::size_t r = (std::size_t(on.rank) + k) % n;
        rs[n + r] = send_request(m, int(r), out[r].data(), out[r].size());
        engine().start_send(rs[n + r]);
    }
    wait_all(rs, expect);
    for (std::size_t r = 0; r < n; ++r)
        unpack(*rt, std::size_t(recvcounts[r]), in[r].data(), in[r].size(),
               static_cast<std::byte*>(recvbuf) + std::size_t(rdispls[r]) * rt->extent);
}

int MPI_Alltoall(const void* sendbuf, int sendcount, MPI_Datatype sendtype, void* recvbuf,
                 int recvcount, MPI_Datatype recvtype, MPI_Comm c) {
    return call("MPI_Alltoall", c, [&] {
        const auto& on = comm(c);
        const std::size_t n = std::size_t(on->size());
        std::vector<int> sc(n, sendcount), sd(n), rc(n, recvcount), rd(n);
        for (std::size_t r = 0; r < n; ++r) {
            sd[r] = int(r) * sendcount;
            rd[r] = int(r) * recvcount;
        }
        all_to_all(sendbuf, sc, sd, sendtype, recvbuf, rc, rd, recvtype, *on);
    });
}

int MPI_Alltoallv(const void* sendbuf, const int sendcounts[], const int sdispls[],
                  MPI_Datatype sendtype, void* recvbuf, const int recvcounts[], const int rdispls[],
                  MPI_Datatype recvtype, MPI_Comm c) {
    return call("MPI_Alltoallv", c, [&] {
        const auto& on = comm(c);
        const std::size_t n = std::size_t(on->size());
        const bool in_place = sendbuf == MPI_IN_PLACE;
        std::vector<int> sc(n), sd(n);
        if (!in_place) {
            sc.assign(sendcounts, sendcounts + n);
            sd.assign(sdispls, sdispls + n);
        }
        all_to_all(sendbuf, sc, sd, sendtype, recvbuf, std::vector<int>(recvcounts, recvcounts + n),
                   std::vector<int>(rdispls, rdispls + n), recvtype, *on);
    });
}

int MPI_Reduce_scatter_block(const void* sendbuf, void* recvbuf, int recvcount, MPI_Datatype type,
                             MPI_Op op, MPI_Comm c) {
    return call("MPI_Reduce_scatter_block", c, [&] {
        const auto& on = comm(c);
        const std::size_t n = std::size_t(on->size());
        const bool in_place = sendbuf == MPI_IN_PLACE;
        const Typed all = typed(recvcount * int(n), type, in_place ? recvbuf : sendbuf);
        const Reduction red = reduction(all, op, type);
        std::vector<std::byte> in_copy;
        const std::byte* mine = packed(all, in_place ? recvbuf : sendbuf, in_copy);
        std::vector<std::byte> result(on->rank == 0 ? red.bytes : 0);
        const Members m = members_of(*on);
        coll_reduce(m, red, mine, result.data(), 0);
        const Typed part = typed(recvcount, type, recvbuf);
        std::vector<std::size_t> sizes(n, part.bytes()), offsets(n);
        for (std::size_t r = 0; r < n; ++r) offsets[r] = r * part.bytes();
        std::vector<std::byte> copy;
        std::byte* land = landing(part, recvbuf, copy);
        coll_scatterv(m, result.data(), sizes, offsets, land, part.bytes(), 0);
        landed(part, recvbuf, copy);
    });
}

// Inclusive (exclusive) prefix reduction along a chain: rank r gets x0 op ... op x_r
// (op ... x_{r-1}); rank 0's exscan result is left undefined, as MPI says.
static void scan(const void* sendbuf, void* recvbuf, int count, MPI_Datatype type, MPI_Op op,
                 MPI_Comm c, bool inclusive) {
    const auto& on = comm(c);
    const bool in_place = sendbuf == MPI_IN_PLACE;
    const Typed t = typed(count, type, in_place ? recvbuf : sendbuf);
    typed(count, type, recvbuf);
    const Reduction red = reduction(t, op, type);
    std::vector<std::byte> in_copy;
    const std::byte* mine_packed = packed(t, in_place ? recvbuf : sendbuf, in_copy);
    std::vector<std::byte> mine(mine_packed, mine_packed + red.bytes), prefix(red.bytes);
    const Members m = members_of(*on);
    std::vector<std::byte> result;
    if (on->rank > 0) {
        coll_recv(m, on->rank - 1, prefix.data(), red.bytes);  // x0 op ... op x_{r-1}
        std::vector<std::byte> through = mine;
        combine(op, red.basic, type, prefix.data(), through.data(), red.elements, red.count);
        result = inclusive ? through : prefix;
        if (on->rank + 1 < on->size()) coll_send(m, on->rank + 1, through.data(), red.bytes);
    } else {
        result = mine;
        if (on->size() > 1) coll_send(m, 1, mine.data(), red.bytes);
        if (!inclusive) return;
    }
    unpack(*t.type, t.count, result.data(), red.bytes, recvbuf);
}

int MPI_Scan(const void* sendbuf, void* recvbuf, int count, MPI_Datatype type, MPI_Op op,
             MPI_Comm c) {
    return call("MPI_Scan", c, [&] { scan(sendbuf, recvbuf, count, type, op, c, true); });
}

int MPI_Exscan(const void* sendbuf, void* recvbuf, int count, MPI_Datatype type, MPI_Op op,
               MPI_Comm c) {
    return call("MPI_Exscan", c, [&] { scan(sendbuf, recvbuf, count, type, op, c, false); });
}

}  // extern "C"
