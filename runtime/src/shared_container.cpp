#include "spmd/shared_container.hpp"

#include <sys/statvfs.h>

#include <algorithm>

#include "spmd/detail/job.hpp"

namespace spmd::detail {

namespace {
std::string describe(const std::string& kind, std::string_view name) {
    return kind + " '" + std::string(name) + "'";
}
}  // namespace

std::size_t SharedHeap::default_reserve() {
    constexpr std::size_t gib = std::size_t(1) << 30;
    struct statvfs fs {};
    if (statvfs("/dev/shm", &fs) != 0) return gib / 16;
    return std::min(gib, std::size_t(fs.f_bavail) * fs.f_frsize / 4);
}

SharedHeap::SharedHeap(World& world, std::string kind, std::string_view name,
                       std::size_t reserve_bytes)
    : world_(&world),
      rank_(world.rank()),
      kind_(std::move(kind)),
      name_(name),
      // Rank 0 measures /dev/shm for everyone: collective sizes must agree.
      memory_(world.shared<std::byte>(
          describe(kind_, name),
          reserve_bytes ? reserve_bytes : world.broadcast_value(default_reserve()))),
      lock_(world, describe(kind_, name)) {
    constexpr std::size_t smallest = 64 * 1024;
    if (memory_.size() < smallest)
        throw UsageError(describe(kind_, name_) + ": a reservation of " +
                         std::to_string(memory_.size()) + " bytes is too small (at least " +
                         std::to_string(smallest) + ")");
    // Its memory is a World::shared array, which is a host's: ranks on another host would
    // see another, empty copy.
    if (world.node().count > 1)
        throw UsageError(describe(kind_, name_) + " spans " + std::to_string(world.node().count) +
                         " hosts, but shared maps and vectors live in one host's shared memory; "
                         "across hosts send results by collectives or use spmd::Queue");
    if (rank_ == 0)
        heap_ = std::make_unique<Heap>(bip::create_only, memory_.data(), memory_.size());
}

void SharedHeap::acquire() {
    try {
        lock_.lock();
    } catch (const Aborted&) {
        throw;
    } catch (const Error& e) {
        // The holder went away inside an update: the container may be half-changed.
        const int holder = lock_.owner();
        if (holder >= 0 && holder != rank_) throw_died(holder);
        throw Error(describe(kind_, name_) + ": " + e.what());
    }
}

bool SharedHeap::rank_gone(int rank) const {
    const RankReport& report = world_->job().report(rank);
    return report.exited.load(std::memory_order_acquire) != 0 ||
           report.world.load(std::memory_order_acquire) == std::uint32_t(WorldState::closed);
}

void SharedHeap::throw_died(int rank) const {
    throw Error(describe(kind_, name_) + ": rank " + std::to_string(rank) +
                " died inside an update, so the container may be half-written");
}

const std::atomic<std::uint32_t>& SharedHeap::abort_flag() const {
    return world_->job().header().abort;
}

void SharedHeap::throw_full() const {
    throw Error(describe(kind_, name_) + " is full: its reservation of " +
                std::to_string(memory_.size()) +
                " bytes is used up (pass a larger reserve_bytes when making it)");
}

}  // namespace spmd::detail
