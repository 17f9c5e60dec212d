// detail::HomeWindow: 64-bit words that live in one "home" rank's memory and that every rank
// of MPI_COMM_WORLD reads and changes with MPI atomics (MPI-3 passive target: one
// MPI_Win_lock_all epoch for the window's life, MPI_Win_flush to complete each step). It is
// the storage behind Queue, Event and Lock when they must span hosts (MPI transport only).
//
// Ordering: every access is an accumulate-class call (MPI_Accumulate, MPI_Get_accumulate,
// MPI_Fetch_and_op, MPI_Compare_and_swap), and the window asks for the standard's default
// accumulate_ordering (rar,raw,war,waw): two accesses from one origin reach the home in the
// order they were issued. A writer that stores an item and then its "full" mark, and a
// reader that reads the mark and then the item, therefore never see a torn item.
#pragma once
#include <mpi.h>

#include <cstddef>
#include <cstdint>
#include <string>

namespace spmd::detail {

class HomeWindow {
public:
    // Collective over MPI_COMM_WORLD: `words` zeroed words at rank `home`. `what` names the
    // window in errors ("queue 'jobs'").
    HomeWindow(std::string what, std::size_t words, int home = 0);
    // Collective (MPI_Win_free): every rank destroys its handle, in the same order.
    ~HomeWindow();
    HomeWindow(const HomeWindow&) = delete;
    HomeWindow& operator=(const HomeWindow&) = delete;

    // Each of these completes at the home before it returns (one round trip).
    std::uint64_t load(std::size_t word);
    std::uint64_t fetch_add(std::size_t word, std::uint64_t value);
    std::uint64_t fetch_or(std::size_t word, std::uint64_t value);
    std::uint64_t fetch_and(std::size_t word, std::uint64_t value);
    // As std::atomic::compare_exchange_strong: true if the word held `expected` and now
    // holds `desired`; else false and `expected` is what it held.
    bool compare_exchange(std::size_t word, std::uint64_t& expected, std::uint64_t desired);
    void store(std::size_t word, std::uint64_t value);

    // Issued, not completed: they reach the home in issue order, and complete at flush().
    // put_words reads `from` and get_words fills `to` until then.
    void put_words(std::size_t word, const std::uint64_t* from, std::size_t count);
    void add(std::size_t word, std::uint64_t value);
    void get_words(std::size_t word, std::uint64_t* to, std::size_t count);
    void store_later(std::size_t word, std::uint64_t value);
    void flush();

    int rank() const { return rank_; }
    int size() const { return size_; }
    const std::string& what() const { return what_; }

private:
    void check(int code, const char* call) const;
    std::uint64_t fetch_op(std::size_t word, std::uint64_t value, MPI_Op op);
    // MPI reads an origin buffer until the flush: scalar operands wait here till then.
    const std::uint64_t* staged(std::uint64_t value);

    std::string what_;
    int home_;
    int rank_ = 0, size_ = 1;
    MPI_Win win_ = MPI_WIN_NULL;
    std::uint64_t staging_[8] = {};
    std::size_t staged_ = 0;
};

// Polls `ready` until it returns true, backing off from immediate retries to a yield and
// then to sleeps of up to 100 us. Every poll is itself an MPI call, so a waiting rank keeps
// driving MPI's progress (Open MPI's osc/pt2pt needs the home to enter MPI for that), and a
// long wait leaves the core to ranks that compute. Returns false once `deadline_ns`
// (monotonic clock; < 0: none) has passed.
template <class Ready>
bool poll_until(Ready&& ready, long deadline_ns = -1);

long monotonic_now_ns();
void back_off(unsigned& round);

template <class Ready>
bool poll_until(Ready&& ready, long deadline_ns) {
    for (unsigned round = 0;; back_off(round)) {
        if (ready()) return true;
        if (deadline_ns >= 0 && monotonic_now_ns() >= deadline_ns) return false;
    }
}

}  // namespace spmd::detail
