// spmd::Queue<T>: a bounded multi-producer multi-consumer queue in the job's shared memory,
// made collectively by name: `spmd::Queue<Job> jobs(world, "jobs", 1024);`. A ticketed ring
// after Vyukov's bounded MPMC queue, laid out as rigtorp/MPMCQueue does (a turn counter per
// cache-line slot); close() and task_done()/join() follow Python's JoinableQueue.
//
//   producer: jobs.push(job); ... jobs.close();      // items pushed before close still drain
//   consumer: while (auto job = jobs.pop()) { work(*job); jobs.task_done(); }
//   anyone  : jobs.join();                            // every pushed item marked done
#pragma once
#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

#include "spmd/detail/copy.hpp"
#include "spmd/detail/job.hpp"
#include "spmd/detail/trace.hpp"
#include "spmd/detail/wait.hpp"
#include "spmd/error.hpp"
#include "spmd/world.hpp"

#if defined(SPMD_TRANSPORT_MPI)
#include "spmd/detail/queue_mpi.hpp"  // the same API, over rank 0's memory across hosts
#else
namespace spmd {

namespace detail {

static_assert(std::atomic<std::uint64_t>::is_always_lock_free &&
                  std::atomic<std::uint32_t>::is_always_lock_free,
              "queues live in memory shared by processes: their atomics must be lock-free");

// The queue's counters, each on its own cache line (producers hammer head, consumers
// tail). All-zero bytes are an empty, open queue, which is what World::shared hands out.
struct QueueControl {
    static constexpr std::uint64_t closed_bit = std::uint64_t(1) << 63;
    // Push tickets taken, with closed_bit once close() ran. Push takes tickets by CAS, so
    // the count freezes at close: it is the number of items the queue will ever deliver.
    alignas(64) std::atomic<std::uint64_t> head{0};
    alignas(64) std::atomic<std::uint64_t> tail{0};        // pop tickets taken
    alignas(64) std::atomic<std::uint64_t> unfinished{0};  // pushed, not yet task_done()
    // Set after closed_bit, on a line nobody writes twice: consumers poll it, not head.
    alignas(64) std::atomic<std::uint32_t> closed{0};
    WaitWord not_empty;  // a slot's turn became "full"
    WaitWord not_full;   // a slot's turn became "free"
    WaitWord all_done;   // unfinished reached 0
};

}  // namespace detail

// Bounded MPMC queue of trivially copyable T. Blocking calls throw spmd::Aborted once the
// job fails, so a dead peer never leaves a rank waiting. pop()/try_pop() return
// std::optional<T>: pop() gives nullopt only when the queue is closed and drained;
// try_pop() gives nullopt when no item is ready now (check closed() to tell the two apart).
template <class T>
class Queue {
    static_assert(std::is_trivially_copyable_v<T>,
                  "Queue<T> copies items as raw bytes between processes: T must be trivially "
                  "copyable (no pointers into a process's own memory, no std::string)");

    // Slot of ticket t, lap L = t / capacity: turn 2L means free for lap L's push, 2L+1
    // holds lap L's item; the pop sets 2(L+1). Starts at 0: free for lap 0. 32 bits wrap
    // harmlessly (turns are only compared for equality, 2^31 laps apart at the least).
    struct alignas(64) Slot {
        std::atomic<std::uint32_t> turn;
        alignas(T) unsigned char item[sizeof(T)];
    };

public:
    // Collective (every rank, same name and capacity, in the order of its other collective
    // calls). capacity >= 1 items, else spmd::UsageError.
    Queue(World& world, std::string_view name, std::size_t capacity)
        : name_(name), capacity_(capacity), abort_(&world.job().header().abort) {
        if (capacity == 0)
            throw UsageError("queue '" + name_ + "' needs a capacity of at least 1 item");
        if (capacity >
            (std::numeric_limits<std::size_t>::max() - sizeof(detail::QueueControl)) / sizeof(Slot))
            throw UsageError("queue '" + name_ + "' of " + std::to_string(capacity) +
                             " items is too large");
        memory_ = world.shared<std::byte>("queue '" + name_ + "'",
                                          sizeof(detail::QueueControl) + capacity * sizeof(Slot));
        control_ = reinterpret_cast<detail::QueueControl*>(memory_.data());
        slots_ = reinterpret_cast<Slot*>(memory_.data() + sizeof(detail::QueueControl));
    }

