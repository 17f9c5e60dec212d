// The MPI layer's per-process state: the World it runs on, the handle tables
// (communicators, groups, datatypes, ops, requests) and the matching engine. Every MPI_*
// function runs its body through mpi::call(), which turns a thrown mpi::Failure into the
// communicator's error handler: a one-line report that stops the job, or a return code.
#pragma once
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <list>
#include <memory>
#include <string>
#include <vector>

#include "mpi.h"
#include "spmd/detail/job.hpp"
#include "spmd/detail/wait.hpp"
#include "spmd/error.hpp"
#include "spmd/world.hpp"

namespace spmd::detail {
class Messenger;
}

namespace spmd::mpi {

// An MPI error: its class and what exactly was wrong ("destination rank 7 is out of ...").
class Failure : public spmd::Error {
public:
    Failure(int code, const std::string& what) : spmd::Error(what), code(code) {}
    int code;
};
[[noreturn]] inline void fail(int code, const std::string& what) {
    throw Failure(code, what);
}

// ---- Datatypes (datatype.cpp). A type is a list of byte runs within one element of
// `extent` bytes; its data, packed, is `size` bytes. Every type is made of one basic type
// (the one reductions work on): `basic` and the count of basics per element.
struct Run {
    std::size_t offset, length;
};
struct Datatype {
    std::size_t size = 0, extent = 0;
    std::vector<Run> runs;  // sorted, merged; one run [0, size) when contiguous
    int basic = MPI_DATATYPE_NULL;
    std::size_t basics = 0;  // basic elements per element
    bool contiguous = true, committed = true, predefined = false;
};
// Fails on a bad handle. The reference is to the table's entry: copy it to keep the type.
const std::shared_ptr<const Datatype>& datatype(MPI_Datatype handle);
std::size_t basic_size(int basic);
// Packs/unpacks `count` elements to/from their contiguous form.
void pack(const Datatype& type, std::size_t count, const void* from, std::byte* to);
// Unpacks at most `bytes` of packed data (a receive may be short).
void unpack(const Datatype& type, std::size_t count, const std::byte* from, std::size_t bytes,
            void* to);

// ---- Ops (ops.cpp): right[i] = left[i] op right[i] over `basics` basic elements, which
// are `count` elements of `type` (what a user function is given).
void check_op(MPI_Op op, const Datatype& type);
void combine(MPI_Op op, int basic, MPI_Datatype type, const void* left, void* right,
             std::size_t basics, std::size_t count);
bool is_builtin(MPI_Op op);
bool commutative(MPI_Op op);

// ---- Communicators and groups (comm.cpp).
struct Comm {
    int context = 0;            // tags of this comm's messages carry it (see engine)
    std::vector<int> world_of;  // comm rank -> world rank
    std::vector<int> rank_of;   // world rank -> comm rank, or -1
    int rank = 0;
    MPI_Errhandler errhandler = MPI_ERRORS_ARE_FATAL;
    bool is_world = false;
    int size() const { return int(world_of.size()); }
};
struct Group {
    std::vector<int> world_of;
};
// Fails on null or bad handles; a reference to the table's entry, as datatype().
const std::shared_ptr<Comm>& comm(MPI_Comm handle);
Comm* find_comm(MPI_Comm handle);  // nullptr if none
void make_predefined_comms();
void free_all_comms();

// ---- The matching engine (engine.cpp). Messages carry one runtime tag:
// (context field << 21) | (synchronous << 20) | user tag, where the context field is
// 2 * context for point-to-point and 2 * context + 1 for a collective's internal messages.
constexpr int tag_bits = 20;
constexpr int ack_field = 1023;     // acknowledgements of synchronous sends
constexpr int answer_field = 1022;  // a receiver's answer to a pulled send (engine.cpp)
constexpr int max_contexts = 511;
static_assert(2 * (max_contexts - 1) + 1 < answer_field, "fields of comms stay below");
inline int p2p_field(const Comm& c) {
    return 2 * c.context;
}
inline int coll_field(const Comm& c) {
    return 2 * c.context + 1;
}
inline int runtime_tag(int field, int tag, bool sync = false) {
    return (field << (tag_bits + 1)) | (int(sync) << tag_bits) | tag;
}

struct Request {
    enum class Kind { send, recv } kind = Kind::send;
    bool done = false;
    bool freed = false;  // MPI_Request_free: delete once done
    bool proc_null = false;
    const Comm* comm = nullptr;             // to name the source in the status
    std::shared_ptr<const Comm> keep_comm;  // a nonblocking receive keeps it alive
    // send: how its payload travels (in the envelope, through the pair ring, or read by
    // the receiver from `data`), and how far it got
    enum class Way { cell, ring, pull } way = Way::cell;
    int dest = 0, rtag = 0;  // world rank, runtime tag
    const std::byte* data = nullptr;
    std::size_t bytes = 0, streamed = 0;
    bool posted = false;
    std::uint64_t pull_id = 0;  // names a pulled send in its receiver's answer
    // recv: what it matches (world rank or MPI_ANY_SOURCE, field, tag or MPI_ANY_TAG)
    int want_source = 0, want_field = 0, want_tag = 0;
    std::byte* buffer = nullptr;  // the user's buffer, or `staging` for a strided type
    std::size_t capacity = 0;
    std::vector<std::byte> staging;  // packed data of a strided send or receive
    std::shared_ptr<const Datatype> type;
    void* user_buffer = nullptr;
    std::size_t count = 0;
    // outcome
    int source = 0, tag = 0, error = MPI_SUCCESS;  // world source, user tag
    std::size_t received = 0;
};

class Engine {
public:
    Engine(World& world);
    ~Engine();
    // Starts a send of packed bytes (data must stay valid until done) to a world rank.
    void start_send(Request& r);
    void start_recv(Request& r);
    // Makes progress on everything pending; never waits.
    void progress();
    // Waits, making progress, until done() holds.
    template <class Done>
    void wait_for(Done&& done);
    void wait(Request& r) {
        if (!r.done) wait_for([&] { return r.done; });
    }
    // A matching message that no receive has taken yet: true and its status, or false.
    bool find_unexpected(int source, int field, int tag, int& found_source, int& found_tag,
                         std::size_t& bytes);
    // Acknowledgements of synchronous sends received from a world rank so far.
    std::uint64_t acks_from(int world_rank) const { return acks_[std::size_t(world_rank)]; }
    bool pending_sends() const { return pending_sends_ != 0 || pending_notices_ != 0; }
    // Nothing this rank must push itself: a pulled send waits for its receiver's answer,
    // which arrives as mail (and so wakes the futex sleep of wait_for).
    bool idle() const {
        return pending_sends_ == answers_awaited_ && pending_inflows_ == 0 && pending_notices_ == 0;
    }
    // A receiver is reading this rank's pulled sends one after another: an answer came
    // within the last answer_gap_ns and more are awaited. Waking a sleeper costs its waker
    // a system call per answer (~14 us here, a seventh of a 1 MiB pull), so the sender
    // keeps yielding instead of sleeping while the answers flow.
    bool answers_flowing() const {
        return answers_awaited_ != 0 && detail::monotonic_ns() - last_answer_ns_ < answer_gap_ns;
    }
    // Pulls the payloads of large messages no receive has taken yet into buffers of their
    // own, so that their senders go on: called when this rank is about to wait long.
    void settle_deferred();

private:
    struct Arrival {
        int source, rtag;
        std::size_t bytes;
        std::unique_ptr<std::byte[]> payload;  // not zeroed: it is overwritten
        bool complete = false;
        Request* claimed = nullptr;  // a receive waits for its data (or it was truncated)
        bool deferred = false;       // a pulled payload not read yet, at `address`
        std::uint64_t address = 0, id = 0;
    };
    struct Inflow {
        std::byte* target;
        std::size_t bytes, done;
        Request* request;  // the data goes straight to a receive, or
        Arrival* arrival;  // to an arrival's own buffer
    };
    void advance_sends(int dest);
    void help_split(int dest);
    void arrive();
    void advance_inflows(int source);
    void match(Request& r, Arrival& a);
    void finish_arrival(Arrival& a);
    void complete_recv(Request& r);
    void complete_send(Request& r);
    void send_ack(int dest);
    void send_notice(int dest, int rtag, std::uint64_t id);
    void advance_notices(int dest);
    bool post(int dest, Request& r);
    bool pull(int source, std::uint64_t address, std::uint64_t id, std::byte* target,
              std::size_t bytes);
    void answered(int dest, std::uint64_t id, bool pulled);
    void fetch(Arrival& a, Request* r);
    void deliver_self(Request& send);

