#include "spmd/detail/messenger.hpp"

#include <algorithm>
#include <cstring>
#include <optional>
#include <string>

#include "spmd/detail/copy.hpp"
#include "spmd/detail/single_copy.hpp"
#include "spmd/detail/trace.hpp"
#include "spmd/error.hpp"

namespace spmd::detail {

namespace {

constexpr std::uint64_t ring_slots = 8;
constexpr std::size_t ring_chunk = 128 << 10;

// Chunks of a bulk payload: small enough that copying in and copying out overlap
// even for a 64 KiB message, at most ring_chunk. Sender and receiver both derive it
// from the size alone.
std::size_t chunk_for(std::size_t bytes) {
    return std::clamp<std::size_t>((bytes / 4 + 4095) & ~std::size_t(4095), 16 << 10, ring_chunk);
}

struct RingLayout {
    WaitWord changed;
    struct alignas(64) Turn {
        std::atomic<std::uint64_t> value{0};
    } turn[ring_slots];
};
constexpr std::size_t ring_data_offset = (sizeof(RingLayout) + 4095) & ~std::size_t(4095);
constexpr std::size_t ring_bytes = ring_data_offset + ring_slots * ring_chunk;

// Moves one bulk payload through a pair ring, chunk by chunk. A slot's turn is even
// while it is free and odd while full: the sender (parity 0) waits for free slots and
// fills them, the receiver (parity 1) waits for full ones and empties them.
template <class Ring, class Copy>
void pump(Ring& ring, const WaitFor& what, std::size_t bytes, std::uint64_t parity, Copy&& copy) {
    auto& layout = ring.layout();
    const std::size_t chunk = chunk_for(bytes);
    for (std::size_t done = 0; done < bytes; done += chunk) {
        const std::uint64_t c = ring.chunks++;
        auto& turn = layout.turn[c % ring_slots].value;
        const std::uint64_t mine = 2 * (c / ring_slots) + parity;
        layout.changed.wait(what, [&] { return turn.load(std::memory_order_acquire) == mine; });
        copy(ring.slot(c), done, std::min(chunk, bytes - done));
        turn.store(mine + 1, std::memory_order_release);
        layout.changed.notify_all();
    }
}

// Where a split copy's receiver finds its half: the sender's buffer and the split.
struct SplitOffer {
    std::uint64_t address;
    std::uint64_t split;
};
static_assert(sizeof(SplitOffer) <= MessageCell::inline_capacity);

// The sender's half: a multiple of 4 KiB, so with page-aligned buffers the two sides never
// pin the same page.
std::size_t split_point(std::size_t bytes) {
    return (bytes / 2) & ~std::size_t(4095);
}

// Whether both ranks copy a message that goes by single copy: from split_copy_bytes on,
// but below split_crowded_bytes only while the receiver is awake and this rank polls (no
// more ranks awake than cores): the sender waits for the receiver's half, and a receiver
// woken from its futex (~30 us) or left without a core costs more than one write.
bool split_pays(const Inbox& inbox, std::size_t bytes) {
    if (bytes < split_copy_bytes) return false;
    if (bytes >= split_crowded_bytes) return true;
    return inbox.arrived.sleepers.load(std::memory_order_relaxed) == 0 &&
           wait_policy().budget() > 0;
}

bool matches(int want_source, int want_tag, int source, int tag) {
    return (want_source == any_source || want_source == source) &&
           (want_tag == any_tag ? tag >= 0 : want_tag == tag);
}

}  // namespace

// A ring of chunk slots in a segment shared by one (sender, receiver) pair. Each side
// counts chunks privately; chunk c goes to slot c % ring_slots in round c / ring_slots.
struct Messenger::PairRing {
    std::shared_ptr<Mapping> mapping;
    std::uint64_t chunks = 0;
    RingLayout& layout() const { return *static_cast<RingLayout*>(mapping->address()); }
    std::byte* slot(std::uint64_t chunk) const {
        return static_cast<std::byte*>(mapping->address()) + ring_data_offset +
               (chunk % ring_slots) * ring_chunk;
    }
};

Messenger::Messenger(JobSegment& job, int rank)
    : job_(job), rank_(rank), released_seen_(std::size_t(job.size()), 0) {
    allow_single_copy_from_siblings();
}
Messenger::~Messenger() {
    if (handed_back_ != next_ticket_) hand_back();
}

Messenger::PairRing& Messenger::outgoing(int dest) {
    auto& ring = out_rings_[dest];
    if (!ring) {
        ring = std::make_unique<PairRing>();
        ring->mapping = create_segment(job_.name_new_ring(rank_, dest), ring_bytes);
    }
    return *ring;
}

Messenger::PairRing& Messenger::incoming(int source) {
    auto& ring = in_rings_[source];
    if (!ring) {
        // Named before the envelope that announced it was sent.
        const std::string name = job_.ring_name(source, rank_);
        ring = std::make_unique<PairRing>();
        ring->mapping = open_segment(name);
        remove_segment(name);  // both sides map it now
        job_.forget_ring(source, rank_);
    }
    return *ring;
}

void Messenger::send(int dest, int tag, const void* data, std::size_t bytes, WaitCall call) {
    if (dest < 0 || dest >= job_.size())
        throw Error("send: no rank " + std::to_string(dest) + " in a world of " +
                    std::to_string(job_.size()));
    if (tag < 0 && call == WaitCall::send)
        throw Error("send: tags are >= 0, not " + std::to_string(tag));
    trace::Span trace_send(trace::Kind::send, dest, tag, bytes);
    const auto* bytes_in = static_cast<const std::byte*>(data);
    if (dest == rank_) {  // to itself: straight into the private list, never blocks
        unexpected_.push_back({{rank_, tag, bytes}, {bytes_in, bytes_in + bytes}});
        return;
    }
    const bool bulk = bytes > MessageCell::inline_capacity;
    if (bulk) outgoing(dest);  // the ring must exist before the envelope announces it

    Inbox& inbox = job_.inbox(dest);
    const std::uint64_t ticket = inbox.head.fetch_add(1, std::memory_order_relaxed);
    MessageCell& cell = inbox.cell[ticket % Inbox::cells];
    const std::uint64_t free_turn = 2 * (ticket / Inbox::cells);
    const WaitFor what{job_.header().abort, call, dest, tag};
    if (!known_free(dest, inbox, ticket))
        inbox.space.wait(what,
                         [&] { return cell.turn.load(std::memory_order_acquire) == free_turn; });
    std::uint32_t how = bulk ? 1 : 0;  // MessageCell::bulk
    const pid_t receiver = bulk ? posted_receiver(dest, inbox, ticket, tag, bytes) : 0;
    const std::uint64_t address = receiver ? inbox.posted.address : 0;  // after `waiting`
    if (receiver && split_pays(inbox, bytes))
        how = MessageCell::split;
    else if (receiver && write_into(receiver, address, bytes_in, bytes))
        how = 2;
    cell.source = rank_;
    cell.tag = tag;
    cell.size = bytes;
    cell.bulk = how;
    if (how == MessageCell::split) {  // where the receiver reads its half
        const SplitOffer offer{reinterpret_cast<std::uintptr_t>(bytes_in), split_point(bytes)};
        std::memcpy(cell.payload, &offer, sizeof offer);
    }
    if (!bulk && bytes) copy_bytes(cell.payload, bytes_in, bytes);
    cell.turn.store(free_turn + 1, std::memory_order_release);
    inbox.arrived.notify_all();
    if (handed_back_ != next_ticket_) hand_back();
    if (how == 1) stream_out(what, bytes_in, bytes);
    if (how == MessageCell::split) push_split(what, ticket, receiver, address, bytes_in, bytes);
}

// The single copy: only into a recv that waits for this very ticket (nothing can come
// before it) and takes this message, so the sender never waits long for a receiver busy
// elsewhere. The receiver's pid, or 0 if the payload takes the ring.
pid_t Messenger::posted_receiver(int dest, const Inbox& inbox, std::uint64_t ticket, int tag,
                                 std::size_t bytes) const {
    const PostedRecv& posted = inbox.posted;
    if (bytes < single_copy_bytes || !await_post(inbox, ticket)) return 0;
    if (!matches(posted.source, posted.tag, rank_, tag) || bytes > posted.capacity) return 0;
    return job_.report(dest).live_pid();  // a receiver that died in its recv left its post
}

// Whether the receiver posts a recv for `ticket`, waiting a little for it when it has read
// every earlier envelope and is awake: such a receiver is most likely on its way into
// that recv. In a ping-pong the reply often comes before the other rank has posted its
// next recv (after a split copy, whose receiver returns first, a sixth to a third of the
// replies at 64 KiB), and the ring it then takes costs about twice the single copy.
// MPI's rendezvous waits for the receiver all the way; this waits at most post_wait_ns
// (nearly every post that comes, comes within a few hundred nanoseconds).
bool Messenger::await_post(const Inbox& inbox, std::uint64_t ticket) const {
    const auto posted = [&] {
        return inbox.posted.waiting.load(std::memory_order_acquire) == ticket + 1;
    };
    if (posted()) return true;
    if (ticket > 0) {  // its cell is handed back once the receiver has read it
        const std::uint64_t before = ticket - 1;
        if (inbox.cell[before % Inbox::cells].turn.load(std::memory_order_acquire) <
            2 * (before / Inbox::cells + 1))
            return false;
    }
    // A receiver asleep (or, with more ranks than cores, one that may need our core).
    if (inbox.arrived.sleepers.load(std::memory_order_relaxed) != 0 || wait_policy().budget() == 0)
        return false;
    const long deadline = monotonic_ns() + post_wait_ns;
    for (unsigned i = 1;; ++i) {
        cpu_relax();
        if (posted()) return true;
        if (i % 8 == 0 && monotonic_ns() > deadline) return false;
    }
}

// A split copy: the sender writes [0, split) into the posted buffer while the receiver
// reads [split, size) from the sender's buffer. Each publishes whether its half went;
// both then stream the halves that did not through the pair ring, in order, so a refusal
// on either side (or both) still delivers the message. The sender returns only once the
// receiver is done with its buffer; a rank dying meanwhile ends the other's wait.
void Messenger::push_split(const WaitFor& what, std::uint64_t ticket, pid_t receiver,
                           std::uint64_t address, const std::byte* data, std::size_t bytes) {
    PostedRecv& posted = job_.inbox(what.peer).posted;
    const std::size_t split = split_point(bytes);
    const bool pushed = write_into(receiver, address, data, split);
    const std::uint64_t done = 2 * (ticket + 1);
    posted.pushed.store(done + !pushed, std::memory_order_release);
    posted.halves.notify_all();
    std::uint64_t pulled = 0;
    posted.halves.wait(
        what, [&] { return (pulled = posted.pulled.load(std::memory_order_acquire)) >= done; });
    if (!pushed) stream_out(what, data, split);
    if (pulled != done) stream_out(what, data + split, bytes - split);
}

void Messenger::pull_split(const WaitFor& what, std::uint64_t ticket, const MessageCell& cell,
                           std::byte* data) {
    PostedRecv& posted = job_.inbox(rank_).posted;
    SplitOffer offer;
    std::memcpy(&offer, cell.payload, sizeof offer);
    const std::size_t bytes = cell.size, split = offer.split;
    const bool pulled = read_from(job_.report(what.peer).live_pid(), offer.address + split,
                                  data + split, bytes - split);
    const std::uint64_t done = 2 * (ticket + 1);
    posted.pulled.store(done + !pulled, std::memory_order_release);
    posted.halves.notify_all();
    std::uint64_t pushed = 0;
    posted.halves.wait(
        what, [&] { return (pushed = posted.pushed.load(std::memory_order_acquire)) >= done; });
    if (pushed != done) stream_in(what, data, split);
    if (!pulled) stream_in(what, data + split, bytes - split);
}

namespace {
// Publishes a large recv's buffer while its rank waits for the next envelope, and takes
// it back however the wait ends.
class Posting {
public:
    Posting(PostedRecv& posted, std::uint64_t ticket, int source, int tag, void* data,
            std::size_t capacity)
        : posted_(capacity >= single_copy_bytes ? &posted : nullptr) {
        if (!posted_) return;
        posted_->source = source;
        posted_->tag = tag;
        posted_->address = reinterpret_cast<std::uintptr_t>(data);
        posted_->capacity = capacity;
        posted_->waiting.store(ticket + 1, std::memory_order_release);
    }
    ~Posting() {
        if (posted_) posted_->waiting.store(0, std::memory_order_relaxed);
    }
    Posting(const Posting&) = delete;
    Posting& operator=(const Posting&) = delete;

private:
    PostedRecv* posted_;
};
}  // namespace

void Messenger::stream_out(const WaitFor& what, const std::byte* data, std::size_t bytes) {
    pump(outgoing(what.peer), what, bytes, 0,
         [&](std::byte* slot, std::size_t at, std::size_t n) { copy_bytes(slot, data + at, n); });
}

void Messenger::stream_in(const WaitFor& what, std::byte* data, std::size_t bytes) {
    pump(incoming(what.peer), what, bytes, 1,
         [&](std::byte* slot, std::size_t at, std::size_t n) { copy_bytes(data + at, slot, n); });
}

MessageCell& Messenger::next_envelope(WaitCall call, int source, int tag) {
    Inbox& inbox = job_.inbox(rank_);
    MessageCell& cell = inbox.cell[next_ticket_ % Inbox::cells];
    const std::uint64_t full_turn = 2 * (next_ticket_ / Inbox::cells) + 1;
    WaitFor what{job_.header().abort, call, source, tag};
    what.announced = &inbox.head;
    what.next = next_ticket_;
    inbox.arrived.wait(what,
                       [&] { return cell.turn.load(std::memory_order_acquire) == full_turn; });
    return cell;
}

void Messenger::release() {
    ++next_ticket_;
    if (next_ticket_ - handed_back_ >= max_owed) return hand_back();
    auto& owed = owed_before_waiting;
    if (owed.owner != this) {
        owed.settle();
        owed = {[](void* self) { static_cast<Messenger*>(self)->hand_back(); }, this};
    }
}

bool Messenger::known_free(int dest, const Inbox& inbox, std::uint64_t ticket) {
    std::uint64_t& seen = released_seen_[std::size_t(dest)];
    if (ticket < seen + Inbox::cells) return true;
    seen = inbox.released.load(std::memory_order_acquire);
    return ticket < seen + Inbox::cells;
}

void Messenger::hand_back() {
    Inbox& inbox = job_.inbox(rank_);
    for (; handed_back_ < next_ticket_; ++handed_back_)
        inbox.cell[handed_back_ % Inbox::cells].turn.store(2 * (handed_back_ / Inbox::cells + 1),
                                                           std::memory_order_release);
    inbox.released.store(handed_back_, std::memory_order_release);
    inbox.space.notify_all();
    if (owed_before_waiting.owner == this) owed_before_waiting = {};
}

// Takes the envelope out of the inbox into the private list, with its whole payload:
// a bulk payload is drained from the ring at once, so later messages can flow.
Messenger::Stashed& Messenger::stash(MessageCell& cell, WaitCall call) {
    Stashed entry{{cell.source, cell.tag, cell.size}, std::vector<std::byte>(cell.size)};
    const bool bulk = cell.bulk;
    if (!bulk && cell.size) copy_bytes(entry.payload.data(), cell.payload, cell.size);
    release();
    if (bulk)
        stream_in({job_.header().abort, call, entry.status.source, entry.status.tag},
                  entry.payload.data(), entry.payload.size());
    unexpected_.push_back(std::move(entry));
    return unexpected_.back();
}

std::deque<Messenger::Stashed>::iterator Messenger::find_stashed(int source, int tag) {
    return std::find_if(unexpected_.begin(), unexpected_.end(), [&](const Stashed& s) {
        return matches(source, tag, s.status.source, s.status.tag);
    });
}

namespace {
[[noreturn]] void too_small(const Status& s, std::size_t capacity) {
    throw Error("recv: the message from rank " + std::to_string(s.source) + " with tag " +
                std::to_string(s.tag) + " has " + std::to_string(s.bytes) +
                " bytes, more than the buffer's " + std::to_string(capacity) +
                " (use probe or recv_vector to size it)");
}
void check_source(int source, int tag, int size, const char* what) {
    if (source != any_source && (source < 0 || source >= size))
        throw Error(std::string(what) + ": no rank " + std::to_string(source) + " in a world of " +
                    std::to_string(size));
    if (tag < any_tag)
        throw Error(std::string(what) + ": tags are >= 0 or any_tag, not " + std::to_string(tag));
}
// Messages to oneself are stashed as they are sent: none can still arrive.
[[noreturn]] void nothing_from_self(const char* what, int rank, int tag) {
    throw Error(std::string(what) + " from itself (rank " + std::to_string(rank) + ", " +
                (tag == any_tag ? std::string("any tag") : "tag " + std::to_string(tag)) +
                "), but this rank sent itself no such message");
}
}  // namespace

Status Messenger::recv(int source, int tag, void* data, std::size_t capacity, WaitCall call) {
    if (call == WaitCall::recv) check_source(source, tag, job_.size(), "recv");
    trace::Span trace_recv(trace::Kind::recv, source, tag, capacity);
    auto* out = static_cast<std::byte*>(data);
    if (auto it = find_stashed(source, tag); it != unexpected_.end()) {
        if (it->status.bytes > capacity) too_small(it->status, capacity);
        copy_bytes(out, it->payload.data(), it->payload.size());
        const Status status = it->status;
        unexpected_.erase(it);
        trace_recv.result(status.source, status.tag, status.bytes);
        return status;
    }
    if (source == rank_) nothing_from_self("recv", rank_, tag);
    for (;;) {
        std::optional<Posting> posting;
        posting.emplace(job_.inbox(rank_).posted, next_ticket_, source, tag, out, capacity);
        MessageCell& cell = next_envelope(call, source, tag);
        posting.reset();
        if (!matches(source, tag, cell.source, cell.tag) || cell.size > capacity) {
            const Stashed& kept = stash(cell, call);
            if (matches(source, tag, kept.status.source, kept.status.tag))
                too_small(kept.status, capacity);  // kept for a recv with room for it
            continue;
        }
        const Status status{cell.source, cell.tag, cell.size};
        const std::uint32_t how = cell.bulk;  // 2: already in `out`
        const WaitFor what{job_.header().abort, call, status.source, status.tag};
        if (how == 0 && cell.size) copy_bytes(out, cell.payload, cell.size);
        if (how == MessageCell::split)
            pull_split(what, next_ticket_, cell, out);  // before the cell is freed
        release();
        if (how == 1) stream_in(what, out, status.bytes);
        trace_recv.result(status.source, status.tag, status.bytes);
        return status;
    }
}

Status Messenger::probe(int source, int tag) {
    check_source(source, tag, job_.size(), "probe");
    if (auto it = find_stashed(source, tag); it != unexpected_.end()) return it->status;
    if (source == rank_) nothing_from_self("probe", rank_, tag);
    for (;;) {
        const Stashed& kept = stash(next_envelope(WaitCall::probe, source, tag), WaitCall::probe);
        if (matches(source, tag, kept.status.source, kept.status.tag)) return kept.status;
    }
}

// ---- Nonblocking pieces (see the header). A post takes a ticket only when the cell it
// names is free, with a compare-exchange on head, so it never waits behind a full inbox.
bool Messenger::try_post(int dest, int tag, const void* data, std::size_t bytes) {
    const bool bulk = is_bulk(bytes);
    if (bulk) outgoing(dest);  // the ring must exist before the envelope announces it
    return try_post_envelope(dest, tag, bytes, bulk, bulk ? nullptr : data, bulk ? 0 : bytes);
}

bool Messenger::try_post_pull(int dest, int tag, const void* data, std::size_t bytes,
                              std::uint64_t id) {
    outgoing(dest);
    const std::uint64_t address_and_id[2] = {reinterpret_cast<std::uintptr_t>(data), id};
    return try_post_envelope(dest, tag, bytes, MessageCell::pull, address_and_id,
                             sizeof address_and_id);
}

bool Messenger::try_post_envelope(int dest, int tag, std::size_t bytes, std::uint32_t how,
                                  const void* inline_data, std::size_t inline_bytes) {
    Inbox& inbox = job_.inbox(dest);
    std::uint64_t ticket = inbox.head.load(std::memory_order_relaxed);
    MessageCell* cell = nullptr;
    for (;;) {
        cell = &inbox.cell[ticket % Inbox::cells];
        if (!known_free(dest, inbox, ticket) &&
            cell->turn.load(std::memory_order_acquire) != 2 * (ticket / Inbox::cells))
            return false;
        if (inbox.head.compare_exchange_weak(ticket, ticket + 1, std::memory_order_relaxed)) break;
    }
    cell->source = rank_;
    cell->tag = tag;
    cell->size = bytes;
    cell->bulk = how;
    if (inline_bytes) copy_bytes(cell->payload, inline_data, inline_bytes);
    cell->turn.store(2 * (ticket / Inbox::cells) + 1, std::memory_order_release);
    inbox.arrived.notify_all();
    if (handed_back_ != next_ticket_) hand_back();
    return true;
}

namespace {
// One side of pump() without waiting: moves chunks while their slots are ready.
template <class Ring, class Copy>
std::size_t pump_ready(Ring& ring, std::size_t bytes, std::size_t done, std::uint64_t parity,
                       Copy&& copy) {
    auto& layout = ring.layout();
    const std::size_t chunk = chunk_for(bytes);
    while (done < bytes) {
        const std::uint64_t c = ring.chunks;
        auto& turn = layout.turn[c % ring_slots].value;
        const std::uint64_t mine = 2 * (c / ring_slots) + parity;
        if (turn.load(std::memory_order_acquire) != mine) break;
        const std::size_t n = std::min(chunk, bytes - done);
        copy(ring.slot(c), done, n);
        turn.store(mine + 1, std::memory_order_release);
        ++ring.chunks;
        done += n;
        layout.changed.notify_all();
    }
    return done;
}
}  // namespace

std::size_t Messenger::try_stream_out(int dest, const void* data, std::size_t bytes,
                                      std::size_t done) {
    const auto* in = static_cast<const std::byte*>(data);
    return pump_ready(
        outgoing(dest), bytes, done, 0,
        [&](std::byte* slot, std::size_t at, std::size_t n) { copy_bytes(slot, in + at, n); });
}

std::size_t Messenger::try_stream_in(int source, void* data, std::size_t bytes, std::size_t done) {
    auto* out = static_cast<std::byte*>(data);
    return pump_ready(
        incoming(source), bytes, done, 1,
        [&](std::byte* slot, std::size_t at, std::size_t n) { copy_bytes(out + at, slot, n); });
}

const MessageCell* Messenger::try_peek() {
    MessageCell& cell = job_.inbox(rank_).cell[next_ticket_ % Inbox::cells];
    const std::uint64_t full_turn = 2 * (next_ticket_ / Inbox::cells) + 1;
    return cell.turn.load(std::memory_order_acquire) == full_turn ? &cell : nullptr;
}

void Messenger::take(void* out) {
    MessageCell& cell = job_.inbox(rank_).cell[next_ticket_ % Inbox::cells];
    if (!cell.bulk && cell.size) copy_bytes(out, cell.payload, cell.size);
    release();
}

}  // namespace spmd::detail
