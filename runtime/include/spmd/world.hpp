// spmd::World: one rank's handle on its job. Made from argc/argv (or the environment)
// in a program started by `mprun -n N`, it attaches to the job's shared segment; started
// without mprun, it is a world of size 1 and the same program runs unchanged. Built with
// -DSPMD_TRANSPORT=mpi, the same World runs over MPI under `mpirun`, across hosts.
//
// Many hosts: a shared array (and what stands on one: Queue, Event, Lock, Pool, the shared
// containers, map's scratch) is a host's, shared by the ranks on that host (node()); ranks
// on other hosts have their own copy. Results that must reach every host travel by
// collectives or messages. Under mprun there is one host, holding every rank.
//
//   spmd::World world(argc, argv);
//   auto a = world.shared<double>("A", n);  // collective: every rank sees the same array
//   world.barrier();                        // dissemination barrier, ceil(log2 N) rounds
#pragma once
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <ranges>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "spmd/collectives.hpp"
#include "spmd/detail/map_blocks.hpp"
#include "spmd/error.hpp"
#include "spmd/message.hpp"
#include "spmd/ndarray.hpp"
#include "spmd/node.hpp"
#include "spmd/schedule.hpp"
#include "spmd/shared_array.hpp"

namespace spmd {

template <class T>
concept Payload = std::is_trivially_copyable_v<T>;

// World::map's results: one per index, in input order (map.hpp).
template <class F>
using MapResults = std::vector<std::decay_t<std::invoke_result_t<F&, std::size_t>>>;
struct Root {  // World::map(n, fn, spmd::Root{r}): results on rank r only
    int rank = 0;
};
template <class K, class V>
class SharedMap;  // shared_map.hpp
template <class T>
class SharedVector;  // shared_vector.hpp

namespace detail {
class JobSegment;
class Transport;
enum class WorldState : std::uint32_t;
enum class WaitCall : std::uint32_t;
}  // namespace detail

class World {
public:
    // Attaches to the job named by SPMD_JOB/SPMD_RANK/SPMD_SIZE, or makes a world of
    // size 1 when they are absent; under the MPI transport, initialises MPI and joins
    // MPI_COMM_WORLD (finalised when the World ends). argc/argv are accepted for MPI_Init
    // symmetry and left unchanged. One World per process.
    World();
    World(int& argc, char**& argv);
    // Used by spmd::launch: a rank of a job whose segment this process already maps.
    World(std::shared_ptr<detail::JobSegment> job, int rank);
    ~World();
    World(const World&) = delete;
    World& operator=(const World&) = delete;

    int rank() const { return rank_; }
    int size() const { return size_; }
    // The host this rank runs on: its index among the hosts, the world ranks on it and
    // this rank's place among them (node.hpp). Under mprun: one host, every rank.
    const Node& node() const { return node_; }

    // Returns once every rank has called it: a dissemination barrier (Hensgen, Finkel and
    // Manber 1988) on flags in the segment. Throws spmd::Aborted if the job is failing.
    void barrier();

    // Ends the whole job: mprun reports "rank r called abort: <message>" and stops the
    // other ranks, whose blocking calls throw spmd::Aborted at once.
    [[noreturn]] void abort(std::string_view message);

    // Ends the whole job because this rank found an error it can name: `line` is the
    // user's whole line ("knn: data.npy: value NaN at row 3, column 1"). mprun prints it
    // once, as it is, and exits with exit_code; the peers it stops stay quiet. Without a
    // launcher the rank prints it itself. Several ranks may fail alike: the first one wins.
    [[noreturn]] void fail(std::string_view line, int exit_code);

    // True once some rank failed or aborted; blocking calls then throw spmd::Aborted.
    bool aborted() const;

    // Called at every poll of a barrier wait (so also inside the collectives): a layer
    // with transfers of its own in flight (the MPI API) keeps them moving meanwhile.
    void set_progress_hook(std::function<void()> hook);

    // Collective: every rank calls it with the same name and count, in the same order
    // as its other collective calls. The array starts zeroed. It is shared by the ranks
    // of one host (see above); use it only while the World lives.
    template <class T>
    SharedArray<T> shared(std::string_view name, std::size_t count) {
        auto [mapping, bytes] = shared_bytes(name, count, sizeof(T), alignof(T));
        return SharedArray<T>(std::move(mapping), static_cast<T*>(bytes), count);
    }

    // The same with a shape: an n-d array in C order (ndarray.hpp).
    template <class T>
    NdArray<T> shared(std::string_view name, std::vector<std::size_t> shape) {
        auto items =
            shared<T>(name, shape_count(shape, "shared array '" + std::string(name) + "'"));
        return NdArray<T>(std::move(items), std::move(shape));
    }
    template <class T>
    NdArray<T> shared(std::string_view name, std::initializer_list<std::size_t> shape) {
        return shared<T>(name, std::vector<std::size_t>(shape));
    }

