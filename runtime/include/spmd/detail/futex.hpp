// The futex system call on 32-bit words of a shared mapping. Not the FUTEX_PRIVATE
// variants: waiters and wakers are different processes. (C++20 atomic::wait is not
// promised to work across processes, hence this.)
#pragma once
#include <atomic>
#include <cstdint>

namespace spmd::detail {

static_assert(sizeof(std::atomic<std::uint32_t>) == 4 &&
                  std::atomic<std::uint32_t>::is_always_lock_free,
              "futex words must be plain lock-free 32-bit atomics");

// Sleeps while *word == expected, for at most timeout_ns; returns on a wake-up, a
// changed value, a signal or the timeout (callers re-check their condition).
void futex_wait(std::atomic<std::uint32_t>& word, std::uint32_t expected, long timeout_ns);
// Wakes up to count sleepers on word.
void futex_wake(std::atomic<std::uint32_t>& word, int count);

}  // namespace spmd::detail
