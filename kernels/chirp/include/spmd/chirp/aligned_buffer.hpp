// AlignedBuffer<T>: a zeroed array from fftw_malloc, aligned for FFTW's SIMD codelets. A
// plan made on one such buffer runs on any other with new-array execute, and the vector
// loops that fill it start on a vector boundary. Move-only; freed with fftw_free.
#pragma once
#include <cstddef>
#include <cstring>
#include <new>
#include <span>
#include <type_traits>
#include <utility>

namespace spmd::chirp {

namespace detail {
void* fftw_allocate(std::size_t bytes);  // throws std::bad_alloc
void fftw_release(void* p) noexcept;
}  // namespace detail

template <class T>
class AlignedBuffer {
    static_assert(std::is_trivially_copyable_v<T>, "AlignedBuffer holds raw zeroed memory");

public:
    AlignedBuffer() = default;
    explicit AlignedBuffer(std::size_t count)
        : data_(static_cast<T*>(detail::fftw_allocate(count * sizeof(T)))), size_(count) {
        std::memset(static_cast<void*>(data_), 0, count * sizeof(T));
    }
    AlignedBuffer(AlignedBuffer&& o) noexcept
        : data_(std::exchange(o.data_, nullptr)), size_(std::exchange(o.size_, 0)) {}
    AlignedBuffer& operator=(AlignedBuffer&& o) noexcept {
        std::swap(data_, o.data_);
        std::swap(size_, o.size_);
        return *this;
    }
    ~AlignedBuffer() { detail::fftw_release(data_); }

    T* data() const { return data_; }
    std::size_t size() const { return size_; }
    T& operator[](std::size_t i) const { return data_[i]; }
    std::span<T> span() const { return {data_, size_}; }

private:
    T* data_ = nullptr;
    std::size_t size_ = 0;
};

}  // namespace spmd::chirp
