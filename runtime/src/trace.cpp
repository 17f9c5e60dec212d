#include "spmd/detail/trace.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>

#include "spmd/error.hpp"

namespace spmd::detail::trace {

#ifndef SPMD_NO_TRACE
bool on = false;
#endif

namespace {

constexpr std::uint64_t magic = 0x3130656361727473;  // "strace01", little-endian

struct alignas(64) Header {
    std::uint64_t magic;
    std::uint32_t ranks;
    std::uint32_t unused;
    std::uint64_t capacity;  // events per rank
};

std::size_t stride(std::uint64_t capacity) {
    return sizeof(RankLog) + capacity * sizeof(Event);
}

RankLog* log_at(void* base, int rank, std::uint64_t capacity) {
    return reinterpret_cast<RankLog*>(static_cast<std::byte*>(base) + sizeof(Header) +
                                      std::size_t(rank) * stride(capacity));
}

RankLog* mine = nullptr;
Event* my_events = nullptr;

}  // namespace

std::string_view name_of(Kind kind) {
    switch (kind) {
        case Kind::barrier:
            return "barrier";
        case Kind::barrier_round:
            return "round";
        case Kind::send:
            return "send";
        case Kind::recv:
            return "recv";
        case Kind::collective:
            return "collective";
        case Kind::chunk:
            return "chunk";
        case Kind::queue_push:
            return "queue push";
        case Kind::queue_pop:
            return "queue pop";
        case Kind::shared_array:
            return "shared array";
        case Kind::value_wait:
            return "value wait";
    }
    return "?";
}

std::string_view name_of(Collective kind) {
    switch (kind) {
        case Collective::broadcast:
            return "broadcast";
        case Collective::reduce:
            return "reduce";
        case Collective::all_reduce:
            return "all_reduce";
        case Collective::gather:
            return "gather";
        case Collective::scatter:
            return "scatter";
    }
    return "?";
}

std::uint64_t now_ns() noexcept {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return std::uint64_t(ts.tv_sec) * 1000000000u + std::uint64_t(ts.tv_nsec);
}

// Only this rank writes its log, so a relaxed read of the count is its own last store;
// the release store publishes the event to mprun, which reads after the rank is gone.
void commit(const Event& event) noexcept {
    const std::uint64_t n = mine->count.load(std::memory_order_relaxed);
    if (n >= mine->capacity) {
        mine->dropped.store(mine->dropped.load(std::memory_order_relaxed) + 1,
                            std::memory_order_relaxed);
        return;
    }
    my_events[n] = event;
    mine->count.store(n + 1, std::memory_order_release);
}

void record_chunk_slow(std::uint64_t begin, std::uint64_t end, std::uint16_t policy) noexcept {
    Event event{};
    event.kind = Kind::chunk;
    event.begin_ns = event.end_ns = now_ns();
    event.a = begin;
    event.b = end;
    event.detail = policy;
    commit(event);
}

void record_shared_slow(std::string_view name, std::uint64_t bytes) noexcept {
    Event event{};
    event.kind = Kind::shared_array;
    event.begin_ns = event.end_ns = now_ns();
    event.a = bytes;
    std::memcpy(event.label, name.data(), std::min(name.size(), sizeof event.label - 1));
    commit(event);
}

void attach_from_environment(int rank, int size) {
    const char* text = std::getenv("SPMD_TRACE");
    if (!text || !*text || mine) return;  // a later World of the same rank keeps the log
#ifdef SPMD_NO_TRACE
    throw Error("SPMD_TRACE is set, but this build has tracing compiled out (-DSPMD_TRACE=OFF)");
#endif
    auto bad = [&](const std::string& why) {
        return Error(std::string("SPMD_TRACE='") + text + "' " + why);
    };
    char* end = nullptr;
    errno = 0;
    const long fd = std::strtol(text, &end, 10);
    if (*end || errno || fd < 0 || fd > 1 << 20)
        throw bad("is not a file descriptor number (set by mprun --trace)");
    struct stat st {};
    if (fstat(int(fd), &st) != 0 || std::size_t(st.st_size) < sizeof(Header))
        throw bad("is not an open trace buffer (set by mprun --trace)");
    void* base =
        mmap(nullptr, std::size_t(st.st_size), PROT_READ | PROT_WRITE, MAP_SHARED, int(fd), 0);
    close(int(fd));  // the mapping is enough; the rank's own children need not inherit it
    if (base == MAP_FAILED) throw bad(std::string("cannot be mapped: ") + std::strerror(errno));
    const auto& header = *static_cast<const Header*>(base);
    if (header.magic != magic || header.ranks != std::uint32_t(size) ||
        sizeof(Header) + size * stride(header.capacity) > std::size_t(st.st_size))
        throw bad("is not a trace buffer for " + std::to_string(size) + " ranks");
    mine = log_at(base, rank, header.capacity);
    my_events = reinterpret_cast<Event*>(mine + 1);
#ifndef SPMD_NO_TRACE
    on = true;
#endif
}

Buffer::Buffer(int ranks, std::uint64_t events_per_rank) : ranks_(ranks) {
    bytes_ = sizeof(Header) + std::size_t(ranks) * stride(events_per_rank);
    // Not close-on-exec: the ranks inherit it. Anonymous, so nothing is left in /dev/shm.
    fd_ = memfd_create("mprun-trace", 0);
    if (fd_ < 0) throw Error(std::string("trace buffer: memfd_create: ") + std::strerror(errno));
    if (ftruncate(fd_, off_t(bytes_)) != 0 ||
        (base_ = mmap(nullptr, bytes_, PROT_READ | PROT_WRITE, MAP_SHARED, fd_, 0)) == MAP_FAILED) {
        const std::string why = std::strerror(errno);
        close(fd_);
        throw Error("trace buffer of " + std::to_string(bytes_) + " bytes: " + why);
    }
    auto* header = new (base_) Header{magic, std::uint32_t(ranks), 0, events_per_rank};
    for (int r = 0; r < ranks; ++r) new (log_at(base_, r, header->capacity)) RankLog{};
    for (int r = 0; r < ranks; ++r) log_at(base_, r, events_per_rank)->capacity = events_per_rank;
}

Buffer::~Buffer() {
    munmap(base_, bytes_);
    close(fd_);
}

const RankLog& Buffer::log(int rank) const {
    return *log_at(base_, rank, static_cast<const Header*>(base_)->capacity);
}

const Event* Buffer::events(int rank) const {
    return reinterpret_cast<const Event*>(&log(rank) + 1);
}

}  // namespace spmd::detail::trace
