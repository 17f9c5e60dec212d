// Tracing: each rank records what it does (barrier rounds, messages, collectives, loop
// chunks, queue operations, shared arrays) as fixed-size events in its own region of a
// buffer that mprun shares with the ranks (mprun --trace; SPMD_TRACE names the buffer's
// descriptor). No locks and no I/O: a rank writes an event, then publishes its count, so
// a rank that dies leaves every event it finished. Off, a hook costs one predictable
// branch on a global flag; a hook is one line: `trace::Span span(Kind::send, dest, tag, n);`
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace spmd::detail::trace {

enum class Kind : std::uint16_t {
    barrier,        // a = epoch
    barrier_round,  // detail = round, peer = rank signalled, peer2 = rank waited for, a = epoch
    send,           // peer = dest, peer2 = tag, a = bytes
    recv,           // peer = source, peer2 = tag (as matched), a = bytes
    collective,     // detail = Collective, peer = root (-1: all), a = bytes
    chunk,          // a loop range [a, b) handed to this rank; detail = Schedule
    queue_push,     // a = item bytes
    queue_pop,      // a = item bytes, detail = 1 when the queue was closed and drained
    shared_array,   // a = bytes, label = name
    value_wait,     // a small all_reduce waits for one rank's value: peer = that rank, a = bytes
};
enum class Collective : std::uint16_t { broadcast, reduce, all_reduce, gather, scatter };

std::string_view name_of(Kind kind);
std::string_view name_of(Collective kind);

// One cache line: the rank writes it with plain stores and publishes it with its count.
// No default member initializers: a Span holds one, and must cost nothing when off.
struct Event {
    std::uint64_t begin_ns, end_ns;  // CLOCK_MONOTONIC, shared by all processes
    std::uint64_t a, b;
    std::int32_t peer, peer2;
    Kind kind;
    std::uint16_t detail;
    std::uint32_t unused;
    char label[16];
};
static_assert(sizeof(Event) == 64, "an event is one cache line");

// A rank's region: written by that rank only, read by mprun after the job.
struct alignas(64) RankLog {
    std::atomic<std::uint64_t> count{0};    // events[0, count) are complete
    std::atomic<std::uint64_t> dropped{0};  // events that found the log full
    std::uint64_t capacity = 0;
};
static_assert(std::atomic<std::uint64_t>::is_always_lock_free,
              "the count is shared between processes");

#ifdef SPMD_NO_TRACE
inline constexpr bool on = false;  // built with -DSPMD_TRACE=OFF: every hook compiles away
#else
extern bool on;  // set once, when a World attaches to a traced job
#endif

std::uint64_t now_ns() noexcept;
void commit(const Event& event) noexcept;

// Reads SPMD_TRACE (if set) and maps this rank's log; throws spmd::Error when it is bad.
void attach_from_environment(int rank, int size);

// Records [construction, destruction) as one event; does nothing when tracing is off.
class Span {
public:
    explicit Span(Kind kind, int peer = -1, int peer2 = -1, std::uint64_t a = 0,
                  std::uint16_t detail = 0) {
        if (on) [[unlikely]]
            event_ = Event{now_ns(), 0, a, 0, peer, peer2, kind, detail, 0, {}};
    }
    ~Span() {
        if (on) [[unlikely]] {
            event_.end_ns = now_ns();
            commit(event_);
        }
    }
    Span(const Span&) = delete;
    Span& operator=(const Span&) = delete;

    // What only the end of the call knows (a recv's source, tag and size).
    void result(int peer, int peer2, std::uint64_t a) {
        event_.peer = peer;
        event_.peer2 = peer2;
        event_.a = a;
    }
    void set_detail(std::uint16_t detail) { event_.detail = detail; }

private:
    Event event_;
};

// A loop range handed to this rank (an instant).
void record_chunk_slow(std::uint64_t begin, std::uint64_t end, std::uint16_t policy) noexcept;
inline void chunk(std::uint64_t begin, std::uint64_t end, std::uint16_t policy) {
    if (on) [[unlikely]]
        if (begin < end) record_chunk_slow(begin, end, policy);
}

// A shared array made (an instant, labelled with the first 15 bytes of its name).
void record_shared_slow(std::string_view name, std::uint64_t bytes) noexcept;
inline void shared_array(std::string_view name, std::uint64_t bytes) {
    if (on) [[unlikely]]
        record_shared_slow(name, bytes);
}

// The buffer as mprun sees it: one log per rank behind a header, in an anonymous
// shared-memory file whose descriptor the ranks inherit.
class Buffer {
public:
    Buffer(int ranks, std::uint64_t events_per_rank);
    ~Buffer();
    Buffer(const Buffer&) = delete;
    Buffer& operator=(const Buffer&) = delete;

    int fd() const { return fd_; }
    int ranks() const { return ranks_; }
    const RankLog& log(int rank) const;
    const Event* events(int rank) const;

private:
    int fd_ = -1;
    int ranks_ = 0;
    std::size_t bytes_ = 0;
    void* base_ = nullptr;
};

}  // namespace spmd::detail::trace
