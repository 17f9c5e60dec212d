// detail::FlatMap<K, V>: SharedMap for trivially copyable keys and values. An open-addressing
// hash table with linear probing (Knuth, TAoCP vol. 3, 6.4) in the container's SharedHeap,
// where get/set/insert/erase take no lock: a writer claims one slot with a compare-exchange,
// so two writers meet only on the same slot, and a writer that loses the core stalls nobody
// else. Values are read as a seqlock (Lameter 2005): version, words, version again.
//
// What must see the whole table at once (size, items, clear, update's batch, and growing
// the table) runs exclusive: it takes the container's spmd::Lock, raises `exclusive`, and
// waits until no rank is inside an operation (each rank's `inside` flag on its own cache
// line, a "big reader" lock). Ranks that meet `exclusive` wait for the lock, so a rank
// killed inside an exclusive operation, inside a slot write, or inside any operation that
// an exclusive one waits for, gives the others the container's "rank r died inside an
// update" error, never a hang.
#pragma once
#include <sys/mman.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <cstdint>
#include <cstring>
#include <ctime>
#include <functional>
#include <optional>
#include <ranges>
#include <utility>
#include <vector>

#include "spmd/detail/wait.hpp"
#include "spmd/shared_container.hpp"

namespace spmd::detail {

namespace flat {
// A slot's state word: kind in the low 2 bits, the writing rank in the next 16 while busy,
// and a version above them that every completed write bumps (the seqlock's counter).
enum Kind : std::uint64_t { empty = 0, busy = 1, full = 2, erased = 3 };
inline Kind kind(std::uint64_t state) {
    return Kind(state & 3);
}
inline int writer(std::uint64_t state) {
    return int((state >> 2) & 0xffff);
}
inline std::uint64_t version(std::uint64_t state) {
    return state >> 18;
}
inline std::uint64_t make(Kind k, int rank, std::uint64_t version) {
    return std::uint64_t(k) | std::uint64_t(rank) << 2 | version << 18;
}

// std::hash of an integer is the integer: mix it, or linear probing clusters (the
// finalizer of MurmurHash3, Appleby 2011, with Stafford's "variant 13" constants).
inline std::uint64_t mix(std::uint64_t h) {
    h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ULL;
    h = (h ^ (h >> 27)) * 0x94d049bb133111ebULL;
    return h ^ (h >> 31);
}

struct alignas(64) RankLine {
    std::atomic<std::uint32_t> inside{0};  // 1 while the rank is in a lock-free operation
    std::atomic<std::int64_t> count{0};    // keys the rank added less those it erased
    std::atomic<std::uint64_t> claims{0};  // slots of the current table the rank claimed
};

// Places in the heap are kept as offsets from its segment manager: each process maps the
// heap at its own address.
inline std::uint64_t offset_in(HeapManager* heap, const void* p) {
    return std::uint64_t(static_cast<const char*>(p) - reinterpret_cast<const char*>(heap));
}
inline void* address_in(HeapManager* heap, std::uint64_t offset) {
    return reinterpret_cast<char*>(heap) + offset;
}

// Maps the pages of [p, p + bytes) into this process in one system call: a table is
// written all over at once, and a fault a page costs several times more (a hint: on a
// kernel without MADV_POPULATE_WRITE the pages fault in one by one as before).
inline void prefault(void* p, std::size_t bytes) {
    const std::uintptr_t page = 4096;
    const std::uintptr_t begin = reinterpret_cast<std::uintptr_t>(p) & ~(page - 1);
    const std::uintptr_t end = reinterpret_cast<std::uintptr_t>(p) + bytes;
    madvise(reinterpret_cast<void*>(begin), end - begin, MADV_POPULATE_WRITE);
}

// Made by Boost.Interprocess's construct, which aligns to 16 bytes only: no alignas here.
struct Control {
    std::atomic<std::uint32_t> exclusive{0};
    std::atomic<std::uint64_t> table{0};     // offset of the slots
    std::atomic<std::uint64_t> capacity{0};  // slots, a power of two
    std::atomic<std::uint64_t> ranks{0};     // offset of RankLine[ranks]
    std::atomic<std::uint64_t> stuck_at{0};  // a capacity the heap could not grow

