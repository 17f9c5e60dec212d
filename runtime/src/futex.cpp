#include "spmd/detail/futex.hpp"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <ctime>

namespace spmd::detail {

void futex_wait(std::atomic<std::uint32_t>& word, std::uint32_t expected, long timeout_ns) {
    timespec timeout{timeout_ns / 1000000000L, timeout_ns % 1000000000L};
    syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAIT, expected, &timeout,
            nullptr, 0);
}

void futex_wake(std::atomic<std::uint32_t>& word, int count) {
    syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAKE, count, nullptr, nullptr,
            0);
}

}  // namespace spmd::detail
