// spmd::SharedVector<T>: Python's Manager().list() for the ranks of a job. Every rank
// appends, reads and writes the same vector of std::string or trivially copyable items.
// Made collectively: `auto primes = world.shared_vector<long>("primes");`. Each call holds
// the vector's lock, so concurrent appends are safe; extend(range) appends a batch under one
// lock. Storage and failure rules: shared_container.hpp.
#pragma once
#include <boost/interprocess/containers/vector.hpp>
#include <ranges>
#include <string>
#include <vector>

#include "spmd/shared_container.hpp"

namespace spmd {

template <class T>
class SharedVector {
    static_assert(detail::Storable<T>,
                  "shared_vector items are std::string or trivially copyable types");
    using ST = detail::Stored<T>;
    using Vector = boost::interprocess::vector<ST, detail::HeapAllocator<ST>>;

public:
    // Collective; use World::shared_vector. reserve_bytes 0 takes the default reservation.
    SharedVector(World& world, std::string_view name, std::size_t reserve_bytes = 0)
        : heap_(std::make_shared<detail::SharedHeap>(world, "shared_vector", name, reserve_bytes)),
          items_(heap_->open_root<Vector>()) {}

    void push_back(const T& item) {
        heap_->locked([&] { items_->push_back(stored(item)); });
    }
    // Appends every item of the range under one lock.
    template <std::ranges::input_range R>
    void extend(R&& items) {
        heap_->locked([&] {
            for (auto&& item : items) items_->push_back(stored(T(item)));
        });
    }
    // The item at i; spmd::Error if i is out of range.
    T get(std::size_t i) const {
        return heap_->locked([&] { return detail::load_stored<T>(items_->at(checked(i))); });
    }
    void set(std::size_t i, const T& item) {
        heap_->locked([&] { (*items_)[checked(i)] = stored(item); });
    }
    std::size_t size() const {
        return heap_->locked([&] { return items_->size(); });
    }
    void clear() {
        heap_->locked([&] { items_->clear(); });
    }
    // A copy of every item, in order.
    std::vector<T> snapshot() const {
        return heap_->locked([&] {
            std::vector<T> all;
            all.reserve(items_->size());
            for (const auto& item : *items_) all.push_back(detail::load_stored<T>(item));
            return all;
        });
    }
    const std::string& name() const { return heap_->name(); }

private:
    std::size_t checked(std::size_t i) const {
        if (i >= items_->size())
            throw Error("shared_vector '" + heap_->name() + "': index " + std::to_string(i) +
                        " is out of range (size " + std::to_string(items_->size()) + ")");
        return i;
    }
    ST stored(const T& item) const {
        if constexpr (std::is_same_v<T, std::string>)
            return detail::HeapString(item.data(), item.size(), heap_->manager());
        else
            return item;
    }

    std::shared_ptr<detail::SharedHeap> heap_;
    Vector* items_;
};

}  // namespace spmd