    // The first table has room for each rank's overshoot (see check_every), unless the
    // reservation is small (a table without a free slot grows at once, see put()).
    Control(int size, std::size_t slot_bytes, HeapManager* heap) {
        std::size_t slots = std::max<std::size_t>(1024, std::bit_ceil(64 * std::size_t(size)));
        while (slots > 16 && slots * slot_bytes > heap->get_free_memory() / 4) slots /= 2;
        void* lines = heap->allocate_aligned(std::size_t(size) * sizeof(RankLine), 64);
        for (int r = 0; r < size; ++r) new (static_cast<RankLine*>(lines) + r) RankLine;
        void* first = heap->allocate_aligned(slots * slot_bytes, 64);
        prefault(first, slots * slot_bytes);
        std::memset(first, 0, slots * slot_bytes);
        ranks.store(offset_in(heap, lines));
        table.store(offset_in(heap, first));
        capacity.store(slots);
    }
};
}  // namespace flat

template <class K, class V>
class FlatMap {
    static constexpr std::size_t value_words = (sizeof(V) + 7) / 8;
    struct Slot {
        std::atomic<std::uint64_t> state;
        std::atomic<std::uint64_t> value[value_words];  // atomic words: the seqlock's data
        unsigned char key[sizeof(K)];                   // written once, before `full`
    };
    using Control = flat::Control;
    using RankLine = flat::RankLine;
    static_assert(std::atomic<std::uint64_t>::is_always_lock_free,
                  "shared_map slots live in memory shared by processes");

public:
    FlatMap(World& world, std::string_view name, std::size_t reserve_bytes)
        : heap_(std::make_shared<SharedHeap>(world, "shared_map", name, reserve_bytes)),
          me_(world.rank()),
          size_(world.size()),
          control_(heap_->open_root<Control>(world.size(), sizeof(Slot))) {}

    void set(const K& key, const V& value) { put_shared(key, value, true); }
    // Inserts unless the key is present; true if it inserted.
    bool insert(const K& key, const V& value) { return put_shared(key, value, false); }
    // Sets every (key, value) of the range as one change: no rank sees part of the batch.
    template <std::ranges::input_range R>
    void update(R&& pairs) {
        exclusive([&] {
            for (auto&& [key, value] : pairs) {
                while (put(K(key), V(value), true) == Put::no_room) grow(true);
                if (grow_due_) grow(false);
            }
        });
    }
    std::optional<V> get(const K& key) const {
        return inside_op([&]() -> std::optional<V> {
            Slot* slot = find(key);
            return slot ? read_value(*slot) : std::nullopt;
        });
    }
    bool contains(const K& key) const { return get(key).has_value(); }
    // Removes the key; true if it was there.
    bool erase(const K& key) {
        return inside_op([&] {
            for (;;) {
                Slot* slot = find(key);
                if (!slot) return false;
                std::uint64_t state = settled(*slot);
                if (flat::kind(state) != flat::full) return false;
                if (!slot->state.compare_exchange_strong(
                        state, flat::make(flat::busy, me_, flat::version(state)),
                        std::memory_order_acquire))
                    continue;
                slot->state.store(flat::make(flat::erased, 0, flat::version(state) + 1),
                                  std::memory_order_release);
                add_count(-1);
                return true;
            }
        });
    }
    std::size_t size() const {
        return exclusive([&] {
            std::int64_t total = 0;
            for (int r = 0; r < size_; ++r)
                total += rank_line(r).count.load(std::memory_order_relaxed);
            return std::size_t(total);
        });
    }
    void clear() {
        exclusive([&] {
            std::memset(static_cast<void*>(slots()), 0, capacity() * sizeof(Slot));
            for (int r = 0; r < size_; ++r) {
                rank_line(r).count.store(0, std::memory_order_relaxed);
                rank_line(r).claims.store(0, std::memory_order_relaxed);
            }
        });
    }
    // A copy of every (key, value), in key order if keys have <.
    std::vector<std::pair<K, V>> items() const {
        return exclusive([&] {
            std::vector<std::pair<K, V>> all;
            Slot* table = slots();
            for (std::size_t i = 0; i < capacity(); ++i)
                if (flat::kind(table[i].state.load(std::memory_order_relaxed)) == flat::full)
                    all.emplace_back(key_of(table[i]), value_of(table[i]));
            if constexpr (requires(const K& a) { a < a; })
                std::sort(all.begin(), all.end(),
                          [](const auto& a, const auto& b) { return a.first < b.first; });
            return all;
        });
    }
    const std::string& name() const { return heap_->name(); }

private:
    enum class Put { done, present, no_room };
    // Every rank checks the table's load after each this many claims of its own, so the
    // load overshoots half by at most this times the ranks (kept below a quarter).
    static constexpr std::uint64_t check_every = 16;
    // Growing 4-fold moves each key about a third as often as doubling and allocates a
    // third of the pages on the way, for tables between 1/8 and 1/2 full.
    static constexpr std::size_t growth = 4;

