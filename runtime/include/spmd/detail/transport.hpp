// detail::Transport: everything a rank needs from whatever carries its job, behind one
// small interface that World forwards to. Two implementations, one chosen at configure
// time (-DSPMD_TRANSPORT=shm|mpi, CMake compiles one of runtime/src/transport/*):
//   shm: the job segment mprun (or spmd::launch) created; the default, fastest on one host.
//   mpi: MPI_COMM_WORLD of a real MPI; many hosts, started by mpirun.
// No virtual calls: the implementation's state hides behind one pointer.
//
// Storage for Queue, Event, Lock (and Pool, the shared containers): they take their
// memory from World::shared (one array per host) and their abort word, rank reports and
// wait words from job(), a control segment per host. Under shm that is the job segment;
// under mpi each host makes its own one for its ranks (indexed by world rank), so these
// primitives work between the ranks of one host over either transport. A primitive that
// must span hosts gets its storage from the MPI side instead (windows over comm()).
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>
#include <utility>

#include "spmd/collectives.hpp"
#include "spmd/message.hpp"
#include "spmd/node.hpp"
#include "spmd/schedule.hpp"

namespace spmd::detail {

class JobSegment;
enum class WaitCall : std::uint32_t;
enum class FailureKind : std::uint32_t;

class Transport {
public:
    struct Impl;  // defined by the implementation

    // World(): shm attaches to the job mprun started (SPMD_JOB, SPMD_RANK, SPMD_SIZE) or
    // makes a world of size 1; mpi initialises MPI (a lone process is a world of size 1).
    static std::unique_ptr<Transport> open();
    // spmd::launch: a forked rank of a job whose segment this process maps (shm only).
    static std::unique_ptr<Transport> open_forked(std::shared_ptr<JobSegment> job, int rank);
    explicit Transport(std::unique_ptr<Impl> impl);
    ~Transport();
    Transport(const Transport&) = delete;
    Transport& operator=(const Transport&) = delete;

    int rank() const;
    int size() const;
    Node node() const;
    JobSegment& job() const;  // this host's control segment (see above)

    void barrier(WaitCall call);
    bool aborted() const;
    [[noreturn]] void abort(std::string_view message);
    [[noreturn]] void fail(std::string_view line, int exit_code);
    // An exception left main (the terminate handler): the job ends with its message.
    [[noreturn]] void fail_uncaught(const std::string& message, FailureKind kind);
    void set_progress_hook(std::function<void()> hook);

    void send(int dest, int tag, const void* data, std::size_t bytes);
    Status recv(int source, int tag, void* data, std::size_t capacity);
    Status probe(int source, int tag);

    // Arguments are checked by World. root -1: every rank receives (all_reduce, all_gather).
    // Reductions combine in rank order, acc = in(0); acc = fn(acc, in(r)) for r = 1..N-1,
    // element by element, so results are bitwise the same on both transports.
    void broadcast(void* data, std::size_t bytes, int root);
    void reduce(const void* in, void* out, std::size_t count, std::size_t elem, Combine combine,
                const void* fn, int root);
    void gather(const void* in, void* out, std::size_t bytes, int root);
    void scatter(const void* in, void* out, std::size_t bytes, int root);

    // Collective: zeroed bytes shared by the ranks of this host; the pointer stays valid
    // while the returned owner lives.
    std::pair<std::shared_ptr<void>, void*> shared(std::string_view name, std::size_t bytes);
    // Collective: the counter of loop `generation` (World::schedule counts them).
    ScheduleCounter schedule_counter(std::uint32_t generation);

    Impl& impl() const { return *impl_; }

private:
    std::unique_ptr<Impl> impl_;
};

}  // namespace spmd::detail
