#include "spmd/detail/job.hpp"

#include <algorithm>
#include <cstring>
#include <limits>
#include <new>

#include "spmd/detail/futex.hpp"
#include "spmd/detail/wait.hpp"
#include "spmd/error.hpp"

namespace spmd::detail {

namespace {
constexpr std::uint64_t job_magic = 0x73706d646a6f6231ULL;  // "spmdjob1"
// Layout versions: 12 Inbox::released; 11 flags' sleeper counts apart from the flags;
// 10 value flags after the barrier flags; 9 Inbox::pull_split; 6 MessageCell payload in
// the envelope's line; 5 Inbox::posted; 4 RankReport::exit_code, exit_status, wait.
constexpr std::uint32_t job_version = 12;

std::size_t round_up(std::size_t n, std::size_t to) {
    return (n + to - 1) / to * to;
}
}  // namespace

// The header, a report per rank, the barrier flags (one per rank and round, at least
// one), two value flags per rank, a sleeper count per flag (packed: only sleeping
// waiters write them), the pair rings' names (a flag per sender that made a ring, then
// a key per pair), the inboxes, and the scratch slots (two halves of a slot per rank).
JobSegment::Layout JobSegment::Layout::of(int size) {
    const auto n = std::size_t(size);
    Layout l{};
    l.rounds = barrier_rounds(size);
    l.reports = round_up(sizeof(JobHeader), 64);
    l.flags = l.reports + sizeof(RankReport) * n;
    l.value_flags = l.flags + sizeof(BarrierFlag) * n * std::size_t(std::max(1, l.rounds));
    l.sleepers = l.value_flags + sizeof(BarrierFlag) * 2 * n;
    const std::size_t flag_count = (l.sleepers - l.flags) / sizeof(BarrierFlag);
    l.ring_flags = round_up(l.sleepers + sizeof(std::atomic<std::uint32_t>) * flag_count, 64);
    l.ring_keys = round_up(l.ring_flags + sizeof(std::atomic<std::uint32_t>) * n, 64);
    l.inboxes = round_up(l.ring_keys + sizeof(std::atomic<std::uint64_t>) * n * n, 4096);
    l.scratch = round_up(l.inboxes + sizeof(Inbox) * n, 4096);
    l.scratch_slot = scratch_bytes_for(size);
    l.bytes = l.scratch + 2 * n * l.scratch_slot;
    return l;
}

int JobSegment::barrier_rounds(int size) {
    int rounds = 0;
    while ((1 << rounds) < size) ++rounds;
    return rounds;
}

std::size_t JobSegment::scratch_bytes_for(int size) {
    // Large enough that big collectives move in few pieces, small enough that a job of
    // 1024 ranks maps no more than 32 MiB of it (the segment is sparse until touched).
    return std::clamp<std::size_t>((std::size_t(16) << 20) / std::size_t(size), 16 << 10,
                                   512 << 10);
}

JobSegment::JobSegment(std::string name, std::shared_ptr<Mapping> mapping, int size)
    : name_(std::move(name)),
      mapping_(std::move(mapping)),
      base_(static_cast<char*>(mapping_->address())),
      size_(size),
      layout_(Layout::of(size)) {}

std::shared_ptr<JobSegment> JobSegment::create(int size) {
    return create(size, new_segment_name());
}

std::shared_ptr<JobSegment> JobSegment::create(int size, std::string name) {
    if (size < 1 || size > max_ranks)
        throw Error("a job has 1 to " + std::to_string(max_ranks) + " ranks, not " +
                    std::to_string(size));
    const std::size_t bytes = Layout::of(size).bytes;
    auto mapping = create_segment(name, bytes);
    // The mapping is zeroed memory; construct the header's objects in place.
    auto* header = new (mapping->address()) JobHeader{};
    header->size = size;
    header->bytes = bytes;
    header->cores = usable_cores();
    header->version = job_version;
    std::atomic_ref<std::uint64_t>(header->magic).store(job_magic, std::memory_order_release);
    return std::shared_ptr<JobSegment>(new JobSegment(std::move(name), std::move(mapping), size));
}

std::shared_ptr<JobSegment> JobSegment::attach(const std::string& name, int size) {
    auto mapping = open_segment(name);
    auto* header = static_cast<JobHeader*>(mapping->address());
    if (mapping->size() < sizeof(JobHeader) ||
        std::atomic_ref<std::uint64_t>(header->magic).load(std::memory_order_acquire) !=
            job_magic ||
        header->version != job_version)
        throw Error("shared memory '" + name + "' is not an spmd job of this version");
    if (header->size != size || mapping->size() < Layout::of(size).bytes)
        throw Error("job '" + name + "' has " + std::to_string(header->size) +
                    " ranks, but SPMD_SIZE says " + std::to_string(size));
    return std::shared_ptr<JobSegment>(new JobSegment(name, std::move(mapping), size));
}

void JobSegment::set_abort() {
    header().abort.store(1, std::memory_order_seq_cst);
    auto wake = [this](BarrierFlag& flag) {
        if (sleepers(flag).load(std::memory_order_seq_cst))
            futex_wake(flag.epoch, std::numeric_limits<int>::max());
    };
    for (int r = 0; r < size_; ++r) {
        for (int k = 0; k < layout_.rounds; ++k) wake(barrier_flag(r, k));
        wake(value_flag(r, 0));
        wake(value_flag(r, 1));
    }
}

void JobSegment::record_failure(int rank, FailureKind kind, const std::string& message,
                                int exit_code) {
    RankReport& slot = report(rank);
    std::uint32_t none = 0;
    // Claim the slot first so that a second failure of the same rank cannot tear it.
    if (!slot.kind.compare_exchange_strong(none, 0xffffffffu)) return;
    const std::size_t n = std::min(message.size(), sizeof slot.message - 1);
    std::memcpy(slot.message, message.data(), n);
    slot.message[n] = '\0';
    slot.exit_code = exit_code;
    slot.kind.store(static_cast<std::uint32_t>(kind), std::memory_order_release);
}

std::atomic<std::uint64_t>& JobSegment::ring_key(int sender, int receiver) const {
    return at<std::atomic<std::uint64_t>>(layout_.ring_keys)[sender * size_ + receiver];
}

std::atomic<std::uint32_t>& JobSegment::has_rings(int sender) const {
    return at<std::atomic<std::uint32_t>>(layout_.ring_flags)[sender];
}

std::string JobSegment::name_new_shared() {
    const std::uint64_t key = new_segment_key();
    header().shared_key.store(key, std::memory_order_release);
    return segment_name(name_, key);
}

std::string JobSegment::shared_segment_name() const {
    return segment_name(name_, header().shared_key.load(std::memory_order_acquire));
}

void JobSegment::forget_shared() {
    header().shared_key.store(0, std::memory_order_release);
}

std::string JobSegment::name_new_ring(int sender, int receiver) {
    const std::uint64_t key = new_segment_key();
    has_rings(sender).store(1, std::memory_order_relaxed);
    ring_key(sender, receiver).store(key, std::memory_order_release);
    return segment_name(name_, key);
}

std::string JobSegment::ring_name(int sender, int receiver) const {
    return segment_name(name_, ring_key(sender, receiver).load(std::memory_order_acquire));
}

void JobSegment::forget_ring(int sender, int receiver) {
    ring_key(sender, receiver).store(0, std::memory_order_release);
}

void JobSegment::remove_names() const {
    if (const std::uint64_t key = header().shared_key.load(std::memory_order_acquire))
        remove_segment(segment_name(name_, key));
    for (int sender = 0; sender < size(); ++sender) {
        if (!has_rings(sender).load(std::memory_order_acquire)) continue;
        for (int receiver = 0; receiver < size(); ++receiver)
            if (const std::uint64_t key =
                    ring_key(sender, receiver).load(std::memory_order_acquire))
                remove_segment(segment_name(name_, key));
    }
    remove_segment(name_);
}

}  // namespace spmd::detail
