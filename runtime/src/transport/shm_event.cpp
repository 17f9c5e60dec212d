#include <atomic>

#include "spmd/detail/job.hpp"
#include "spmd/detail/wait.hpp"
#include "spmd/event.hpp"

namespace spmd {

namespace detail {
static_assert(std::atomic<std::uint32_t>::is_always_lock_free,
              "events live in memory shared by processes: their atomics must be lock-free");

// All-zero bytes are a clear event that was never set: what World::shared hands out.
struct EventControl {
    // Bit 0: set. Bits 1..31: how many times set() turned it on, so that a waiter can
    // tell "was set since I looked" from the current bit alone being clear again.
    alignas(64) std::atomic<std::uint32_t> state{0};
    WaitWord changed;
};
}  // namespace detail

Event::Event(World& world, std::string_view name)
    : name_(name), abort_(&world.job().header().abort) {
    memory_ = world.shared<std::byte>("event '" + name_ + "'", sizeof(detail::EventControl));
    control_ = reinterpret_cast<detail::EventControl*>(memory_.data());
}

void Event::set() {
    std::uint32_t state = control_->state.load(std::memory_order_relaxed);
    do {
        if (state & 1u) return;  // already set: nothing to announce
    } while (!control_->state.compare_exchange_weak(state, (state + 2u) | 1u,
                                                    std::memory_order_acq_rel));
    control_->changed.notify_all();
}

void Event::clear() {
    control_->state.fetch_and(~1u, std::memory_order_acq_rel);
}

bool Event::is_set() const {
    return control_->state.load(std::memory_order_acquire) & 1u;
}

void Event::wait() {
    wait_ns(-1);
}

bool Event::wait_ns(long long timeout_ns) {
    const std::uint32_t start = control_->state.load(std::memory_order_acquire);
    if (start & 1u) return true;
    auto set_since_start = [&] {
        const std::uint32_t now = control_->state.load(std::memory_order_acquire);
        return (now & 1u) || (now >> 1) != (start >> 1);
    };
    const long deadline = timeout_ns < 0 ? -1 : long(detail::monotonic_ns() + timeout_ns);
    return control_->changed.wait(
        {*abort_, detail::WaitCall::event_wait, detail::any_peer, -1, name_.c_str()},
        set_since_start, deadline);
}

}  // namespace spmd
