// The MPI transport's state: a rank of MPI_COMM_WORLD (see transport.hpp). MPI stays in
// these files: no public header includes <mpi.h>.
#pragma once
#include <mpi.h>

#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <vector>

#include "spmd/detail/job.hpp"
#include "spmd/detail/transport.hpp"

namespace spmd::detail {

struct Transport::Impl {
    MPI_Comm comm = MPI_COMM_NULL;       // our duplicate of MPI_COMM_WORLD
    MPI_Comm host_comm = MPI_COMM_NULL;  // the ranks sharing memory with this one
    int rank = 0;
    int size = 1;
    Node node;
    bool finalize = false;                   // this transport initialised MPI, so it finalises it
    std::shared_ptr<JobSegment> job;         // this host's control segment, indexed by world rank
    MPI_Win schedule_window = MPI_WIN_NULL;  // the loop counters across hosts, on rank 0
    std::vector<MPI_Win> shared_windows;     // freed together when the transport closes
    struct Stashed {                         // a message this rank sent itself
        int tag;
        std::vector<std::byte> payload;
    };
    std::deque<Stashed> to_self;

    ~Impl();
    // Waits for `request` the way the project's waits do (wait.hpp): poll, then yield the
    // core, then nap; MPI's own blocking calls spin, which starves the ranks that work
    // when a host runs more processes than cores.
    void complete(MPI_Request& request);
    void poll_until(const std::function<bool()>& ready);
    // Ends the job with `line` on stderr: the first rank of this host to get here prints
    // it and calls MPI_Abort; the others on the host stay quiet (no N copies of one line).
    [[noreturn]] void end_job(const std::string& line, int exit_code);
    void broadcast(void* data, std::size_t bytes, int root);
    void reduce(const void* in, void* out, std::size_t count, std::size_t elem, Combine combine,
                const void* fn, int root);
    void gather(const void* in, void* out, std::size_t bytes, int root);
    void scatter(const void* in, void* out, std::size_t bytes, int root);
};

}  // namespace spmd::detail
