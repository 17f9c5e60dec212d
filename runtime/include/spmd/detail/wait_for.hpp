// What a blocked rank waits in and for whom. Every wait carries a WaitFor; it costs
// nothing while the wait is short. Once a wait gets long (it goes to sleep), the rank
// publishes it in its WaitRecord in the job segment, where mprun finds deadlocks (every
// live rank blocked, none moving) and says at a timeout where each rank was; and the
// wait checks whether the ranks it needs have exited, failing at once if so.
#pragma once
#include <atomic>
#include <cstdint>
#include <string>

#include "spmd/error.hpp"

namespace spmd::detail {

class JobSegment;

enum class WaitCall : std::uint32_t {
    none = 0,  // an undescribed wait: never published, never checked
    barrier,
    recv,
    probe,
    send,
    broadcast,
    reduce,
    all_reduce,
    gather,
    all_gather,
    scatter,
    shared,
    pop,
    push,
    join,
    event_wait,
    lock,
};

// "all_reduce", "recv", ...
const char* call_name(WaitCall call);

// WaitFor::peer when any other rank may end the wait (a queue pop, recv from any_source):
// such a wait is hopeless only once every other rank has exited.
constexpr int any_peer = -1;

struct WaitFor {
    const std::atomic<std::uint32_t>* abort;  // the job's abort flag
    WaitCall call = WaitCall::none;
    int peer = any_peer;
    int tag = -1;                  // recv/probe/send: the tag (-1: any tag)
    const char* object = nullptr;  // the queue's, event's or lock's name
    // Inbox waits: senders have taken tickets up to *announced and ours is `next`. A ticket
    // taken is an envelope on its way, so the wait is not hopeless while one is out.
    const std::atomic<std::uint64_t>* announced = nullptr;
    std::uint64_t next = 0;

    // An undescribed wait (it still throws spmd::Aborted once the job fails).
    WaitFor(const std::atomic<std::uint32_t>& abort_flag) : abort(&abort_flag) {}
    WaitFor(const std::atomic<std::uint32_t>& abort_flag, WaitCall what, int for_peer,
            int with_tag = -1, const char* name = nullptr)
        : abort(&abort_flag), call(what), peer(for_peer), tag(with_tag), object(name) {}
};

// A rank's published wait, in its slot of the job segment. Written by the rank only when
// a wait goes to sleep; read by mprun as a seqlock (seq odd while blocked, and the same
// before and after reading the fields).
struct alignas(64) WaitRecord {
    std::atomic<std::uint32_t> seq{0};
    std::atomic<std::uint32_t> call{0};  // WaitCall
    std::atomic<std::int32_t> peer{0};
    std::atomic<std::int32_t> tag{0};
    std::atomic<std::uint32_t> timed{0};  // a wait with a deadline ends by itself
    std::atomic<std::int64_t> since_ns{0};
    // Times the blocked rank re-checked its condition and found it false. Two more since
    // mprun saw every live rank blocked means each looked at a state nobody can change.
    std::atomic<std::uint64_t> checks{0};
    char object[40] = {};
};

// What mprun reads of a record: a consistent copy, or blocked = false.
struct PublishedWait {
    bool blocked = false;
    bool timed = false;
    WaitCall call = WaitCall::none;
    int peer = any_peer;
    int tag = -1;
    long since_ns = 0;
    std::uint32_t seq = 0;
    std::uint64_t checks = 0;
    std::string object;
};
PublishedWait read_wait(const WaitRecord& record);

// "recv from rank 1 (tag 0)", "barrier for rank 3", "pop of queue 'jobs'".
std::string describe_wait(const PublishedWait& wait);

// The rank whose waits this process publishes (set by World; none before).
void set_waiting_rank(JobSegment* job, int rank);

// The slow part of one wait: publishes it, checks for departed peers, and counts the
// rank in the job's ranks asleep (which the others' wait policy reads).
class SlowWait {
public:
    SlowWait(const WaitFor& what, long since_ns, bool timed);
    ~SlowWait();
    SlowWait(const SlowWait&) = delete;
    SlowWait& operator=(const SlowWait&) = delete;

    // After ready() was false: counts the check, and true if the ranks the wait needs
    // have all exited (the caller checks ready() once more: a peer's writes come before
    // its exit record, so a message or signal it left is seen then).
    bool hopeless();
    [[noreturn]] void fail() const;

private:
    const WaitFor& what_;
    bool timed_;  // a wait with a deadline ends by itself: it is never hopeless
    WaitRecord* record_ = nullptr;
    std::atomic<std::uint32_t>* asleep_ = nullptr;
    int departed_ = -1;  // the exited peer, or any_peer when every other rank exited
};

}  // namespace spmd::detail
