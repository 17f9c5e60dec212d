// detail::RemoteQueue: spmd::Queue's algorithm for the MPI transport, where ranks on other
// hosts share no memory. The counters and the slots live in rank 0's memory (a HomeWindow)
// and every rank reaches them with MPI atomics; items are raw bytes of a fixed size, which
// Queue<T> types. Same ticketed ring (Vyukov's bounded MPMC queue, a turn word per slot),
// same close()/task_done()/join() semantics as the shm queue.
//
// Cost, in round trips to rank 0: push 3 (ticket, turn check, item+count+turn in one
// flush), pop 3 (ticket, turn+item read together, turn release); a wait polls.
// Made and destroyed collectively: the window is freed by every rank together.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace spmd::detail {

class HomeWindow;

class RemoteQueue {
public:
    // Collective over MPI_COMM_WORLD (every rank, same name, capacity and item size).
    RemoteQueue(std::string_view name, std::size_t capacity, std::size_t item_bytes);
    ~RemoteQueue();  // collective
    RemoteQueue(const RemoteQueue&) = delete;
    RemoteQueue& operator=(const RemoteQueue&) = delete;

    void push(const void* item);
    [[nodiscard]] bool try_push(const void* item);
    [[nodiscard]] bool pop(void* item);      // false: closed and drained
    [[nodiscard]] bool try_pop(void* item);  // false: nothing ready now
    void close();
    bool closed();
    void task_done();
    void join();
    std::size_t size_hint();

    std::size_t capacity() const { return capacity_; }
    const std::string& name() const { return name_; }

private:
    std::size_t slot_word(std::uint64_t ticket) const;
    std::uint64_t turn_of(std::uint64_t ticket) const;
    void publish(std::uint64_t ticket, const void* item);
    void release(std::uint64_t ticket);
    [[noreturn]] void throw_closed() const;
    void check_peers(const char* call);

    std::string name_;
    std::size_t capacity_, item_bytes_, item_words_;
    std::unique_ptr<HomeWindow> window_;
    std::unique_ptr<std::uint64_t[]> scratch_;  // turn + item words of one slot
};

}  // namespace spmd::detail