    // Runs fn() as a lock-free operation: announced in `inside`, never during an
    // exclusive one.
    template <class Fn>
    decltype(auto) inside_op(Fn&& fn) const {
        std::atomic<std::uint32_t>& inside = rank_line(me_).inside;
        for (;;) {
            inside.store(1, std::memory_order_seq_cst);  // Dekker: then look at exclusive
            if (control_->exclusive.load(std::memory_order_seq_cst) == 0) break;
            inside.store(0, std::memory_order_release);
            heap_->await_unlocked();  // throws if the exclusive holder died
        }
        const std::uint64_t table = control_->table.load(std::memory_order_relaxed);
        if (table != mapped_table_) {  // a new table: map all of it at once
            flat::prefault(slots(), capacity() * sizeof(Slot));
            mapped_table_ = table;
        }
        struct Leave {
            std::atomic<std::uint32_t>& inside;
            ~Leave() { inside.store(0, std::memory_order_release); }
        } leave{inside};
        return fn();
    }

    bool put_shared(const K& key, const V& value, bool overwrite) {
        for (;;) {
            grow_due_ = false;
            const Put result = inside_op([&] { return put(key, value, overwrite); });
            if (result == Put::no_room || grow_due_)
                exclusive([&] {
                    if (result == Put::no_room || growth_due()) grow(result == Put::no_room);
                });
            if (result != Put::no_room) return result == Put::done;
        }
    }

    // Runs fn() while no other rank is inside an operation, holding the container's lock.
    template <class Fn>
    decltype(auto) exclusive(Fn&& fn) const {
        return heap_->locked([&]() -> decltype(auto) {
            control_->exclusive.store(1, std::memory_order_seq_cst);
            struct Reopen {
                Control* control;
                ~Reopen() { control->exclusive.store(0, std::memory_order_release); }
            } reopen{control_};
            for (int r = 0; r < size_; ++r)
                if (r != me_) await(rank_line(r).inside, r);
            return fn();
        });
    }

    // Under exclusive: more than half the slots are taken (erased ones too).
    bool growth_due() const {
        std::uint64_t taken = 0;
        for (int r = 0; r < size_; ++r)
            taken += rank_line(r).claims.load(std::memory_order_relaxed);
        return taken * 2 > capacity();
    }