    // Collective: fn(i) for every i in [0, n) over all ranks, results in input order on
    // every rank (or on root only, an empty vector elsewhere). See map.hpp.
    template <class F>
    MapResults<F> map(std::size_t n, F&& fn, Schedule policy = Schedule::dynamic,
                      std::size_t chunk = 0);
    template <class F>
    MapResults<F> map(std::size_t n, F&& fn, Root root, Schedule policy = Schedule::dynamic,
                      std::size_t chunk = 0);

    // Collective: a map / vector that every rank reads and writes, growing within a sparse
    // reservation (0: the default, see shared_container.hpp). Include spmd/shared_map.hpp
    // or spmd/shared_vector.hpp to use them.
    template <class K, class V>
    SharedMap<K, V> shared_map(std::string_view name, std::size_t reserve_bytes = 0) {
        return SharedMap<K, V>(*this, name, reserve_bytes);
    }
    template <class T>
    SharedVector<T> shared_vector(std::string_view name, std::size_t reserve_bytes = 0) {
        return SharedVector<T>(*this, name, reserve_bytes);
    }

    // Collective: every rank calls it, in the same order, with the same arguments; the
    // ranges handed to all ranks cover [0, n) exactly once. chunk 0 picks the default:
    // static n/N blocks, dynamic ceil(n/(32 N)), guided minimum 1 (see schedule.hpp).
    ScheduledLoop schedule(std::size_t n, Schedule policy = Schedule::guided,
                           std::size_t chunk = 0);

    // ---- Point-to-point (message.hpp). Tags are >= 0; recv and probe accept
    // spmd::any_source and spmd::any_tag. A send returns once its data is copied out of
    // the caller's buffer; a large one may wait for the receiver to take it, as MPI_Send.
    template <Payload T>
    void send(int dest, int tag, std::span<const T> data) {
        send_bytes(dest, tag, data.data(), data.size_bytes());
    }
    template <std::ranges::contiguous_range R>
    void send(int dest, int tag, const R& data) {
        send(dest, tag,
             std::span<const std::ranges::range_value_t<R>>(std::ranges::data(data),
                                                            std::ranges::size(data)));
    }
    // Receives into data, which must have room for the message (else spmd::Error, and
    // the message stays for a later recv).
    template <Payload T>
    Status recv(int source, int tag, std::span<T> data) {
        return recv_bytes(source, tag, data.data(), data.size_bytes());
    }
    template <std::ranges::contiguous_range R>
    Status recv(int source, int tag, R& data) {
        return recv(source, tag,
                    std::span<std::ranges::range_value_t<R>>(std::ranges::data(data),
                                                             std::ranges::size(data)));
    }
    // Receives a message of any length.
    template <Payload T>
    std::vector<T> recv_vector(int source, int tag, Status* status = nullptr) {
        const Status found = probe(source, tag);
        std::vector<T> data((found.bytes + sizeof(T) - 1) / sizeof(T));
        const Status got = recv(found.source, found.tag, std::span<T>(data));
        if (status) *status = got;
        return data;
    }
    // Waits for a matching message and describes it without receiving it.
    Status probe(int source, int tag);

