// spmd::Queue<T> of the MPI transport (SPMD_TRANSPORT=mpi): the public API of spmd/queue.hpp
// over detail::RemoteQueue, whose ring and counters live in rank 0's memory and are reached
// with MPI atomics, so producers and consumers may sit on different hosts. Included by
// spmd/queue.hpp; the semantics are the shm queue's (see there), plus one rule of MPI
// windows: a queue is destroyed collectively, every rank in the same order.
#pragma once
#include <bit>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

#include "spmd/detail/remote_queue.hpp"
#include "spmd/world.hpp"

namespace spmd {

template <class T>
class Queue {
    static_assert(std::is_trivially_copyable_v<T>,
                  "Queue<T> copies items as raw bytes between processes: T must be trivially "
                  "copyable (no pointers into a process's own memory, no std::string)");

public:
    Queue(World&, std::string_view name, std::size_t capacity)
        : core_(std::make_shared<detail::RemoteQueue>(name, capacity, sizeof(T))) {}

    void push(const T& value) { core_->push(&value); }
    [[nodiscard]] bool try_push(const T& value) { return core_->try_push(&value); }
    std::optional<T> pop() {
        Bytes bytes;
        if (!core_->pop(bytes.data)) return std::nullopt;
        return std::bit_cast<T>(bytes.data);
    }
    [[nodiscard]] std::optional<T> try_pop() {
        Bytes bytes;
        if (!core_->try_pop(bytes.data)) return std::nullopt;
        return std::bit_cast<T>(bytes.data);
    }
    void close() { core_->close(); }
    bool closed() const { return core_->closed(); }
    void task_done() { core_->task_done(); }
    void join() { core_->join(); }
    std::size_t size_hint() const { return core_->size_hint(); }
    std::size_t capacity() const { return core_->capacity(); }
    const std::string& name() const { return core_->name(); }

private:
    struct Bytes {  // T need not be default-constructible
        alignas(T) unsigned char data[sizeof(T)];
    };
    std::shared_ptr<detail::RemoteQueue> core_;  // copies share it, as shm copies share a mapping
};

}  // namespace spmd
