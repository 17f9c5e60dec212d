// Loop schedules: World::schedule(n, policy, chunk) yields half-open ranges of [0, n) so
// that every index goes to exactly one rank, as OpenMP's schedule clause does.
//   static : contiguous blocks of about n/N per rank; with a chunk, round-robin chunks.
//   dynamic: chunks of a fixed size taken in turn from a shared counter.
//   guided : chunks of remaining/N (OpenMP's definition), never below the minimum chunk.
//
//   for (spmd::Range r : world.schedule(n, spmd::Schedule::guided))
//       for (std::size_t i = r.begin; i < r.end; ++i) work(i);
#pragma once
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <string_view>

namespace spmd {

enum class Schedule { static_, dynamic, guided };

// "static", "dynamic" or "guided"; anything else is a UsageError naming the word.
Schedule parse_schedule(std::string_view word);
std::string_view to_string(Schedule s);

namespace detail {
// The counter a dynamic or guided loop takes its chunks from: a 64-bit word that the
// transport keeps (shm: in the job segment; mpi: in a window on rank 0).
struct ScheduleCounter {
    void* where = nullptr;  // shm, and mpi on one host: the std::atomic word; else the window
    std::size_t slot = 0;   // mpi: the word's index in the window (on one host, a mark)
    std::uint64_t load() const;
    // As std::atomic::compare_exchange_weak: true if the word held `expected` and now holds
    // `desired`; else false (perhaps spuriously) and `expected` is what the word held.
    bool compare_exchange(std::uint64_t& expected, std::uint64_t desired) const;
};
}  // namespace detail

struct Range {
    std::size_t begin = 0;
    std::size_t end = 0;
    std::size_t size() const { return end - begin; }
    bool empty() const { return begin >= end; }
};

// One rank's pass over a scheduled loop: an input range of Range, taken once.
// Dynamic and guided chunks come from a counter word of the transport holding
// (generation << 40 | next index): generations let one word serve loop after loop with
// no reset, because a rank leaves loop g only once its indices are all taken, so a word
// that already shows a later generation means "loop g is over".
class ScheduledLoop {
public:
    ScheduledLoop(std::size_t n, Schedule policy, std::size_t chunk, int rank, int size,
                  detail::ScheduleCounter counter, std::uint32_t generation);

    // The next range of this rank, or an empty one when the loop is over.
    Range next();

    class iterator {
    public:
        using iterator_category = std::input_iterator_tag;
        using value_type = Range;
        using difference_type = std::ptrdiff_t;
        iterator() = default;
        explicit iterator(ScheduledLoop* loop) : loop_(loop) { ++*this; }
        const Range& operator*() const { return current_; }
        iterator& operator++() {
            current_ = loop_->next();
            if (current_.empty()) loop_ = nullptr;
            return *this;
        }
        void operator++(int) { ++*this; }
        bool operator==(const iterator& other) const { return loop_ == other.loop_; }

    private:
        ScheduledLoop* loop_ = nullptr;
        Range current_;
    };
    iterator begin() { return iterator(this); }
    iterator end() { return iterator(); }

    std::size_t chunk() const { return chunk_; }

private:
    Range next_static();
    Range next_shared();

    std::size_t n_;
    Schedule policy_;
    std::size_t chunk_;
    int rank_;
    int size_;
    detail::ScheduleCounter counter_;
    std::uint32_t generation_;
    std::size_t static_step_ = 0;  // static: how many ranges this rank has taken
};

}  // namespace spmd
