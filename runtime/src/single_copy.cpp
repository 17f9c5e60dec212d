#include "spmd/detail/single_copy.hpp"

#include <sys/prctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <string_view>

namespace spmd::detail {

namespace {
// SPMD_NO_SINGLE_COPY=1 refuses the single copy from the start, as Yama or seccomp would
// (to test the fallbacks).
bool refused_by_environment() {
    const char* value = std::getenv("SPMD_NO_SINGLE_COPY");
    return value && std::string_view(value) == "1";
}
std::atomic<bool> refused{refused_by_environment()};
std::atomic<std::uint64_t> delivered{0};
}  // namespace

void allow_single_copy_from_siblings() {
    // Under Yama's "restricted" mode only a process's ancestors may write into it, and
    // ranks are siblings: name the parent (the launcher), whose descendants then may.
    std::ifstream scope("/proc/sys/kernel/yama/ptrace_scope");
    int mode = 0;
    if (scope >> mode && mode == 1) prctl(PR_SET_PTRACER, getppid(), 0, 0, 0);
}

namespace {
template <class Move>
bool move_bytes(pid_t pid, std::uint64_t address, void* data, std::size_t bytes, Move&& move) {
    if (pid <= 0 || refused.load(std::memory_order_relaxed)) return false;
    const iovec local{data, bytes};
    const iovec remote{reinterpret_cast<void*>(address), bytes};
    const ssize_t moved = move(pid, &local, 1, &remote, 1, 0);
    if (moved < 0 && (errno == EPERM || errno == ENOSYS || errno == EACCES))
        refused.store(true, std::memory_order_relaxed);
    if (moved != static_cast<ssize_t>(bytes)) return false;
    delivered.fetch_add(1, std::memory_order_relaxed);
    return true;
}
}  // namespace

bool write_into(pid_t pid, std::uint64_t address, const void* data, std::size_t bytes) {
    return move_bytes(pid, address, const_cast<void*>(data), bytes, process_vm_writev);
}

bool read_from(pid_t pid, std::uint64_t address, void* data, std::size_t bytes) {
    return move_bytes(pid, address, data, bytes, process_vm_readv);
}

bool single_copy_available() {
    return !refused.load(std::memory_order_relaxed);
}

std::uint64_t single_copies() {
    return delivered.load(std::memory_order_relaxed);
}

}  // namespace spmd::detail