    // Blocks while the queue is full. Throws spmd::Error if the queue is closed.
    void push(const T& value) {
        detail::trace::Span trace(detail::trace::Kind::queue_push, -1, -1, sizeof(T));
        const std::uint64_t t = take_push_ticket();
        Slot& slot = slot_of(t);
        const std::uint32_t free_turn = turn_of(t);
        if (slot.turn.load(std::memory_order_acquire) != free_turn)
            control_->not_full.wait(waiting_in(detail::WaitCall::push), [&] {
                return slot.turn.load(std::memory_order_acquire) == free_turn;
            });
        publish(slot, free_turn, value);
    }

    // Pushes unless the queue is full (false). Throws spmd::Error if the queue is closed.
    [[nodiscard]] bool try_push(const T& value) {
        std::uint64_t h = control_->head.load(std::memory_order_acquire);
        for (;;) {
            if (h & detail::QueueControl::closed_bit) throw_closed();
            Slot& slot = slot_of(h);
            if (slot.turn.load(std::memory_order_acquire) == turn_of(h)) {
                if (control_->head.compare_exchange_weak(h, h + 1, std::memory_order_acq_rel)) {
                    control_->unfinished.fetch_add(1, std::memory_order_relaxed);
                    publish(slot, turn_of(h), value);
                    return true;
                }
            } else {
                // The slot is still full: the queue is full unless head moved meanwhile.
                const std::uint64_t seen = h;
                h = control_->head.load(std::memory_order_acquire);
                if (h == seen) return false;
            }
        }
    }

    // The next item; blocks while the queue is empty and open. nullopt once the queue is
    // closed and every item pushed before close() has been popped.
    std::optional<T> pop() {
        detail::trace::Span trace(detail::trace::Kind::queue_pop, -1, -1, sizeof(T));
        // A ticket is a promise: item t arrives unless t >= the count frozen by close().
        const std::uint64_t t = control_->tail.fetch_add(1, std::memory_order_acq_rel);
        Slot& slot = slot_of(t);
        const std::uint32_t full_turn = turn_of(t) + 1;
        bool drained = false;
        auto ready = [&] {
            if (slot.turn.load(std::memory_order_acquire) == full_turn) return true;
            if (control_->closed.load(std::memory_order_acquire) == 0) return false;
            const std::uint64_t h = control_->head.load(std::memory_order_acquire);
            if (t < (h & ~detail::QueueControl::closed_bit)) return false;  // still coming
            drained = true;
            return true;
        };
        if (!ready()) control_->not_empty.wait(waiting_in(detail::WaitCall::pop), ready);
        if (drained) {
            trace.set_detail(1);
            return std::nullopt;
        }
        return take(slot, full_turn);
    }

    // The next item if one is ready now, else nullopt (empty, or closed and drained).
    [[nodiscard]] std::optional<T> try_pop() {
        std::uint64_t t = control_->tail.load(std::memory_order_acquire);
        for (;;) {
            Slot& slot = slot_of(t);
            if (slot.turn.load(std::memory_order_acquire) == turn_of(t) + 1) {
                if (control_->tail.compare_exchange_weak(t, t + 1, std::memory_order_acq_rel))
                    return take(slot, turn_of(t) + 1);
            } else {
                const std::uint64_t seen = t;
                t = control_->tail.load(std::memory_order_acquire);
                if (t == seen) return std::nullopt;
            }
        }
    }

