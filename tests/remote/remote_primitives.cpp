// What only the MPI transport's Queue and Lock do (detail::RemoteQueue, RemoteLock; their
// words live in rank 0's memory), run by every rank of an mpirun job: CTest runs it with
// -n 2 and -n 4, a two-host rig 2 + 2. A counter in rank 0's window, read and written with
// plain MPI_Get/MPI_Put under the lock by every rank, ends exact across hosts; a lock left
// held by a rank that destroyed it, and a pop that no rank is left to serve, fail with an
// error instead of waiting forever. (tests/transport/world_queue.cpp and
// world_event_lock.cpp check the public API on both transports.)
#define CATCH_CONFIG_RUNNER
#include <mpi.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <cstdio>
#include <spmd/detail/remote_event.hpp>
#include <spmd/detail/remote_queue.hpp>
#include <spmd/error.hpp>
#include <spmd/world.hpp>
#include <string>

using Catch::Matchers::Contains;

namespace {

int rank() {
    int r = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &r);
    return r;
}
int size() {
    int n = 1;
    MPI_Comm_size(MPI_COMM_WORLD, &n);
    return n;
}

}  // namespace

TEST_CASE("a lock makes non-atomic increments of a counter in rank 0's memory exact") {
    spmd::detail::RemoteLock lock("counter");
    // The counter: a word in a window of its own on rank 0, read with MPI_Get and written
    // with MPI_Put, no atomics: only the lock keeps the ranks' read-add-write apart.
    std::uint64_t* base = nullptr;
    MPI_Win win;
    MPI_Win_allocate(rank() == 0 ? 8 : 0, 8, MPI_INFO_NULL, MPI_COMM_WORLD, &base, &win);
    if (rank() == 0) *base = 0;
    MPI_Barrier(MPI_COMM_WORLD);
    MPI_Win_lock_all(0, win);
    constexpr int rounds = 300;
    for (int i = 0; i < rounds; ++i) {
        lock.lock();
        CHECK(lock.owner() == rank());
        std::uint64_t value = 0;
        MPI_Get(&value, 1, MPI_UINT64_T, 0, 0, 1, MPI_UINT64_T, win);
        MPI_Win_flush(0, win);
        ++value;
        MPI_Put(&value, 1, MPI_UINT64_T, 0, 0, 1, MPI_UINT64_T, win);
        MPI_Win_flush(0, win);
        lock.unlock();
    }
    MPI_Win_unlock_all(win);
    MPI_Barrier(MPI_COMM_WORLD);
    if (rank() == 0) CHECK(*base == std::uint64_t(rounds) * std::uint64_t(size()));
    MPI_Win_free(&win);
}

TEST_CASE("a lock held by a rank that destroyed it fails the next waiter, not hangs it") {
    auto lock = std::make_unique<spmd::detail::RemoteLock>("left");
    if (rank() == 1) lock->lock();
    MPI_Barrier(MPI_COMM_WORLD);
    if (rank() == 0)
        CHECK_THROWS_WITH(
            lock->lock(),
            Contains("lock 'left' was held by rank 1, which exited without unlocking"));
    lock.reset();  // rank 1 marks it as it goes; rank 0's wait then ends
}

TEST_CASE("a pop with no rank left to push fails instead of waiting forever") {
    auto queue = std::make_unique<spmd::detail::RemoteQueue>("abandoned", 4, sizeof(int));
    int out = 0;
    if (rank() == 0) CHECK_THROWS_AS(queue->pop(&out), spmd::PeerExited);
    queue.reset();
}

// World initialises MPI (and steers Open MPI clear of its broken osc/rdma); the checks
// then talk to MPI directly. A rank whose checks fail ends the job through World::abort.
int main(int argc, char** argv) {
    spmd::World world(argc, argv);
    if (world.size() < 2) {
        if (world.rank() == 0)
            std::fprintf(stderr, "remote_primitives: run it with 2 or more ranks\n");
        return 2;
    }
    const int failed = Catch::Session().run(argc, argv);
    if (failed) world.abort(std::to_string(failed) + " failed check(s), see above");
    return 0;
}
