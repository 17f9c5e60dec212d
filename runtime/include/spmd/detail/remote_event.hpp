// detail::RemoteEvent and detail::RemoteLock: spmd::Event and spmd::Lock for the MPI
// transport. Each is one word in rank 0's memory (a HomeWindow) that every rank changes
// with MPI atomics and polls with backoff: an event's state word (set bit + set count), a
// lock's owner word (taken by MPI_Compare_and_swap: a test-and-set lock, not FIFO, as the
// shm lock). One round trip to rank 0 per set/clear/is_set, per uncontended lock/unlock.
// Made and destroyed collectively: the window is freed by every rank together.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace spmd::detail {

class HomeWindow;

class RemoteEvent {
public:
    explicit RemoteEvent(std::string_view name);  // collective over MPI_COMM_WORLD
    ~RemoteEvent();                               // collective
    RemoteEvent(const RemoteEvent&) = delete;
    RemoteEvent& operator=(const RemoteEvent&) = delete;

    void set();
    void clear();
    bool is_set();
    // As Event::wait_ns: true once set (or set and cleared again) since the call began,
    // false when timeout_ns (>= 0) has passed.
    bool wait_ns(long long timeout_ns);

private:
    std::string name_;
    std::unique_ptr<HomeWindow> window_;
};

class RemoteLock {
public:
    explicit RemoteLock(std::string_view name);  // collective over MPI_COMM_WORLD
    // Collective. A rank that still holds the lock marks it "held by a rank that left",
    // so that a rank waiting for it gets an spmd::Error instead of waiting forever.
    ~RemoteLock();
    RemoteLock(const RemoteLock&) = delete;
    RemoteLock& operator=(const RemoteLock&) = delete;

    void lock();
    [[nodiscard]] bool try_lock();
    void unlock();
    int owner();

private:
    std::string name_;
    std::uint64_t me_;  // this rank + 1: the owner word while we hold the lock
    std::unique_ptr<HomeWindow> window_;
};

}  // namespace spmd::detail
