#include "mpi_home_window.hpp"
#include "spmd/detail/remote_event.hpp"
#include "spmd/error.hpp"

namespace spmd::detail {

namespace {
enum EventWord : std::size_t { state = 0, event_words = 1 };
enum LockWord : std::size_t { owner_word = 0, lock_words = 1 };
// Set in the owner word when its holder destroyed the lock (or left main) holding it.
constexpr std::uint64_t left_bit = std::uint64_t(1) << 32;
}  // namespace

RemoteEvent::RemoteEvent(std::string_view name)
    : name_(name), window_(std::make_unique<HomeWindow>("event '" + name_ + "'", event_words)) {}

RemoteEvent::~RemoteEvent() = default;

// The state word: bit 0 is "set"; the bits above count the times set() turned it on, so a
// waiter tells "was set since I looked" from the bit alone being clear again.
void RemoteEvent::set() {
    std::uint64_t s = window_->load(state);
    while ((s & 1u) == 0)
        if (window_->compare_exchange(state, s, (s + 2u) | 1u)) return;
}

void RemoteEvent::clear() {
    window_->fetch_and(state, ~std::uint64_t(1));
}

bool RemoteEvent::is_set() {
    return window_->load(state) & 1u;
}

bool RemoteEvent::wait_ns(long long timeout_ns) {
    const std::uint64_t start = window_->load(state);
    if (start & 1u) return true;
    const long deadline = timeout_ns < 0 ? -1 : monotonic_now_ns() + long(timeout_ns);
    return poll_until(
        [&] {
            const std::uint64_t now = window_->load(state);
            return (now & 1u) || (now >> 1) != (start >> 1);
        },
        deadline);
}

RemoteLock::RemoteLock(std::string_view name)
    : name_(name), window_(std::make_unique<HomeWindow>("lock '" + name_ + "'", lock_words)) {
    me_ = std::uint64_t(window_->rank()) + 1;
}

RemoteLock::~RemoteLock() {
    std::uint64_t mine = me_;
    window_->compare_exchange(owner_word, mine, me_ | left_bit);
}

bool RemoteLock::try_lock() {
    std::uint64_t free = 0;
    return window_->compare_exchange(owner_word, free, me_);
}

void RemoteLock::lock() {
    std::uint64_t seen = 0;
    if (window_->compare_exchange(owner_word, seen, me_)) return;
    if (seen == me_)
        throw Error("lock '" + name_ + "' is already held by this rank (rank " +
                    std::to_string(me_ - 1) + "); spmd::Lock is not recursive");
    poll_until([&] {
        if (seen & left_bit)
            throw Error("lock '" + name_ + "' was held by rank " +
                        std::to_string((seen & ~left_bit) - 1) +
                        ", which exited without unlocking");
        seen = 0;
        return window_->compare_exchange(owner_word, seen, me_);
    });
}

void RemoteLock::unlock() {
    std::uint64_t held = me_;
    if (!window_->compare_exchange(owner_word, held, 0))
        throw Error(
            "unlock of lock '" + name_ + "' by rank " + std::to_string(me_ - 1) +
            ", which does not hold it (" +
            (held ? "rank " + std::to_string((held & ~left_bit) - 1) + " does" : "nobody does") +
            ")");
}

int RemoteLock::owner() {
    return int(window_->load(owner_word) & ~left_bit) - 1;
}

}  // namespace spmd::detail
