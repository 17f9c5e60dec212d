#include <cstring>
#include <limits>

#include "mpi_home_window.hpp"
#include "spmd/detail/remote_queue.hpp"
#include "spmd/error.hpp"

namespace spmd::detail {

namespace {

// The window's words. Slots start on their own 64-byte line.
enum Word : std::size_t {
    head = 0,        // push tickets taken; closed_bit once close() ran
    tail = 1,        // pop tickets taken
    unfinished = 2,  // pushed, not yet task_done()
    frozen = 3,      // 0 while open; then 1 + the push tickets taken before close()
    departed = 4,    // ranks whose handle is gone (destroyed, or left main)
    first_slot = 8,
};
constexpr std::uint64_t closed_bit = std::uint64_t(1) << 63;

}  // namespace

RemoteQueue::RemoteQueue(std::string_view name, std::size_t capacity, std::size_t item_bytes)
    : name_(name), capacity_(capacity), item_bytes_(item_bytes), item_words_((item_bytes + 7) / 8) {
    if (capacity == 0)
        throw UsageError("queue '" + name_ + "' needs a capacity of at least 1 item");
    if (capacity > (std::size_t(std::numeric_limits<int>::max()) - first_slot) / (1 + item_words_))
        throw UsageError("queue '" + name_ + "' of " + std::to_string(capacity) +
                         " items is too large");
    window_ = std::make_unique<HomeWindow>("queue '" + name_ + "'",
                                           first_slot + capacity * (1 + item_words_));
    scratch_ = std::make_unique<std::uint64_t[]>(1 + item_words_);
}

RemoteQueue::~RemoteQueue() {
    window_->add(departed, 1);
    window_->flush();
}  // then the window is freed, with every rank

std::size_t RemoteQueue::slot_word(std::uint64_t ticket) const {
    return first_slot + std::size_t(ticket % capacity_) * (1 + item_words_);
}

// Slot of ticket t, lap L = t / capacity: turn 2L is free for lap L's push, 2L+1 holds lap
// L's item, and the pop sets 2(L+1).
std::uint64_t RemoteQueue::turn_of(std::uint64_t ticket) const {
    return 2 * (ticket / capacity_);
}

void RemoteQueue::throw_closed() const {
    throw Error("push to queue '" + name_ + "' after it was closed");
}

// A wait that no rank can end any more: every other rank has destroyed its handle.
void RemoteQueue::check_peers(const char* call) {
    const std::uint64_t gone = window_->load(departed);
    if (gone + 1 < std::uint64_t(window_->size())) return;
    throw PeerExited("queue '" + name_ + "': rank " + std::to_string(window_->rank()) +
                     " waits in " + call +
                     (window_->size() == 1 ? ", and there is no other rank"
                                           : ", and every other rank has left the queue"));
}

namespace {

// Polls ready(); every 64th round also asks whether anyone is left to make it true. A
// rank's last changes reach the home before its departure does, so ready() is asked
// again after a departure is seen.
template <class Ready, class Peers>
void wait_for(Ready&& ready, Peers&& check_peers) {
    unsigned round = 0;
    for (;;) {
        if (ready()) return;
        if (round % 64 == 63) {
            try {
                check_peers();
            } catch (...) {
                if (ready()) return;
                throw;
            }
        }
        back_off(round);
    }
}

}  // namespace

void RemoteQueue::publish(std::uint64_t ticket, const void* item) {
    const std::size_t slot = slot_word(ticket);
    scratch_[item_words_] = 0;  // the padding of a last, partial word
    std::memcpy(scratch_.get() + 1, item, item_bytes_);
    // One flush for all three, applied in this order: the item, the count join() waits
    // on, then the turn that lets a consumer take it.
    window_->put_words(slot + 1, scratch_.get() + 1, item_words_);
    window_->add(unfinished, 1);
    window_->store_later(slot, turn_of(ticket) + 1);
    window_->flush();
}

void RemoteQueue::release(std::uint64_t ticket) {
    window_->store(slot_word(ticket), turn_of(ticket) + 2);
}

void RemoteQueue::push(const void* item) {
    // A ticket taken after close() carries closed_bit: that push fails and its ticket is
    // never served (pops compare against `frozen`, not head).
    const std::uint64_t t = window_->fetch_add(head, 1);
    if (t & closed_bit) throw_closed();
    const std::size_t slot = slot_word(t);
    const std::uint64_t free_turn = turn_of(t);
    wait_for([&] { return window_->load(slot) == free_turn; }, [&] { check_peers("push"); });
    publish(t, item);
}

bool RemoteQueue::try_push(const void* item) {
    std::uint64_t h = window_->load(head);
    for (;;) {
        if (h & closed_bit) throw_closed();
        if (window_->load(slot_word(h)) == turn_of(h)) {
            if (window_->compare_exchange(head, h, h + 1)) {
                publish(h, item);
                return true;
            }
        } else {
            const std::uint64_t seen = h;
            h = window_->load(head);
            if (h == seen) return false;  // full
        }
    }
}

bool RemoteQueue::pop(void* item) {
    const std::uint64_t t = window_->fetch_add(tail, 1);
    const std::size_t slot = slot_word(t);
    const std::uint64_t full_turn = turn_of(t) + 1;
    bool drained = false;
    std::uint64_t closed_count = 0;
    auto ready = [&] {
        // Turn, item and close state in one round trip; the item counts only if the turn,
        // read before it, says it is there.
        window_->get_words(slot, scratch_.get(), 1 + item_words_);
        window_->get_words(frozen, &closed_count, 1);
        window_->flush();
        if (scratch_[0] == full_turn) return true;
        if (closed_count != 0 && t >= closed_count - 1) drained = true;
        return drained;
    };
    wait_for(ready, [&] { check_peers("pop"); });
    if (drained) return false;
    std::memcpy(item, scratch_.get() + 1, item_bytes_);
    release(t);
    return true;
}

bool RemoteQueue::try_pop(void* item) {
    std::uint64_t t = window_->load(tail);
    for (;;) {
        if (window_->load(slot_word(t)) == turn_of(t) + 1) {
            if (window_->compare_exchange(tail, t, t + 1)) {
                window_->get_words(slot_word(t) + 1, scratch_.get() + 1, item_words_);
                window_->flush();
                std::memcpy(item, scratch_.get() + 1, item_bytes_);
                release(t);
                return true;
            }
        } else {
            const std::uint64_t seen = t;
            t = window_->load(tail);
            if (t == seen) return false;
        }
    }
}

void RemoteQueue::close() {
    const std::uint64_t before = window_->fetch_or(head, closed_bit);
    if ((before & closed_bit) == 0) {
        window_->store(frozen, before + 1);
        return;
    }
    // Another rank closed it first: return once its count is published.
    poll_until([&] { return window_->load(frozen) != 0; });
}

bool RemoteQueue::closed() {
    return window_->load(frozen) != 0;
}

void RemoteQueue::task_done() {
    std::uint64_t left = window_->load(unfinished);
    do {
        if (left == 0)
            throw Error("task_done() on queue '" + name_ +
                        "' called more times than items were pushed");
    } while (!window_->compare_exchange(unfinished, left, left - 1));
}

void RemoteQueue::join() {
    wait_for([&] { return window_->load(unfinished) == 0; }, [&] { check_peers("join"); });
}

std::size_t RemoteQueue::size_hint() {
    const std::uint64_t h = window_->load(head) & ~closed_bit;
    const std::uint64_t t = window_->load(tail);
    return h > t ? std::size_t(h - t) : 0;
}

}  // namespace spmd::detail
