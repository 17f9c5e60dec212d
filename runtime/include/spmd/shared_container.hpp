// What SharedMap and SharedVector share: a Boost.Interprocess heap (managed_external_buffer)
// laid over a sparse reservation in the job's shared memory, and a spmd::Lock around every
// access. Boost 1.74's interprocess mutexes hang everyone when a holder dies, so the heap
// runs with null mutexes and the project's lock, which knows its holder, guards it: a rank
// killed inside an update makes the others' next access throw an spmd::Error naming the
// container and the dead rank, instead of hanging.
//
// Growth: a mapping cannot grow in place under other processes, so the heap is one
// reservation of reserve_bytes (default min(1/4 of /dev/shm's free space, 1 GiB)). A tmpfs
// file is sparse: pages cost memory only once written. A container that outgrows it
// throws spmd::Error "... is full" and stays as it was before the failed insert.
#pragma once
#include <boost/interprocess/allocators/allocator.hpp>
#include <boost/interprocess/containers/string.hpp>
#include <boost/interprocess/exceptions.hpp>
#include <boost/interprocess/indexes/iset_index.hpp>
#include <boost/interprocess/managed_external_buffer.hpp>
#include <boost/interprocess/mem_algo/rbtree_best_fit.hpp>
#include <boost/interprocess/sync/mutex_family.hpp>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>

#include "spmd/lock.hpp"
#include "spmd/world.hpp"

namespace spmd::detail {

namespace bip = boost::interprocess;
// No mutex inside the heap: every access already holds the container's spmd::Lock.
using Heap = bip::basic_managed_external_buffer<char, bip::rbtree_best_fit<bip::null_mutex_family>,
                                                bip::iset_index>;
using HeapManager = Heap::segment_manager;
template <class T>
using HeapAllocator = bip::allocator<T, HeapManager>;
using HeapString = bip::basic_string<char, std::char_traits<char>, HeapAllocator<char>>;

// How a key or value of type T lives in the heap: strings as heap strings, the rest as is.
template <class T>
concept Storable = std::is_same_v<T, std::string> ||
    (std::is_trivially_copyable_v<T> && !std::is_pointer_v<T>);
template <class T>
using Stored = std::conditional_t<std::is_same_v<T, std::string>, HeapString, T>;

template <class T>
T load_stored(const Stored<T>& s) {
    if constexpr (std::is_same_v<T, std::string>)
        return std::string(s.data(), s.size());
    else
        return s;
}

// Hash and compare stored keys with each other and with the caller's keys, so a lookup
// by std::string builds no heap string.
struct StoredKey {
    static std::string_view view(const HeapString& s) { return {s.data(), s.size()}; }
    static std::string_view view(const std::string& s) { return s; }
    static std::string_view view(std::string_view s) { return s; }
    template <class T>
    static const T& view(const T& value) {
        return value;
    }
};
struct StoredHash : StoredKey {
    template <class A>
    std::size_t operator()(const A& a) const {
        using V = std::remove_cvref_t<decltype(view(a))>;
        return std::hash<V>{}(view(a));
    }
};
struct StoredEqual : StoredKey {
    template <class A, class B>
    bool operator()(const A& a, const B& b) const {
        return view(a) == view(b);
    }
};

class SharedHeap {
public:
    // Collective. kind ("shared_map", "shared_vector") and name appear in every error.
    SharedHeap(World& world, std::string kind, std::string_view name, std::size_t reserve_bytes);

    // Collective: the heap's one container, constructed by rank 0 from args, found by others.
    template <class C, class... A>
    C* open_root(A&&... args) {
        C* root = nullptr;
        if (rank_ == 0)
            root = heap_->construct<C>(bip::unique_instance)(std::forward<A>(args)...,
                                                             heap_->get_segment_manager());
        world_->barrier();
        if (rank_ != 0) {
            heap_ = std::make_unique<Heap>(bip::open_only, memory_.data(), memory_.size());
            root = heap_->find<C>(bip::unique_instance).first;
        }
        return root;
    }

    HeapManager* manager() const { return heap_->get_segment_manager(); }
    const std::string& name() const { return name_; }

    // Runs fn() holding the container's lock.
    template <class Fn>
    decltype(auto) locked(Fn&& fn) {
        acquire();
        struct Release {
            Lock& lock;
            ~Release() { lock.unlock(); }
        } release{lock_};
        try {
            return fn();
        } catch (const bip::bad_alloc&) {
            throw_full();
        }
    }

    // Returns once the lock is free (taking and releasing it); throws as locked() does.
    void await_unlocked() {
        acquire();
        lock_.unlock();
    }
    // For containers whose operations take the lock only at times (flat_map.hpp): whether
    // a rank is gone (reaped, or its World closed), and the errors to throw.
    bool rank_gone(int rank) const;
    [[noreturn]] void throw_died(int rank) const;
    [[noreturn]] void throw_full() const;
    const std::atomic<std::uint32_t>& abort_flag() const;

    // The default reservation: min(1/4 of /dev/shm's free space, 1 GiB).
    static std::size_t default_reserve();

private:
    void acquire();

    World* world_;
    int rank_;
    std::string kind_, name_;
    SharedArray<std::byte> memory_;
    std::unique_ptr<Heap> heap_;
    Lock lock_;
};

}  // namespace spmd::detail
