// Every rank numbers the board's chunks alike (MPI orders a communicator's collectives,
// and a broadcast of b bytes is ceil(b / slot_bytes) chunks, at least one); chunk k uses
// slot k mod board_slots. The root writes the chunk, then the slot's sequence number k;
// the other ranks wait for k, copy the chunk out and mark that they have read k. Before
// writing a slot again the root waits until every rank has marked the chunk that last
// used it, board_slots chunks back: a per-rank mark of the last chunk read (or written),
// not a barrier, so a root that runs ahead waits only for ranks that far behind, and a
// small broadcast's root returns at once. Waits go through the engine's wait (progress
// on every poll, asleep on the rank's mail futex when long), so each side wakes the
// ranks that may sleep on its write.
// A large broadcast (smaller with no more ranks than cores) goes by single copy: chunk k
// carries no data but the address of root's buffer, each other rank reads it from there
// (process_vm_readv) while root writes the head of its buffer (the split copy), and root
// returns once every rank marked k. A rank that cannot read gets the value by a
// point-to-point message after that, and root takes the board from then on.
#include "bcast_board.hpp"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "spmd/detail/copy.hpp"
#include "spmd/detail/single_copy.hpp"
#include "spmd/detail/wait.hpp"
#include "spmd/shared_array.hpp"
#include "state.hpp"

