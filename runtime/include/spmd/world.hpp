// spmd::World: one rank's handle on its job. Made from argc/argv (or the environment)
// in a program started by `mprun -n N`, it attaches to the job's shared segment; started
// without mprun, it is a world of size 1 and the same program runs unchanged.
//
//   spmd::World world(argc, argv);
//   auto a = world.shared<double>("A", n);  // collective: every rank sees the same array
//   world.barrier();                        // dissemination barrier, ceil(log2 N) rounds
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "spmd/error.hpp"
#include "spmd/schedule.hpp"
#include "spmd/shared_array.hpp"

namespace spmd {

namespace detail {
class JobSegment;
enum class WorldState : std::uint32_t;
}

class World {
public:
    // Attaches to the job named by SPMD_JOB/SPMD_RANK/SPMD_SIZE, or makes a world of
    // size 1 when they are absent. argc/argv are accepted for MPI_Init symmetry and left
    // unchanged. One World per process.
    World();
    World(int& argc, char**& argv);
    // Used by spmd::launch: a rank of a job whose segment this process already maps.
    World(std::shared_ptr<detail::JobSegment> job, int rank);
    ~World();
    World(const World&) = delete;
    World& operator=(const World&) = delete;

    int rank() const { return rank_; }
    int size() const { return size_; }

    // Returns once every rank has called it: a dissemination barrier (Hensgen, Finkel and
    // Manber 1988) on flags in the segment. Throws spmd::Aborted if the job is failing.
    void barrier();

    // Ends the whole job: mprun reports "rank r called abort: <message>" and stops the
    // other ranks, whose blocking calls throw spmd::Aborted at once.
    [[noreturn]] void abort(std::string_view message);

    // True once some rank failed or aborted; blocking calls then throw spmd::Aborted.
    bool aborted() const;

    // Collective: every rank calls it with the same name and count, in the same order
    // as its other collective calls. The array starts zeroed.
    template <class T>
    SharedArray<T> shared(std::string_view name, std::size_t count) {
        auto [mapping, bytes] = shared_bytes(name, count, sizeof(T), alignof(T));
        return SharedArray<T>(std::move(mapping), static_cast<T*>(bytes), count);
    }

    // Collective: every rank calls it, in the same order, with the same arguments; the
    // ranges handed to all ranks cover [0, n) exactly once. chunk 0 picks the default:
    // static n/N blocks, dynamic ceil(n/(32 N)), guided minimum 1 (see schedule.hpp).
    ScheduledLoop schedule(std::size_t n, Schedule policy = Schedule::guided,
                           std::size_t chunk = 0);

    // The job's control segment (for the primitives built on it).
    detail::JobSegment& job() const { return *job_; }

private:
    std::pair<std::shared_ptr<void>, void*> shared_bytes(std::string_view name, std::size_t count,
                                                         std::size_t elem_size,
                                                         std::size_t elem_align);
    void attach_from_environment();
    void set_state(detail::WorldState state);

    std::shared_ptr<detail::JobSegment> job_;
    int rank_ = 0;
    int size_ = 1;
    std::uint32_t barrier_epoch_ = 0;
    std::uint32_t shared_count_ = 0;
    std::uint32_t schedule_count_ = 0;
};

}  // namespace spmd
