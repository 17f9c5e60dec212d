// A preloaded shim for test_rbf_crash (LD_PRELOAD): in rank 1 (SPMD_RANK=1), a shared
// mapping of a file that has no name, the kernel's O_TMPFILE output, stops the process with
// SIGSTOP as soon as mmap returns. The test then knows, without timing, that the rank holds
// the output mid-write and that the job cannot commit it, and kills the rank there.
#include <dlfcn.h>
#include <sys/mman.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {
bool is_unnamed_output(int fd) {
    char target[4096];
    const std::string link = "/proc/self/fd/" + std::to_string(fd);
    const ssize_t n = readlink(link.c_str(), target, sizeof target - 1);
    if (n <= 0) return false;
    const std::string path(target, std::size_t(n));
    // O_TMPFILE's file reads "/dir/#inode (deleted)"; without O_TMPFILE it is a named
    // "<path>.tmp.<pid>.<n>". Shared arrays live in /dev/shm.
    const bool unnamed = path.size() > 10 && path.compare(path.size() - 10, 10, " (deleted)") == 0;
    return path.rfind("/dev/shm/", 0) != 0 &&
           (unnamed || path.find(".npy.tmp.") != std::string::npos);
}
}  // namespace

extern "C" void* mmap(void* addr, size_t length, int prot, int flags, int fd, off_t offset) {
    using Mmap = void* (*)(void*, size_t, int, int, int, off_t);
    static const auto real = reinterpret_cast<Mmap>(dlsym(RTLD_NEXT, "mmap"));
    void* p = real(addr, length, prot, flags, fd, offset);
    const char* rank = std::getenv("SPMD_RANK");
    if (p != MAP_FAILED && fd >= 0 && (flags & MAP_SHARED) && rank && std::strcmp(rank, "1") == 0 &&
        is_unnamed_output(fd))
        std::raise(SIGSTOP);
    return p;
}