    // Under exclusive: moves every key into a table `growth` times the size, leaving erased
    // slots behind. If the heap has no room for it, the table stays: inserts go on until no
    // slot is free, and then (`must`) the map is full.
    void grow(bool must) {
        const std::size_t old_capacity = capacity();
        const std::size_t new_capacity = growth * old_capacity;
        if (control_->stuck_at.load(std::memory_order_relaxed) == old_capacity) {
            if (must) heap_->throw_full();
            return;
        }
        Slot* old_table = slots();
        Slot* table = nullptr;
        try {
            table = static_cast<Slot*>(
                heap_->manager()->allocate_aligned(new_capacity * sizeof(Slot), 64));
        } catch (const boost::interprocess::bad_alloc&) {
            control_->stuck_at.store(old_capacity, std::memory_order_relaxed);
            if (must) heap_->throw_full();
            return;
        }
        flat::prefault(table, new_capacity * sizeof(Slot));
        std::memset(static_cast<void*>(table), 0, new_capacity * sizeof(Slot));
        const std::size_t mask = new_capacity - 1;
        std::uint64_t moved = 0;
        for (std::size_t i = 0; i < old_capacity; ++i) {
            const Slot& from = old_table[i];
            if (flat::kind(from.state.load(std::memory_order_relaxed)) != flat::full) continue;
            std::size_t at = hash(key_of(from)) & mask;
            while (table[at].state.load(std::memory_order_relaxed) != flat::empty)
                at = (at + 1) & mask;
            Slot& to = table[at];
            std::memcpy(to.key, from.key, sizeof(K));
            for (std::size_t w = 0; w < value_words; ++w)
                to.value[w].store(from.value[w].load(std::memory_order_relaxed),
                                  std::memory_order_relaxed);
            to.state.store(flat::make(flat::full, 0, 1), std::memory_order_relaxed);
            ++moved;
        }
        control_->table.store(flat::offset_in(heap_->manager(), table), std::memory_order_relaxed);
        control_->capacity.store(new_capacity, std::memory_order_relaxed);
        heap_->manager()->deallocate(old_table);
        for (int r = 0; r < size_; ++r)
            rank_line(r).claims.store(r == me_ ? moved : 0, std::memory_order_relaxed);
        grow_due_ = false;
    }

    // map[key] = value (overwrite) or insert only if absent.
    Put put(const K& key, const V& value, bool overwrite) {
        for (;;) {
            Slot* slot = nullptr;
            std::uint64_t state = 0;
            if (!probe(key, slot, state)) return Put::no_room;
            if (flat::kind(state) == flat::empty) {
                if (!slot->state.compare_exchange_strong(state, flat::make(flat::busy, me_, 0),
                                                         std::memory_order_acquire))
                    continue;  // another rank took it: look again
                std::memcpy(slot->key, &key, sizeof(K));
                write_value(*slot, value);
                slot->state.store(flat::make(flat::full, 0, 1), std::memory_order_release);
                add_count(1);
                RankLine& line = rank_line(me_);
                const std::uint64_t claims = line.claims.load(std::memory_order_relaxed) + 1;
                line.claims.store(claims, std::memory_order_relaxed);
                if (claims % check_every == 0 && growth_due()) grow_due_ = true;
                return Put::done;
            }
            if (flat::kind(state) == flat::full && !overwrite) return Put::present;
            if (!slot->state.compare_exchange_strong(
                    state, flat::make(flat::busy, me_, flat::version(state)),
                    std::memory_order_acquire))
                continue;
            std::atomic_thread_fence(std::memory_order_release);  // busy before the words
            write_value(*slot, value);
            slot->state.store(flat::make(flat::full, 0, flat::version(state) + 1),
                              std::memory_order_release);
            if (flat::kind(state) == flat::erased) add_count(1);
            return Put::done;
        }
    }

    // The slot holding key (full or erased), or the empty slot where it would go, with the
    // state it had; false if a whole round of the table found neither.
    bool probe(const K& key, Slot*& slot, std::uint64_t& state) const {
        Slot* table = slots();
        const std::size_t mask = capacity() - 1;
        std::size_t at = hash(key) & mask;
        for (std::size_t n = 0; n <= mask; ++n, at = (at + 1) & mask) {
            state = settled(table[at]);
            if (flat::kind(state) == flat::empty || same_key(table[at], key)) {
                slot = &table[at];
                return true;
            }
        }
        return false;
    }
    Slot* find(const K& key) const {
        Slot* slot = nullptr;
        std::uint64_t state = 0;
        if (!probe(key, slot, state) || flat::kind(state) == flat::empty) return nullptr;
        return slot;
    }

