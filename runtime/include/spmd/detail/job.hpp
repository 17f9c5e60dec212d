// The job's control segment: one per job, created by the launcher (or by spmd::launch,
// or by a world of size 1) and attached by every rank. It holds the abort flag, each
// rank's failure report, the barrier flags and the schedule counters. Only offsets,
// never pointers, are stored inside, since each process maps it at its own address.
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "spmd/detail/segment.hpp"
#include "spmd/detail/wait.hpp"

namespace spmd::detail {

constexpr int max_ranks = 1024;
constexpr int schedule_slots = 8;  // loops that may be open at once

// One barrier flag, alone on its cache line so that a waiter spins on a line only its
// single signaller writes (local spinning: Mellor-Crummey and Scott 1991). A value flag
// (JobSegment::value_flag) carries a small value in the same line, so a reader gets the
// value with the epoch that publishes it in one cache-line hand-off. The count of its
// sleeping waiters lives apart (JobSegment::sleepers): a signaller reads it right after
// its store, and on the flag's own line that read waited for the line again (40 ns of a
// 280 ns barrier at N=2, measured).
struct alignas(64) BarrierFlag {
    std::atomic<std::uint32_t> epoch{0};  // the last barrier epoch signalled here
    // A value flag's value (barrier flags: unused), 8-byte aligned for the doubles and
    // 64-bit integers an all_reduce combines in place.
    alignas(8) std::byte value[56];
};
static_assert(sizeof(BarrierFlag) == 64, "a flag is one cache line");
static_assert(offsetof(BarrierFlag, value) % 8 == 0, "values are combined where they lie");

// `reported`: the rank said why itself (World::fail); the message is the user's line, as is.
// `peer_exited`: the rank waited for ranks that had exited (its message says so in full).
// `stopped`: the rank threw spmd::Aborted, so it only says the job was already failing.
enum class FailureKind : std::uint32_t {
    none = 0,
    exception = 1,
    abort = 2,
    reported = 3,
    peer_exited = 4,
    stopped = 5
};

enum class WorldState : std::uint32_t { none = 0, open = 1, closed = 2 };

// What a rank tells the launcher: whether its World is open (a rank that exits with
// its World open left peers that may wait for it), and why it fails.
struct alignas(64) RankReport {
    std::atomic<std::uint32_t> world{0};   // WorldState
    std::atomic<std::uint32_t> kind{0};    // FailureKind
    std::atomic<std::uint32_t> exited{0};  // set by the launcher once it reaped the rank
    std::atomic<std::int32_t> pid{0};
    std::int32_t exit_code = 0;                // the code World::fail exits with
    std::atomic<std::int32_t> exit_status{0};  // exit code, or -signal; before `exited`
    char message[1000] = {};
    WaitRecord wait;  // what the rank is blocked in, if it is