    World& world_;
    std::unique_ptr<detail::Messenger> messenger_;
    std::vector<std::list<Request*>> outbox_;  // per destination, in order
    std::vector<std::list<Inflow>> inflows_;   // per source, in order
    std::vector<Request*> posted_;             // receives in posting order
    std::list<Arrival> unexpected_;            // in arrival order
    std::vector<std::uint64_t> acks_;
    struct Notice {
        int rtag;
        std::uint64_t id;
    };
    std::vector<std::deque<Notice>> notices_;      // per destination, in order
    std::vector<std::deque<Request*>> to_stream_;  // per destination, in answer order
    std::vector<bool> no_pull_;                    // per destination: it asked for the ring instead
    std::uint64_t next_pull_id_ = 0;
    int pending_sends_ = 0, pending_inflows_ = 0, answers_awaited_ = 0, pending_notices_ = 0,
        deferred_ = 0;
    long deferred_since_ = 0;  // monotonic ns when deferred_ last left 0
    static constexpr long answer_gap_ns = 500'000;
    long last_answer_ns_ = 0;  // monotonic ns of the last answer to a pulled send
};

template <class Done>
void Engine::wait_for(Done&& done) {
    detail::wait_until(
        world_.job().header().abort,
        [&] {
            progress();
            return done();
        },
        [&](long ns) {
            // Announce, re-check, sleep (wait_until's contract). Only new mail wakes this
            // futex; a transfer in a pair ring does not, so while one is pending keep
            // yielding the core instead of sleeping.
            settle_deferred();
            if (!idle() || answers_flowing()) return detail::yield_core();
            detail::WaitWord& mail = world_.job().inbox(world_.rank()).arrived;
            mail.sleepers.fetch_add(1, std::memory_order_seq_cst);
            const std::uint32_t seen = mail.seq.load(std::memory_order_seq_cst);
            progress();
            if (!done()) detail::futex_wait(mail.seq, seen, ns);
            mail.sleepers.fetch_sub(1, std::memory_order_relaxed);
        });
}

// ---- The process's state (env.cpp).
struct State {
    std::unique_ptr<World> world;
    std::unique_ptr<Engine> engine;
    bool initialized = false, finalized = false;
};
State& state();
World& world();
Engine& engine();
void require_initialized();

// Runs an MPI call's body; errors go to `handler_comm`'s error handler.
template <class Body>
int call(const char* name, MPI_Comm handler_comm, Body&& body);
int handle_failure(const char* name, MPI_Comm handler_comm, int code, const std::string& what);
[[noreturn]] void aborted_by_peer();

template <class Body>
int call(const char* name, MPI_Comm handler_comm, Body&& body) {
    try {
        body();
        return MPI_SUCCESS;
    } catch (const Failure& f) {
        return handle_failure(name, handler_comm, f.code, f.what());
    } catch (const spmd::Aborted&) {
        aborted_by_peer();
    } catch (const std::exception& e) {
        return handle_failure(name, handler_comm, MPI_ERR_INTERN, e.what());
    }
}

// ---- Requests table (p2p.cpp).
Request* request(MPI_Request handle);

// ---- Context ids (comm.cpp) and collectives over point-to-point (coll.cpp).
struct Members {  // who takes part in a collective, and the runtime tag of its messages
    const std::vector<int>& world_of;
    int rank;
    int field;
    int tag = 0;
    int size() const { return int(world_of.size()); }
};
void coll_send(const Members& m, int to, const void* data, std::size_t bytes);
void coll_recv(const Members& m, int from, void* data, std::size_t bytes);
void coll_barrier(const Members& m);
void coll_bcast(const Members& m, void* data, std::size_t bytes, int root);
// Gathers each rank's packed bytes on root (sizes[r] bytes of rank r, at offsets[r]).
void coll_gatherv(const Members& m, const void* mine, std::size_t my_bytes, std::byte* out,
                  const std::vector<std::size_t>& sizes, const std::vector<std::size_t>& offsets,
                  int root);
void coll_allreduce_or(const Members& m, std::uint32_t* words, std::size_t n);
int new_context(const Members& m);

}  // namespace spmd::mpi
