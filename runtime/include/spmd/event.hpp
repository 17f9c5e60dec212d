// spmd::Event: a flag that every rank of a job can set, clear and wait for, like Python's
// multiprocessing.Event. Made collectively by name: `spmd::Event ready(world, "ready");`,
// then `ready.set()` on one rank and `ready.wait()` or `ready.wait_for(1s)` on others.
#pragma once
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "spmd/shared_array.hpp"
#include "spmd/world.hpp"

namespace spmd {

namespace detail {
struct EventControl;
class RemoteEvent;  // the MPI transport's storage (detail/remote_event.hpp)
}  // namespace detail

class Event {
public:
    // Collective (every rank, same name, in the order of its other collective calls).
    // Starts clear.
    Event(World& world, std::string_view name);

    void set();  // wakes every waiter
    void clear();
    bool is_set() const;

    // Returns once the event is set, or was set at any moment since the call began (a
    // set() that a clear() undid at once still releases the waiter, as in Python).
    // Throws spmd::Aborted if the job fails meanwhile.
    void wait();
    // As wait(), but gives up after `timeout`: true if the event was set, false on timeout.
    template <class Rep, class Period>
    bool wait_for(const std::chrono::duration<Rep, Period>& timeout) {
        // Clamp before the cast: hours::max() in nanoseconds would overflow.
        if (timeout >= std::chrono::hours(24 * 365 * 100)) return wait_ns(-1);
        if (timeout <= timeout.zero()) return wait_ns(0);
        return wait_ns(std::chrono::ceil<std::chrono::nanoseconds>(timeout).count());
    }

    const std::string& name() const { return name_; }

private:
    bool wait_ns(long long timeout_ns);  // negative: no timeout

    std::string name_;
#if defined(SPMD_TRANSPORT_MPI)
    std::shared_ptr<detail::RemoteEvent> remote_;  // one word in rank 0's memory
#else
    const std::atomic<std::uint32_t>* abort_;
    SharedArray<std::byte> memory_;
    detail::EventControl* control_;
#endif
};

}  // namespace spmd