namespace spmd::mpi {

namespace {

// Four slots of 64 KiB: a 1 MiB broadcast is 16 chunks, few enough hand-overs that
// their cache-line round trips cost little, and the slots stay in the cores' caches.
constexpr std::uint64_t board_slots = 4;
constexpr std::size_t slot_bytes = 64 << 10;

// From this size on, with no more ranks than cores, a broadcast goes by single copy:
// one copy of each byte instead of two. Measured at 2 ranks: even with the board at
// 16 KiB, faster from 24 KiB (README, "Running MPI programs").
constexpr std::size_t single_copy_bcast_bytes = 24 << 10;
// With more ranks than cores the readers take turns on the cores while root waits for
// all of them; that still beats the board's two copies from here on (measured at 4 and
// 8 ranks on 2 cores: slower at 64 KiB, as fast or faster from 256 KiB to 4 MiB).
constexpr std::size_t single_copy_bcast_crowded_bytes = 512 << 10;

// A small value shares the cache line of the number the others poll.
struct alignas(64) Slot {
    std::atomic<std::uint64_t> seq;  // the chunk the slot holds
    std::uint64_t total;             // the bytes of that chunk's broadcast
    std::uint64_t rest_by_scratch;   // the first chunk says: the rest goes by World's
    std::uint64_t root_buffer;       // non-zero: read the value there, in root's memory
    std::byte data[slot_bytes];
};
struct alignas(64) ReadMark {
    std::atomic<std::uint64_t> read;  // the last chunk this rank has copied out
    // A single-copy chunk k: 8 * k + a Stage while this rank offers root its buffer's
    // head; `refused` = k if it could not read root's buffer.
    std::atomic<std::uint64_t> split;
    std::atomic<std::uint64_t> refused;
    std::uint64_t buffer;  // where root writes the head
    std::uint64_t head;    // its bytes
};
// The stages of a split (ReadMark::split = 8 * chunk + stage).
enum Stage : std::uint64_t {
    offered = 1,    // the head waits for root
    writing = 2,    // root claimed it and writes it
    written = 3,    // root wrote it
    refused = 4,    // root could not write it: the reader reads it
    taken_back = 5  // the reader read it itself
};
static_assert(std::atomic<std::uint64_t>::is_always_lock_free,
              "the board's words are shared between processes");

struct Board {
    SharedArray<std::byte> memory;  // board_slots Slots, then a ReadMark per rank
    Slot* slots = nullptr;
    ReadMark* marks = nullptr;
    std::uint64_t chunks = 0;      // chunks through the board so far
    std::uint64_t all_read = 0;    // every rank has marked this chunk, as last seen
    bool readers_refused = false;  // a rank could not read this root's buffer: the board
};

// Made at the first broadcast (a collective call on every rank), so that programs that
// never broadcast pay nothing at MPI_Init. Zeroed: no slot holds a chunk yet.
Board& board() {
    static Board b;
    if (!b.slots) {
        const std::size_t bytes =
            board_slots * sizeof(Slot) + std::size_t(world().size()) * sizeof(ReadMark);
        b.memory = world().shared<std::byte>("spmd_mpi broadcast board", bytes);
        b.slots = reinterpret_cast<Slot*>(b.memory.data());
        b.marks = reinterpret_cast<ReadMark*>(b.memory.data() + board_slots * sizeof(Slot));
    }
    return b;
}

// Wakes `rank` if it sleeps in a wait (engine().wait_for sleeps on its mail word).
void wake(int rank) {
    world().job().inbox(rank).arrived.notify_all();
}

// Chunk k of the board: the slot it uses.
Slot& slot_of(Board& b, std::uint64_t k) {
    return b.slots[k % board_slots];
}

// Root's next chunk number, once the slot it uses is free: every rank has marked the
// chunk that used it last, board_slots chunks back.
std::uint64_t next_chunk_to_write(Board& b) {
    const std::uint64_t k = ++b.chunks;
    if (k > board_slots && b.all_read < k - board_slots) {
        // The lowest mark: it lets the next few chunks skip this look at every rank.
        engine().wait_for([&] {
            std::uint64_t lowest = k;
            for (int r = 0; r < world().size(); ++r)
                lowest = std::min(lowest, b.marks[r].read.load(std::memory_order_acquire));
            b.all_read = lowest;
            return lowest >= k - board_slots;
        });
    }
    return k;
}

// The head of a split: half, a multiple of 4 KiB, so with page-aligned buffers the two
// copies never pin the same page.
std::size_t head_of(std::size_t bytes) {
    return (bytes / 2) & ~std::size_t(4095);
}

// Root's side of a single-copy broadcast: publishes its buffer as chunk k, writes the
// head of each reader that offers it before reading it itself, and returns when every
// rank has marked k; then sends the value to the ranks that could not read it.
void write_single_copy(Board& b, const std::byte* data, std::size_t bytes, int root,
                       const Members& everyone) {
    const int n = world().size();
    const std::uint64_t k = next_chunk_to_write(b);
    Slot& slot = slot_of(b, k);
    slot.total = bytes;
    slot.rest_by_scratch = 0;
    slot.root_buffer = reinterpret_cast<std::uintptr_t>(data);
    slot.seq.store(k, std::memory_order_release);
    b.marks[root].read.store(k, std::memory_order_relaxed);
    for (int r = 0; r < n; ++r)
        if (r != root) wake(r);
    detail::JobSegment& job = world().job();
    // The wait's test writes the heads: a reader offers one only while it reads its tail,
    // so root copies at the same time (claimed once: a claimed head is no longer offered).
    engine().wait_for([&] {
        bool all_marked = true;
        for (int r = 0; r < n; ++r) {
            ReadMark& mark = b.marks[r];
            if (mark.read.load(std::memory_order_acquire) >= k) continue;
            all_marked = false;
            std::uint64_t state = 8 * k + offered;
            if (!mark.split.compare_exchange_strong(state, 8 * k + writing,
                                                    std::memory_order_acq_rel))
                continue;
            const bool done =
                detail::write_into(job.report(r).live_pid(), mark.buffer, data, mark.head);
            mark.split.store(8 * k + (done ? written : Stage::refused), std::memory_order_release);
        }
        return all_marked;
    });
    for (int r = 0; r < n; ++r)
        if (b.marks[r].refused.load(std::memory_order_acquire) == k) {
            b.readers_refused = true;
            coll_send(everyone, r, data, bytes);
        }
}

// A reader's side: reads root's buffer at `from`, the tail first while offering root the
// head; false if it could not read it all.
bool read_single_copy(ReadMark& mark, std::uint64_t k, int root, std::uint64_t from,
                      std::byte* data, std::size_t bytes) {
    detail::JobSegment& job = world().job();
    const pid_t pid = job.report(root).live_pid();
    const std::size_t head = head_of(bytes);
    mark.buffer = reinterpret_cast<std::uintptr_t>(data);
    mark.head = head;
    if (head) {
        mark.split.store(8 * k + offered, std::memory_order_seq_cst);
        wake(root);
    }
    const bool tail = detail::read_from(pid, from + head, data + head, bytes - head);
    if (!head) return tail;
    std::uint64_t state = 8 * k + offered;
    if (!mark.split.compare_exchange_strong(state, 8 * k + taken_back, std::memory_order_acq_rel))
        // Root writes the head: it is running (it claimed it a moment ago) and copies no
        // more than we did, so yield until it is done; a root that dies meanwhile ends
        // the wait, and the job.
        while ((state = mark.split.load(std::memory_order_acquire)) == 8 * k + writing) {
            if (job.header().abort.load(std::memory_order_relaxed)) detail::throw_aborted();
            if (job.report(root).live_pid() != pid) break;
            detail::yield_core();
        }
    if (state == 8 * k + written) return tail;
    mark.split.store(8 * k + taken_back, std::memory_order_release);  // a late root stays out
    return tail && detail::read_from(pid, from, data, head);
}

// Writes root's chunks; returns how many bytes it wrote, fewer than `bytes` when the rest
// goes by World's broadcast: with more ranks than cores the others copy out only when
// they get one, and a root 4 chunks ahead would wait for each of them in turn; World's
// broadcast hands all the rest over at once behind one barrier.
std::size_t write_chunks(Board& b, const std::byte* data, std::size_t bytes, int root) {
    const int n = world().size();
    const bool rest_by_scratch = bytes > slot_bytes && n > detail::wait_policy().cores;
    std::size_t done = 0;
    do {
        const std::size_t piece = std::min(slot_bytes, bytes - done);
        const std::uint64_t k = next_chunk_to_write(b);
        Slot& slot = slot_of(b, k);
        slot.total = bytes;
        slot.rest_by_scratch = rest_by_scratch;
        slot.root_buffer = 0;
        if (piece) detail::copy_bytes(slot.data, data + done, piece);
        slot.seq.store(k, std::memory_order_release);
        // Every rank's mark passes every chunk, so that a later root waits for no one
        // on the chunks this rank wrote.
        b.marks[root].read.store(k, std::memory_order_relaxed);
        for (int r = 0; r < n; ++r)
            if (r != root) wake(r);
        done += piece;
    } while (done < bytes && !rest_by_scratch);
    return done;
}

// Reads root's chunks; they follow root's count of bytes even when it differs from ours
// (nothing is copied then), so that the board's numbering stays the same on every rank;
// and so does the rest, if it goes by World's broadcast.
void read_chunks(Board& b, std::byte* data, std::size_t bytes, int root, const Members& everyone) {
    const int me = world().rank();
    std::size_t done = 0, total = 0;
    bool rest_by_scratch = false;
    do {
        const std::uint64_t k = ++b.chunks;
        Slot& slot = slot_of(b, k);
        engine().wait_for([&] { return slot.seq.load(std::memory_order_acquire) == k; });
        total = slot.total;
        rest_by_scratch = slot.rest_by_scratch != 0;
        if (const std::uint64_t from = slot.root_buffer) {
            ReadMark& mark = b.marks[me];
            const bool read = total == bytes && read_single_copy(mark, k, root, from, data, bytes);
            const bool unread = total == bytes && !read;
            if (unread) mark.refused.store(k, std::memory_order_relaxed);
            mark.read.store(k, std::memory_order_release);  // root's buffer may go
            wake(root);
            if (unread) coll_recv(everyone, root, data, bytes);
            break;
        }
        const std::size_t piece = std::min(slot_bytes, total - done);
        if (total == bytes && piece) detail::copy_bytes(data + done, slot.data, piece);
        b.marks[me].read.store(k, std::memory_order_release);
        wake(root);
        done += piece;
    } while (done < total && !rest_by_scratch);
    if (rest_by_scratch) {
        std::vector<std::byte> unused(total == bytes ? 0 : total - done);
        std::byte* rest = total == bytes ? data + done : unused.data();
        world().broadcast(std::span<std::byte>(rest, total - done), root);
    }
    if (total != bytes)
        fail(MPI_ERR_TRUNCATE, "the root broadcasts " + std::to_string(total) +
                                   " bytes but this rank expects " + std::to_string(bytes));
}

}  // namespace

bool board_usable() {
    return world().node().count == 1;
}

void board_bcast(void* data, std::size_t bytes, int root, const Members& everyone) {
    const int n = world().size();
    if (n == 1) return;  // the value is where it should be
    Board& b = board();
    if (world().rank() == root) {
        auto* from = static_cast<std::byte*>(data);
        // Root alone decides; the others follow what chunk k says.
        const bool crowded = n > detail::wait_policy().cores;
        if (bytes >= (crowded ? single_copy_bcast_crowded_bytes : single_copy_bcast_bytes) &&
            !b.readers_refused)
            return write_single_copy(b, from, bytes, root, everyone);
        const std::size_t done = write_chunks(b, from, bytes, root);
        if (done < bytes) world().broadcast(std::span<std::byte>(from + done, bytes - done), root);
    } else
        read_chunks(b, static_cast<std::byte*>(data), bytes, root, everyone);
}

}  // namespace spmd::mpi