    // Its pid while it lives, else 0: a reaped rank's pid may be another process's, and
    // the single copy must never read or write one.
    std::int32_t live_pid() const {
        return exited.load(std::memory_order_acquire) ? 0 : pid.load(std::memory_order_relaxed);
    }
};

struct alignas(64) CounterSlot {
    std::atomic<std::uint64_t> word{0};
};

// One message envelope in a rank's inbox; small payloads travel inline. The payload
// starts in the envelope's own cache line, so a message of up to 32 bytes costs the
// receiver one line, the one it polls.
struct alignas(64) MessageCell {
    static constexpr std::size_t bytes = 2048;
    static constexpr std::size_t header_bytes = 32;
    static constexpr std::size_t inline_capacity = bytes - header_bytes;
    std::atomic<std::uint64_t> turn{0};  // 2 * round: free in that round; + 1: full
    std::int32_t source = 0;
    std::int32_t tag = 0;
    std::uint64_t size = 0;
    // 0: inline; 1: the payload follows through the sender's pair ring; 2 (delivered):
    // the sender already wrote it into the receiver's posted buffer (single_copy.hpp);
    // 3 (pull): it stays in the sender's memory at the address in `payload`, for the
    // receiver to read (Messenger::try_post_pull, the MPI engine's rendezvous);
    // 4 (split): the sender writes the head into the posted buffer while the receiver
    // reads the tail from the sender's buffer (a SplitOffer in `payload` says where).
    static constexpr std::uint32_t pull = 3, split = 4;
    std::uint32_t bulk = 0;
    alignas(header_bytes) std::byte payload[inline_capacity];
};
static_assert(sizeof(MessageCell) == MessageCell::bytes);
static_assert(offsetof(MessageCell, payload) == MessageCell::header_bytes,
              "a small payload shares the cache line of the envelope");

// A large recv the inbox's owner is blocked in: the sender that holds ticket
// `waiting - 1` may write a matching payload straight into `address`. The owner writes
// the fields, then `waiting`; they stay until that ticket's envelope arrives.
struct alignas(64) PostedRecv {
    std::atomic<std::uint64_t> waiting{0};  // ticket + 1; 0: none posted
    std::int32_t source = 0;                // or any_source
    std::int32_t tag = 0;                   // or any_tag
    std::uint64_t address = 0;
    std::uint64_t capacity = 0;
    // A split copy's two halves: 2 * (ticket + 1), + 1 if that half could not be moved
    // by single copy (it then follows through the ring). `pushed` is the sender's,
    // `pulled` the receiver's; both sides wait on `halves` for the other's.
    std::atomic<std::uint64_t> pushed{0};
    std::atomic<std::uint64_t> pulled{0};
    WaitWord halves;
};

// The MPI engine's split copy of a pulled send (runtime/mpi/src/split.cpp): the inbox's
// owner, reading a large payload from `sender`, offers it the head of the receive buffer
// and reads the tail; the sender, if it is waiting in MPI, claims the head and writes it.
// state = 8 * round + stage (split.cpp names the stages); the other fields are written by
// the owner before it stores an offer's state and stay until the round ends.
struct alignas(64) PullSplit {
    std::atomic<std::uint64_t> state{0};
    std::atomic<std::int32_t> sender{0};
    std::atomic<std::uint64_t> id{0}, address{0}, head{0};
};

// A rank's inbox: a bounded multi-producer, single-consumer ring of envelopes. Senders
// take tickets from `head`; the owner consumes in ticket order with a private counter.
struct Inbox {
    static constexpr std::uint64_t cells = 64;
    alignas(64) std::atomic<std::uint64_t> head{0};
    // Tickets below it are read and their cells handed back (each cell's turn says so
    // too). A sender that saw it recently knows the next cells are free without reading
    // them, so its first touch of a cell's line is the store that fills it.
    alignas(64) std::atomic<std::uint64_t> released{0};
    WaitWord arrived;  // the owner sleeps here for mail
    WaitWord space;    // senders sleep here for a free cell
    PostedRecv posted;
    PullSplit pull_split;
    MessageCell cell[cells];
};

struct JobHeader {
    std::uint64_t magic;
    std::uint32_t version;
    std::int32_t size;
    std::uint64_t bytes;
    alignas(64) std::atomic<std::uint32_t> abort{0};  // non-zero once the job is failing
    std::atomic<std::uint32_t> aborted_by{0};         // rank + 1 of World::abort's (fail's) caller
    CounterSlot schedule[schedule_slots];
    // Rank 0 publishes the arguments of a collective shared() here for the others to check.
    alignas(64) char shared_name[128] = {};
    std::uint64_t shared_bytes = 0;
    std::atomic<std::uint64_t> shared_key{0};  // its segment's random key (0: none now)
    // Ranks asleep in a wait's last stage (SlowWait): the rest may want a core (wait.hpp).
    alignas(64) std::atomic<std::uint32_t> asleep{0};
    // The cores the job's ranks share, for the wait policy: counted by the job's creator
    // before any rank is bound (under `--bind-to core` each rank's own mask has one core).
    std::int32_t cores = 1;
};

static_assert(std::atomic<std::uint32_t>::is_always_lock_free &&
                  std::atomic<std::uint64_t>::is_always_lock_free,
              "the control segment relies on lock-free atomics shared between processes");

class JobSegment {
public:
    // A new job of `size` ranks under a fresh name (exclusive, mode 0600).
    static std::shared_ptr<JobSegment> create(int size);
    static std::shared_ptr<JobSegment> create(int size, std::string name);
    // The job `name`, checked to be a job of `size` ranks.
    static std::shared_ptr<JobSegment> attach(const std::string& name, int size);