    // ---- Collectives (collectives.hpp): same order and counts on every rank.
    template <Payload T>
    void broadcast(std::span<T> data, int root = 0) {
        broadcast_bytes(data.data(), data.size_bytes(), root);
    }
    template <Payload T>
    T broadcast_value(T value, int root = 0) {
        broadcast(std::span<T>(&value, 1), root);
        return value;
    }
    // out (on root, in.size() elements) = in of rank 0 op in of rank 1 op ...
    template <Payload T, class F>
    void reduce(std::span<const T> in, std::span<T> out, F fn, int root = 0) {
        reduce_bytes(in.data(), out.data(), in.size(), out.size(), sizeof(T),
                     &detail::combine_with<T, F>, &fn, root);
    }
    template <Payload T>
    void reduce(std::span<const T> in, std::span<T> out, Op op, int root = 0) {
        detail::with_op<T>(op, [&](auto fn) { reduce(in, out, fn, root); });
    }
    template <Payload T, class F>
    void all_reduce(std::span<T> data, F fn) {
        reduce_bytes(data.data(), data.data(), data.size(), data.size(), sizeof(T),
                     &detail::combine_with<T, F>, &fn, -1);
    }
    template <Payload T>
    void all_reduce(std::span<T> data, Op op) {
        detail::with_op<T>(op, [&](auto fn) { all_reduce(data, fn); });
    }
    // out = the reduction of every rank's in (out may be in itself).
    template <Payload T, class F>
    void all_reduce(std::span<const T> in, std::span<T> out, F fn) {
        reduce_bytes(in.data(), out.data(), in.size(), out.size(), sizeof(T),
                     &detail::combine_with<T, F>, &fn, -1);
    }
    template <Payload T>
    void all_reduce(std::span<const T> in, std::span<T> out, Op op) {
        detail::with_op<T>(op, [&](auto fn) { all_reduce(in, out, fn); });
    }
    template <class T>
    requires std::is_arithmetic_v<T> T all_reduce(T value, Op op) {
        all_reduce(std::span<T>(&value, 1), op);
        return value;
    }
    // out (on root: size() * in.size() elements) = the ins of ranks 0, 1, ... in order.
    template <Payload T>
    void gather(std::span<const T> in, std::span<T> out, int root = 0) {
        gather_bytes(in.data(), out.data(), in.size_bytes(), out.size_bytes(), root);
    }
    template <Payload T>
    void all_gather(std::span<const T> in, std::span<T> out) {
        gather_bytes(in.data(), out.data(), in.size_bytes(), out.size_bytes(), -1);
    }
    // Rank r's out = the r-th of size() equal parts of root's in.
    template <Payload T>
    void scatter(std::span<const T> in, std::span<T> out, int root = 0) {
        scatter_bytes(in.data(), out.data(), out.size_bytes(), in.size_bytes(), root);
    }
    // The largest (smallest) value over all ranks and the rank holding it; ties go to
    // the lowest rank, then the lowest index.
    template <class T>
    requires std::is_arithmetic_v<T> Located<T> max_loc(T value) {
        return locate(std::span<const T>(&value, 1), false);
    }
    template <class T>
    requires std::is_arithmetic_v<T> Located<T> min_loc(T value) {
        return locate(std::span<const T>(&value, 1), true);
    }
    template <class T>
    requires std::is_arithmetic_v<T> Located<T> max_loc(std::span<const T> values) {
        return locate(values, false);
    }
    template <class T>
    requires std::is_arithmetic_v<T> Located<T> min_loc(std::span<const T> values) {
        return locate(values, true);
    }

    // This host's control segment (for the primitives built on it; see transport.hpp).
    detail::JobSegment& job() const;

private:
    template <class F>
    MapResults<F> map_impl(std::size_t n, F& fn, Schedule policy, std::size_t chunk, int root);
    std::byte* map_scratch(std::size_t bytes, int half);
    std::uint64_t* map_block_words(std::size_t count, int half);
    detail::MapControl& map_control();
    void map_wait(const std::atomic<std::uint64_t>& count, std::uint64_t target);
    std::pair<std::shared_ptr<void>, void*> shared_bytes(std::string_view name, std::size_t count,
                                                         std::size_t elem_size,
                                                         std::size_t elem_align);
    void send_bytes(int dest, int tag, const void* data, std::size_t bytes);
    Status recv_bytes(int source, int tag, void* data, std::size_t capacity);
    void broadcast_bytes(void* data, std::size_t bytes, int root);
    void reduce_bytes(const void* in, void* out, std::size_t count, std::size_t out_count,
                      std::size_t elem, detail::Combine combine, const void* fn, int root);
    void gather_bytes(const void* in, void* out, std::size_t bytes, std::size_t out_bytes,
                      int root);
    void scatter_bytes(const void* in, void* out, std::size_t bytes, std::size_t in_bytes,
                       int root);
    void check_root(int root, const char* what) const;

    template <class T>
    Located<T> locate(std::span<const T> values, bool smallest) {
        struct Candidate {
            T value;
            std::uint64_t index;  // ~0: this rank holds no value
        };
        Candidate mine{T{}, ~std::uint64_t(0)};
        for (std::size_t i = 0; i < values.size(); ++i)
            if (mine.index == ~std::uint64_t(0) ||
                (smallest ? values[i] < mine.value : mine.value < values[i]))
                mine = {values[i], i};
        std::vector<Candidate> all(static_cast<std::size_t>(size_));
        all_gather(std::span<const Candidate>(&mine, 1), std::span<Candidate>(all));
        Located<T> best;
        bool found = false;
        for (int r = 0; r < size_; ++r) {
            const Candidate& c = all[std::size_t(r)];
            if (c.index == ~std::uint64_t(0)) continue;
            if (!found || (smallest ? c.value < best.value : best.value < c.value)) {
                best = {c.value, r, std::size_t(c.index)};
                found = true;
            }
        }
        if (!found) throw Error("max_loc/min_loc: no rank passed any value");
        return best;
    }
    void set_state(detail::WorldState state);

    std::unique_ptr<detail::Transport> transport_;  // shm or mpi, chosen at configure time
    int rank_ = 0;
    int size_ = 1;
    Node node_;
    std::uint32_t schedule_count_ = 0;
    detail::MapState map_;  // World::map's scratch and counters, kept for the next map
};

}  // namespace spmd

#include "spmd/map.hpp"  // World::map's definition
