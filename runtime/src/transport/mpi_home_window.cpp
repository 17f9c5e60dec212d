#include "mpi_home_window.hpp"

#include <sched.h>
#include <time.h>

#include <algorithm>
#include <cstring>

#include "spmd/error.hpp"

namespace spmd::detail {

HomeWindow::HomeWindow(std::string what, std::size_t words, int home)
    : what_(std::move(what)), home_(home) {
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
    MPI_Info info;
    MPI_Info_create(&info);
    MPI_Info_set(info, "accumulate_ordering", "rar,raw,war,waw");  // the default, relied on
    MPI_Info_set(info, "same_disp_unit", "true");
    void* base = nullptr;
    const MPI_Aint bytes = rank_ == home_ ? MPI_Aint(words * sizeof(std::uint64_t)) : 0;
    const int code =
        MPI_Win_allocate(bytes, sizeof(std::uint64_t), info, MPI_COMM_WORLD, &base, &win_);
    MPI_Info_free(&info);
    check(code, "MPI_Win_allocate");
    // Zeroed before anyone can reach it: the barrier orders this store before every
    // other rank's first access.
    if (bytes > 0) std::memset(base, 0, std::size_t(bytes));
    MPI_Win_lock_all(MPI_MODE_NOCHECK, win_);
    MPI_Barrier(MPI_COMM_WORLD);
}

HomeWindow::~HomeWindow() {
    MPI_Win_unlock_all(win_);
    MPI_Win_free(&win_);
}

void HomeWindow::check(int code, const char* call) const {
    if (code == MPI_SUCCESS) return;
    char text[MPI_MAX_ERROR_STRING];
    int length = 0;
    MPI_Error_string(code, text, &length);
    throw Error(what_ + ": " + call + " failed: " + std::string(text, std::size_t(length)));
}

std::uint64_t HomeWindow::load(std::size_t word) {
    std::uint64_t unused = 0, value = 0;
    MPI_Fetch_and_op(&unused, &value, MPI_UINT64_T, home_, MPI_Aint(word), MPI_NO_OP, win_);
    flush();
    return value;
}

std::uint64_t HomeWindow::fetch_op(std::size_t word, std::uint64_t value, MPI_Op op) {
    std::uint64_t old = 0;
    MPI_Fetch_and_op(&value, &old, MPI_UINT64_T, home_, MPI_Aint(word), op, win_);
    flush();
    return old;
}

std::uint64_t HomeWindow::fetch_add(std::size_t word, std::uint64_t value) {
    return fetch_op(word, value, MPI_SUM);
}

std::uint64_t HomeWindow::fetch_or(std::size_t word, std::uint64_t value) {
    return fetch_op(word, value, MPI_BOR);
}

std::uint64_t HomeWindow::fetch_and(std::size_t word, std::uint64_t value) {
    return fetch_op(word, value, MPI_BAND);
}

bool HomeWindow::compare_exchange(std::size_t word, std::uint64_t& expected,
                                  std::uint64_t desired) {
    std::uint64_t seen = 0;
    MPI_Compare_and_swap(&desired, &expected, &seen, MPI_UINT64_T, home_, MPI_Aint(word), win_);
    flush();
    const bool swapped = seen == expected;
    expected = seen;
    return swapped;
}

void HomeWindow::store(std::size_t word, std::uint64_t value) {
    store_later(word, value);
    flush();
}

void HomeWindow::put_words(std::size_t word, const std::uint64_t* from, std::size_t count) {
    MPI_Accumulate(from, int(count), MPI_UINT64_T, home_, MPI_Aint(word), int(count), MPI_UINT64_T,
                   MPI_REPLACE, win_);
}

const std::uint64_t* HomeWindow::staged(std::uint64_t value) {
    if (staged_ == std::size(staging_)) flush();
    staging_[staged_] = value;
    return &staging_[staged_++];
}

void HomeWindow::add(std::size_t word, std::uint64_t value) {
    MPI_Accumulate(staged(value), 1, MPI_UINT64_T, home_, MPI_Aint(word), 1, MPI_UINT64_T, MPI_SUM,
                   win_);
}

void HomeWindow::get_words(std::size_t word, std::uint64_t* to, std::size_t count) {
    MPI_Get_accumulate(nullptr, 0, MPI_UINT64_T, to, int(count), MPI_UINT64_T, home_,
                       MPI_Aint(word), int(count), MPI_UINT64_T, MPI_NO_OP, win_);
}

void HomeWindow::store_later(std::size_t word, std::uint64_t value) {
    MPI_Accumulate(staged(value), 1, MPI_UINT64_T, home_, MPI_Aint(word), 1, MPI_UINT64_T,
                   MPI_REPLACE, win_);
}

void HomeWindow::flush() {
    MPI_Win_flush(home_, win_);
    staged_ = 0;
}

long monotonic_now_ns() {
    timespec t{};
    clock_gettime(CLOCK_MONOTONIC, &t);
    return long(t.tv_sec) * 1'000'000'000L + t.tv_nsec;
}

void back_off(unsigned& round) {
    ++round;
    if (round < 16) return;  // a hand-off in progress: poll again at once
    if (round < 32) {
        sched_yield();
        return;
    }
    // Sleeps grow 1, 2, 4 ... 64, then 100 us: well under a cross-host round trip here
    // (about 100 us), and long enough to free the core on an oversubscribed host.
    const long us = std::min(100L, 1L << std::min(6u, (round - 32) / 8));
    timespec pause{0, us * 1000};
    nanosleep(&pause, nullptr);
}

}  // namespace spmd::detail
