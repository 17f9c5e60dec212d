// SharedArray<T>: a view of one array in the job's shared memory. Every rank of the job
// maps the same bytes; writes by one rank are seen by the others after a barrier.
// Made collectively by World::shared<T>(name, count); copies share one mapping.
#pragma once
#include <cstddef>
#include <memory>
#include <span>
#include <type_traits>

namespace spmd {

template <class T>
class SharedArray {
    static_assert(
        std::is_trivially_copyable_v<T>,
        "shared arrays hold raw bytes that every rank maps: T must be trivially copyable");

public:
    SharedArray() = default;
    SharedArray(std::shared_ptr<void> mapping, T* data, std::size_t count)
        : mapping_(std::move(mapping)), data_(data), count_(count) {}

    T* data() const { return data_; }
    std::size_t size() const { return count_; }
    bool empty() const { return count_ == 0; }
    T& operator[](std::size_t i) const { return data_[i]; }
    T* begin() const { return data_; }
    T* end() const { return data_ + count_; }
    std::span<T> span() const { return {data_, count_}; }
    operator std::span<T>() const { return span(); }

private:
    std::shared_ptr<void> mapping_;  // keeps the mapping alive while any view exists
    T* data_ = nullptr;
    std::size_t count_ = 0;
};

}  // namespace spmd
