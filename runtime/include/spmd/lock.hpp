// spmd::Lock: mutual exclusion between the ranks of a job, like Python's
// multiprocessing.Lock. Made collectively by name: `spmd::Lock lock(world, "L");`, then
// `std::lock_guard guard(lock);` (BasicLockable and Lockable). Not recursive.
//
// Unlike a Boost.Interprocess mutex, a lock whose holder is gone is no silent hang: the
// next rank that waits for it gets spmd::Error "lock 'L' was held by rank 2, which died"
// (or "..., which exited without unlocking" if rank 2 left main still holding it).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "spmd/shared_array.hpp"
#include "spmd/world.hpp"

namespace spmd {

namespace detail {
struct LockControl;
class RemoteLock;  // the MPI transport's storage (detail/remote_event.hpp)
}  // namespace detail

class Lock {
public:
    // Collective (every rank, same name, in the order of its other collective calls).
    // Starts unlocked.
    Lock(World& world, std::string_view name);

    // Blocks until this rank holds the lock. Throws spmd::Error if this rank holds it
    // already or its holder died or exited holding it, spmd::Aborted if the job fails.
    void lock();
    // Takes the lock if it is free now; false if any rank (this one too) holds it.
    [[nodiscard]] bool try_lock();
    // Throws spmd::Error if this rank does not hold the lock.
    void unlock();

    // The rank holding the lock now, or -1 (a hint: it may change at once).
    int owner() const;
    const std::string& name() const { return name_; }

private:
    std::string name_;
#if defined(SPMD_TRANSPORT_MPI)
    std::shared_ptr<detail::RemoteLock> remote_;  // one word in rank 0's memory
#else
    [[noreturn]] void throw_holder_gone(int holder);
    bool holder_gone(int holder) const;

    detail::JobSegment* job_;
    std::uint32_t me_;  // this rank + 1: the value of the lock word while we hold it
    SharedArray<std::byte> memory_;
    detail::LockControl* control_;
#endif
};

}  // namespace spmd