    const std::string& name() const { return name_; }
    int size() const { return size_; }
    JobHeader& header() const { return *at<JobHeader>(0); }
    RankReport& report(int rank) const { return at<RankReport>(layout_.reports)[rank]; }
    Inbox& inbox(int rank) const { return at<Inbox>(layout_.inboxes)[rank]; }
    // Collective scratch: two halves (alternate collectives use alternate halves, so a
    // rank may write the next one while slow peers still read this one) of one
    // scratch_bytes() slot per rank.
    std::byte* scratch(int half, int rank) const {
        return at<std::byte>(layout_.scratch) +
               (std::size_t(half) * std::size_t(size_) + std::size_t(rank)) * layout_.scratch_slot;
    }
    std::size_t scratch_bytes() const { return layout_.scratch_slot; }
    static std::size_t scratch_bytes_for(int size);
    BarrierFlag& barrier_flag(int rank, int round) const {
        return at<BarrierFlag>(layout_.flags)[rank * layout_.rounds + round];
    }
    static int barrier_rounds(int size);  // ceil(log2 size)
    // Rank's value flags: collectives of small values alternate between the two, as the
    // scratch halves do (shm_value_reduce.cpp).
    BarrierFlag& value_flag(int rank, int parity) const {
        return at<BarrierFlag>(layout_.value_flags)[2 * rank + parity];
    }
    // The waiters asleep (futex) on a barrier or value flag's epoch.
    std::atomic<std::uint32_t>& sleepers(const BarrierFlag& flag) const {
        return at<std::atomic<std::uint32_t>>(
            layout_.sleepers)[&flag - at<BarrierFlag>(layout_.flags)];
    }

    bool aborted() const { return header().abort.load(std::memory_order_relaxed) != 0; }
    // Marks the job as failing and wakes every rank asleep in a wait.
    void set_abort();
    // Records why `rank` fails, for the launcher's report (first report wins).
    void record_failure(int rank, FailureKind kind, const std::string& message, int exit_code = 1);
    // The job's other segments get random names from their creators, recorded here
    // before they are created, so that peers find them and remove_names() finds all.
    // A collective shared array (rank 0 names it, the others read the name):
    std::string name_new_shared();
    std::string shared_segment_name() const;
    void forget_shared();  // its name is removed
    // The pair ring from `sender` to `receiver` (the sender names it):
    std::string name_new_ring(int sender, int receiver);
    std::string ring_name(int sender, int receiver) const;
    void forget_ring(int sender, int receiver);  // its name is removed

    // Removes the control segment's name and every segment of the job.
    void remove_names() const;

private:
    // Where each part of a job's segment starts, from its size: computed once per
    // process, since ranks look up inboxes and flags on every poll of a wait.
    struct Layout {
        std::size_t reports, flags, value_flags, sleepers, ring_flags, ring_keys, inboxes, scratch,
            scratch_slot, bytes;
        int rounds;
        static Layout of(int size);
    };
    JobSegment(std::string name, std::shared_ptr<Mapping> mapping, int size);
    template <class T>
    T* at(std::size_t offset) const {
        return reinterpret_cast<T*>(base_ + offset);
    }
    std::atomic<std::uint64_t>& ring_key(int sender, int receiver) const;
    std::atomic<std::uint32_t>& has_rings(int sender) const;
    std::string name_;
    std::shared_ptr<Mapping> mapping_;
    char* base_;  // mapping_'s address in this process
    int size_;
    Layout layout_;
};

// Removes a job's segment names on every way out of a scope, exceptions included.
struct RemoveNamesAtExit {
    const JobSegment& job;
    ~RemoveNamesAtExit() { job.remove_names(); }
};

}  // namespace spmd::detail