    // The slot's state once no rank is writing it (its key is then readable).
    std::uint64_t settled(Slot& slot) const {
        std::uint64_t state = slot.state.load(std::memory_order_acquire);
        if (flat::kind(state) != flat::busy) return state;
        int holder = -1;
        wait_until(
            WaitFor(heap_->abort_flag(), WaitCall::lock, any_peer, -1, heap_->name().c_str()),
            [&] {
                state = slot.state.load(std::memory_order_acquire);
                if (flat::kind(state) != flat::busy) return true;
                if (heap_->rank_gone(flat::writer(state))) holder = flat::writer(state);
                return holder >= 0;
            },
            nap);
        if (holder >= 0) heap_->throw_died(holder);
        return state;
    }
    // Waits until rank r's flag is down (under exclusive).
    void await(const std::atomic<std::uint32_t>& flag, int r) const {
        bool gone = false;
        wait_until(
            WaitFor(heap_->abort_flag(), WaitCall::lock, r, -1, heap_->name().c_str()),
            [&] {
                if (flag.load(std::memory_order_seq_cst) == 0) return true;
                gone = heap_->rank_gone(r);
                return gone;
            },
            nap);
        if (gone && flag.load(std::memory_order_seq_cst) != 0) heap_->throw_died(r);
    }
    // Nobody wakes these waits (a writer finishing a slot does not look for sleepers), so
    // they sleep in short naps.
    static void nap(long ns) {
        const timespec t{0, std::min(ns, 100'000L)};
        nanosleep(&t, nullptr);
    }

    std::optional<V> read_value(Slot& slot) const {
        for (;;) {
            const std::uint64_t before = settled(slot);
            if (flat::kind(before) != flat::full) return std::nullopt;
            V value = value_of(slot);
            std::atomic_thread_fence(std::memory_order_acquire);
            if (slot.state.load(std::memory_order_relaxed) == before) return value;
        }
    }
    static V value_of(const Slot& slot) {
        std::array<std::uint64_t, value_words> words;
        for (std::size_t w = 0; w < value_words; ++w)
            words[w] = slot.value[w].load(std::memory_order_relaxed);
        std::array<unsigned char, sizeof(V)> bytes;
        std::memcpy(bytes.data(), words.data(), sizeof(V));
        return std::bit_cast<V>(bytes);
    }
    static void write_value(Slot& slot, const V& value) {
        std::array<std::uint64_t, value_words> words{};
        std::memcpy(words.data(), &value, sizeof(V));
        for (std::size_t w = 0; w < value_words; ++w)
            slot.value[w].store(words[w], std::memory_order_relaxed);
    }
    static K key_of(const Slot& slot) {
        std::array<unsigned char, sizeof(K)> bytes;
        std::memcpy(bytes.data(), slot.key, sizeof(K));
        return std::bit_cast<K>(bytes);
    }
    static bool same_key(const Slot& slot, const K& key) { return key_of(slot) == key; }
    static std::size_t hash(const K& key) { return flat::mix(std::hash<K>{}(key)); }

    void add_count(std::int64_t delta) const {
        std::atomic<std::int64_t>& count = rank_line(me_).count;
        count.store(count.load(std::memory_order_relaxed) + delta, std::memory_order_relaxed);
    }
    Slot* slots() const {
        return static_cast<Slot*>(
            flat::address_in(heap_->manager(), control_->table.load(std::memory_order_relaxed)));
    }
    std::size_t capacity() const { return control_->capacity.load(std::memory_order_relaxed); }
    RankLine& rank_line(int r) const {
        return static_cast<RankLine*>(
            flat::address_in(heap_->manager(), control_->ranks.load(std::memory_order_relaxed)))[r];
    }

    std::shared_ptr<SharedHeap> heap_;  // copies of the map share heap and lock
    int me_;
    int size_;
    Control* control_;
    bool grow_due_ = false;                   // the last put found the table more than half taken
    mutable std::uint64_t mapped_table_ = 0;  // the table this process prefaulted
};

}  // namespace spmd::detail