    // No more pushes: items already pushed still drain, then pop() returns nullopt to every
    // consumer (no poison pill per consumer). Idempotent; any rank may call it.
    void close() {
        control_->head.fetch_or(detail::QueueControl::closed_bit, std::memory_order_acq_rel);
        control_->closed.store(1, std::memory_order_release);
        control_->not_empty.notify_all();
    }

    bool closed() const { return control_->closed.load(std::memory_order_acquire) != 0; }

    // Marks one popped item as processed. More calls than pushed items is an spmd::Error
    // (Python's JoinableQueue raises ValueError).
    void task_done() {
        std::uint64_t left = control_->unfinished.load(std::memory_order_relaxed);
        do {
            if (left == 0)
                throw Error("task_done() on queue '" + name_ +
                            "' called more times than items were pushed");
        } while (
            !control_->unfinished.compare_exchange_weak(left, left - 1, std::memory_order_acq_rel));
        if (left == 1) control_->all_done.notify_all();
    }

    // Blocks until every item pushed so far has been marked task_done().
    void join() {
        auto done = [&] { return control_->unfinished.load(std::memory_order_acquire) == 0; };
        if (!done()) control_->all_done.wait(waiting_in(detail::WaitCall::join), done);
    }

    // Items pushed and not yet popped, at some recent moment (a hint, not a promise).
    std::size_t size_hint() const {
        const std::uint64_t h =
            control_->head.load(std::memory_order_relaxed) & ~detail::QueueControl::closed_bit;
        const std::uint64_t t = control_->tail.load(std::memory_order_relaxed);
        return h > t ? std::size_t(h - t) : 0;
    }

    std::size_t capacity() const { return capacity_; }
    const std::string& name() const { return name_; }

private:
    // Any other rank may end a queue's wait: it is hopeless once they have all exited.
    detail::WaitFor waiting_in(detail::WaitCall call) const {
        return {*abort_, call, detail::any_peer, -1, name_.c_str()};
    }

    std::uint32_t turn_of(std::uint64_t ticket) const {
        return std::uint32_t(2 * (ticket / capacity_));
    }
    Slot& slot_of(std::uint64_t ticket) const { return slots_[ticket % capacity_]; }

    [[noreturn]] void throw_closed() const {
        throw Error("push to queue '" + name_ + "' after it was closed");
    }

    // By CAS, not fetch_add: a push must either get its ticket before close() (and its
    // item will be delivered) or see the closed bit, never bump the frozen count.
    std::uint64_t take_push_ticket() {
        std::uint64_t h = control_->head.load(std::memory_order_relaxed);
        do {
            if (h & detail::QueueControl::closed_bit) throw_closed();
        } while (!control_->head.compare_exchange_weak(h, h + 1, std::memory_order_acq_rel,
                                                       std::memory_order_relaxed));
        // Counted before the item becomes visible, so a task_done() can never undercount.
        control_->unfinished.fetch_add(1, std::memory_order_relaxed);
        return h;
    }

    void publish(Slot& slot, std::uint32_t free_turn, const T& value) {
        detail::copy_bytes(slot.item, &value, sizeof(T));
        slot.turn.store(free_turn + 1, std::memory_order_release);
        control_->not_empty.notify_all();
    }

    T take(Slot& slot, std::uint32_t full_turn) {
        const T value = std::bit_cast<T>(slot.item);  // T need not be default-constructible
        slot.turn.store(full_turn + 1, std::memory_order_release);
        control_->not_full.notify_all();
        return value;
    }

    std::string name_;
    std::size_t capacity_;
    const std::atomic<std::uint32_t>* abort_;
    SharedArray<std::byte> memory_;  // keeps the mapping alive; copies share it
    detail::QueueControl* control_ = nullptr;
    Slot* slots_ = nullptr;
};

}  // namespace spmd
#endif  // SPMD_TRANSPORT_MPI
