#include <atomic>

#include "spmd/detail/futex.hpp"
#include "spmd/detail/job.hpp"
#include "spmd/detail/wait.hpp"
#include "spmd/lock.hpp"

namespace spmd {

namespace detail {
static_assert(std::atomic<std::uint32_t>::is_always_lock_free,
              "locks live in memory shared by processes: their atomics must be lock-free");

// All-zero bytes are a free lock: what World::shared hands out.
struct LockControl {
    alignas(64) std::atomic<std::uint32_t> owner{0};  // holder's rank + 1, or 0 when free
    WaitWord released;
};
}  // namespace detail

Lock::Lock(World& world, std::string_view name)
    : name_(name), job_(&world.job()), me_(std::uint32_t(world.rank()) + 1) {
    memory_ = world.shared<std::byte>("lock '" + name_ + "'", sizeof(detail::LockControl));
    control_ = reinterpret_cast<detail::LockControl*>(memory_.data());
}

bool Lock::try_lock() {
    std::uint32_t free = 0;
    return control_->owner.compare_exchange_strong(free, me_, std::memory_order_acquire,
                                                   std::memory_order_relaxed);
}

// Gone: reaped by the launcher (killed, crashed, _exit), or its World closed (returned
// from main, or unwinding from an exception under spmd::launch).
bool Lock::holder_gone(int holder) const {
    const detail::RankReport& report = job_->report(holder);
    return report.exited.load(std::memory_order_acquire) != 0 ||
           report.world.load(std::memory_order_acquire) ==
               std::uint32_t(detail::WorldState::closed);
}

void Lock::lock() {
    std::uint32_t seen = 0;
    if (control_->owner.compare_exchange_strong(seen, me_, std::memory_order_acquire,
                                                std::memory_order_relaxed))
        return;
    if (seen == me_)
        throw Error("lock '" + name_ + "' is already held by this rank (rank " +
                    std::to_string(me_ - 1) + "); spmd::Lock is not recursive");
    int gone = -1;
    // The wait policy may call ready() again after it returned true: once our CAS won,
    // the word naming us must still read as "ready", or we would wait on ourselves.
    auto ready = [&] {
        std::uint32_t owner = control_->owner.load(std::memory_order_relaxed);
        if (owner == me_) return true;
        if (owner == 0)
            return control_->owner.compare_exchange_strong(owner, me_, std::memory_order_acquire,
                                                           std::memory_order_relaxed);
        // A holder unlocks before it exits, so a word still naming it once it is gone
        // means it went away holding the lock.
        if (holder_gone(int(owner) - 1) &&
            control_->owner.load(std::memory_order_seq_cst) == owner) {
            gone = int(owner) - 1;
            return true;
        }
        return false;
    };
    const auto& abort = job_->header().abort;
    try {
        // The holder changes while we wait, so name none: a lock is hopeless only once every
        // other rank has exited (ready() itself finds a holder that left holding it).
        control_->released.wait(
            {abort, detail::WaitCall::lock, detail::any_peer, -1, name_.c_str()}, ready);
    } catch (const Aborted&) {
        // The launcher marks a reaped rank exited before it raises the abort flag: if our
        // holder is the rank that died, say so rather than "the job is aborting".
        const std::uint32_t owner = control_->owner.load(std::memory_order_seq_cst);
        if (owner != 0 && owner != me_ &&
            job_->report(int(owner) - 1).exited.load(std::memory_order_seq_cst))
            throw_holder_gone(int(owner) - 1);
        throw;
    }
    if (gone >= 0) throw_holder_gone(gone);
}

void Lock::throw_holder_gone(int holder) {
    const detail::RankReport& report = job_->report(holder);
    const auto closed = std::uint32_t(detail::WorldState::closed);
    if (report.exited.load(std::memory_order_acquire) == 0) {
        // Its World closed but the process lives on: leaving main, or unwinding from an
        // exception. Only its final report tells which, so wait until it is reaped (the
        // launcher reaps every rank; the abort flag comes after the exited mark).
        try {
            control_->released.wait(job_->header().abort, [&] {
                return report.exited.load(std::memory_order_acquire) != 0;
            });
        } catch (const Aborted&) {
            if (report.exited.load(std::memory_order_acquire) == 0) throw;
        }
    }
    // A holder stopped by the job's failure (it threw spmd::Aborted) says nothing new: this
    // rank is being stopped as well.
    if (report.kind.load(std::memory_order_acquire) == std::uint32_t(detail::FailureKind::stopped))
        detail::throw_aborted();
    const bool failed =
        report.world.load(std::memory_order_acquire) != closed ||
        report.kind.load(std::memory_order_acquire) != std::uint32_t(detail::FailureKind::none);
    throw Error("lock '" + name_ + "' was held by rank " + std::to_string(holder) +
                (failed ? ", which died" : ", which exited without unlocking"));
}

void Lock::unlock() {
    std::uint32_t owner = me_;
    if (!control_->owner.compare_exchange_strong(owner, 0, std::memory_order_release,
                                                 std::memory_order_relaxed))
        throw Error("unlock of lock '" + name_ + "' by rank " + std::to_string(me_ - 1) +
                    ", which does not hold it (" +
                    (owner ? "rank " + std::to_string(owner - 1) + " does" : "nobody does") + ")");
    control_->released.notify_one();  // one waiter can take it: no herd
}

int Lock::owner() const {
    return int(control_->owner.load(std::memory_order_acquire)) - 1;
}

}  // namespace spmd
