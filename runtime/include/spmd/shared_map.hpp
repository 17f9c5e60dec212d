// spmd::SharedMap<K, V>: Python's Manager().dict() for the ranks of a job. Every rank reads
// and writes the same hash map; keys and values are std::string or trivially copyable
// (keys with std::hash and ==).
// Made collectively: `auto ages = world.shared_map<std::string, int>("ages");`. Every call
// is atomic, update(range) with its whole batch; size() and items() see a moment when no
// write is half done. Storage and failure rules: shared_container.hpp.
// Two tables behind one interface: trivially copyable keys and values go in a lock-free
// open-addressing table (detail/flat_map.hpp: writers meet only on the same slot); maps
// with strings in a Boost.Interprocess unordered_map that each call locks (HeapMap).
#pragma once
#include <algorithm>
#include <boost/interprocess/allocators/node_allocator.hpp>
#include <boost/unordered_map.hpp>
#include <optional>
#include <ranges>
#include <string>
#include <utility>
#include <vector>

#include "spmd/detail/flat_map.hpp"
#include "spmd/shared_container.hpp"

namespace spmd {

namespace detail {
// Hash map nodes from a pool of equal-sized blocks that the heap hands out in chunks: the
// heap's general allocator costs more than the insert itself. boost::unordered asks for
// nodes one at a time through allocate(1), which Boost's node_allocator would pass on to
// the heap; only allocate_one() takes from the pool.
template <class T>
struct PooledAllocator : boost::interprocess::node_allocator<T, HeapManager> {
    using Base = boost::interprocess::node_allocator<T, HeapManager>;
    using Base::Base;
    template <class U>
    struct rebind {
        using other = PooledAllocator<U>;
    };
    template <class U>
    PooledAllocator(const PooledAllocator<U>& other) : Base(other) {}
    typename Base::pointer allocate(std::size_t n) {
        return n == 1 ? Base::allocate_one() : Base::allocate(n);
    }
    void deallocate(const typename Base::pointer& p, std::size_t n) {
        if (n == 1)
            Base::deallocate_one(p);
        else
            Base::deallocate(p, n);
    }
};

// Maps with a std::string key or value: a Boost.Interprocess unordered_map in the heap,
// every call under the container's lock.
template <class K, class V>
class HeapMap {
    using SK = detail::Stored<K>;
    using SV = detail::Stored<V>;
    using Map = boost::unordered_map<SK, SV, detail::StoredHash, detail::StoredEqual,
                                     detail::PooledAllocator<std::pair<const SK, SV>>>;

public:
    HeapMap(World& world, std::string_view name, std::size_t reserve_bytes)
        : heap_(std::make_shared<detail::SharedHeap>(world, "shared_map", name, reserve_bytes)),
          map_(heap_->open_root<Map>(64, detail::StoredHash{}, detail::StoredEqual{})) {}

    // map[key] = value.
    void set(const K& key, const V& value) {
        heap_->locked([&] { put(key, value); });
    }
    // Inserts unless the key is present; true if it inserted.
    bool insert(const K& key, const V& value) {
        return heap_->locked([&] {
            if (find(key) != map_->end()) return false;
            map_->emplace(stored(key), stored(value));
            return true;
        });
    }
    // Sets every (key, value) of the range under one lock: a batch costs one lock round.
    template <std::ranges::input_range R>
    void update(R&& pairs) {
        heap_->locked([&] {
            for (auto&& [key, value] : pairs) put(K(key), V(value));
        });
    }

    std::optional<V> get(const K& key) const {
        return heap_->locked([&]() -> std::optional<V> {
            auto it = find(key);
            if (it == map_->end()) return std::nullopt;
            return detail::load_stored<V>(it->second);
        });
    }
    bool contains(const K& key) const {
        return heap_->locked([&] { return find(key) != map_->end(); });
    }
    // Removes the key; true if it was there.
    bool erase(const K& key) {
        return heap_->locked([&] {
            auto it = find(key);
            if (it == map_->end()) return false;
            map_->erase(it);
            return true;
        });
    }
    std::size_t size() const {
        return heap_->locked([&] { return map_->size(); });
    }
    void clear() {
        heap_->locked([&] { map_->clear(); });
    }
    // A copy of every (key, value), in key order if keys have <.
    std::vector<std::pair<K, V>> items() const {
        return heap_->locked([&] {
            std::vector<std::pair<K, V>> all;
            all.reserve(map_->size());
            for (const auto& [key, value] : *map_)
                all.emplace_back(detail::load_stored<K>(key), detail::load_stored<V>(value));
            if constexpr (requires(const K& a) { a < a; })
                std::sort(all.begin(), all.end(),
                          [](const auto& a, const auto& b) { return a.first < b.first; });
            return all;
        });
    }
    const std::string& name() const { return heap_->name(); }

private:
    template <class T>
    detail::Stored<T> stored(const T& value) const {
        if constexpr (std::is_same_v<T, std::string>)
            return detail::HeapString(value.data(), value.size(), heap_->manager());
        else
            return value;
    }
    auto find(const K& key) const {
        return map_->find(key, detail::StoredHash{}, detail::StoredEqual{});
    }
    void put(const K& key, const V& value) {
        if constexpr (std::is_same_v<K, std::string>) {
            auto it = find(key);  // look first: a new heap key would cost an allocation
            if (it == map_->end())
                map_->emplace(stored(key), stored(value));
            else
                assign(it->second, value);
        } else {
            auto [it, inserted] = map_->emplace(key, stored(value));
            if (!inserted) assign(it->second, value);
        }
    }
    static void assign(SV& to, const V& value) {
        if constexpr (std::is_same_v<V, std::string>)
            to.assign(value.data(), value.data() + value.size());
        else
            to = value;
    }

    std::shared_ptr<detail::SharedHeap> heap_;  // copies of the map share heap and lock
    Map* map_;
};

template <class K, class V>
using MapFor =
    std::conditional_t<std::is_trivially_copyable_v<K> && std::is_trivially_copyable_v<V>,
                       FlatMap<K, V>, HeapMap<K, V>>;
}  // namespace detail

template <class K, class V>
class SharedMap : public detail::MapFor<K, V> {
    static_assert(detail::Storable<K> && detail::Storable<V>,
                  "shared_map keys and values are std::string or trivially copyable types");

public:
    // Collective; use World::shared_map. reserve_bytes 0 takes the default reservation.
    SharedMap(World& world, std::string_view name, std::size_t reserve_bytes = 0)
        : detail::MapFor<K, V>(world, name, reserve_bytes) {}
};

}  // namespace spmd
