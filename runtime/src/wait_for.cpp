#include "spmd/detail/wait_for.hpp"

#include <algorithm>
#include <cstring>

#include "spmd/detail/job.hpp"

namespace spmd::detail {

namespace {
JobSegment* waiting_job = nullptr;
int waiting_rank = 0;

// A rank that left cleanly (code 0, World closed) can never again send, signal or
// arrive. A rank that failed is not "departed" here: the launcher is about to raise the
// abort flag, and its waiters report that failure instead.
bool departed(const RankReport& report) {
    return report.exited.load(std::memory_order_acquire) != 0 &&
           report.exit_status.load(std::memory_order_acquire) == 0 &&
           report.world.load(std::memory_order_acquire) == std::uint32_t(WorldState::closed);
}

bool has_tag(WaitCall call) {
    return call == WaitCall::recv || call == WaitCall::probe || call == WaitCall::send;
}
}  // namespace

const char* call_name(WaitCall call) {
    switch (call) {
        case WaitCall::none:
            return "a wait";
        case WaitCall::barrier:
            return "barrier";
        case WaitCall::recv:
            return "recv";
        case WaitCall::probe:
            return "probe";
        case WaitCall::send:
            return "send";
        case WaitCall::broadcast:
            return "broadcast";
        case WaitCall::reduce:
            return "reduce";
        case WaitCall::all_reduce:
            return "all_reduce";
        case WaitCall::gather:
            return "gather";
        case WaitCall::all_gather:
            return "all_gather";
        case WaitCall::scatter:
            return "scatter";
        case WaitCall::shared:
            return "shared";
        case WaitCall::pop:
            return "pop";
        case WaitCall::push:
            return "push";
        case WaitCall::join:
            return "join";
        case WaitCall::event_wait:
            return "wait";
        case WaitCall::lock:
            return "lock";
    }
    return "a wait";
}

std::string describe_wait(const PublishedWait& wait) {
    std::string text = call_name(wait.call);
    if (!wait.object.empty()) {
        const char* kind = wait.call == WaitCall::event_wait ? "event"
                           : wait.call == WaitCall::lock     ? "lock"
                                                             : "queue";
        text += std::string(" of ") + kind + " '" + wait.object + "'";
    }
    const bool held = wait.call == WaitCall::lock;
    const char* link = held                          ? " held by"
                       : wait.call == WaitCall::send ? " to"
                       : has_tag(wait.call)          ? " from"
                                                     : " for";
    if (wait.peer >= 0)
        text += std::string(link) + " rank " + std::to_string(wait.peer);
    else if (!held && wait.object.empty())
        text += std::string(link) + " any rank";
    if (has_tag(wait.call))
        text += wait.tag < 0 ? " (any tag)" : " (tag " + std::to_string(wait.tag) + ")";
    return text;
}

PublishedWait read_wait(const WaitRecord& record) {
    PublishedWait wait;
    for (int attempt = 0; attempt < 100; ++attempt) {
        const std::uint32_t seq = record.seq.load(std::memory_order_seq_cst);
        if ((seq & 1u) == 0) return {};
        wait.seq = seq;
        wait.call = WaitCall(record.call.load(std::memory_order_relaxed));
        wait.peer = record.peer.load(std::memory_order_relaxed);
        wait.tag = record.tag.load(std::memory_order_relaxed);
        wait.timed = record.timed.load(std::memory_order_relaxed) != 0;
        wait.since_ns = long(record.since_ns.load(std::memory_order_relaxed));
        wait.checks = record.checks.load(std::memory_order_relaxed);
        char name[sizeof record.object];
        for (std::size_t i = 0; i < sizeof name; ++i)  // racy bytes, checked by seq below
            name[i] = std::atomic_ref<const char>(record.object[i]).load(std::memory_order_relaxed);
        name[sizeof name - 1] = '\0';
        wait.object = name;
        std::atomic_thread_fence(std::memory_order_acquire);
        if (record.seq.load(std::memory_order_relaxed) == seq) {
            wait.blocked = true;
            return wait;
        }
    }
    return {};  // changing too fast to be blocked
}

void set_waiting_rank(JobSegment* job, int rank) {
    waiting_job = job;
    waiting_rank = rank;
}

SlowWait::SlowWait(const WaitFor& what, long since_ns, bool timed) : what_(what), timed_(timed) {
    if (!waiting_job) return;
    asleep_ = &waiting_job->header().asleep;
    asleep_->fetch_add(1, std::memory_order_relaxed);
    if (what.call == WaitCall::none) return;
    WaitRecord& record = waiting_job->report(waiting_rank).wait;
    record_ = &record;
    const std::uint32_t seq = record.seq.load(std::memory_order_relaxed);
    record.seq.store(seq | 1u, std::memory_order_relaxed);  // odd: being written (and blocked)
    std::atomic_thread_fence(std::memory_order_release);
    record.call.store(std::uint32_t(what.call), std::memory_order_relaxed);
    record.peer.store(what.peer, std::memory_order_relaxed);
    record.tag.store(what.tag, std::memory_order_relaxed);
    record.timed.store(timed, std::memory_order_relaxed);
    record.since_ns.store(since_ns, std::memory_order_relaxed);
    const char* name = what.object ? what.object : "";
    const std::size_t n = std::min(std::strlen(name), sizeof record.object - 1);
    for (std::size_t i = 0; i < sizeof record.object; ++i)
        std::atomic_ref<char>(record.object[i])
            .store(i < n ? name[i] : '\0', std::memory_order_relaxed);
    // A fresh odd value: readers that saw the half-written one see a change and retry.
    record.seq.store((seq | 1u) + 2, std::memory_order_seq_cst);
}

SlowWait::~SlowWait() {
    if (asleep_) asleep_->fetch_sub(1, std::memory_order_relaxed);
    if (!record_) return;
    record_->seq.store(record_->seq.load(std::memory_order_relaxed) + 1, std::memory_order_seq_cst);
}

bool SlowWait::hopeless() {
    if (!record_) return false;
    std::atomic_thread_fence(std::memory_order_seq_cst);
    record_->checks.fetch_add(1, std::memory_order_relaxed);
    if (timed_) return false;
    const JobSegment& job = *waiting_job;
    if (what_.announced && what_.announced->load(std::memory_order_acquire) > what_.next)
        return false;  // an envelope is on its way
    if (what_.peer >= 0) {
        if (what_.peer == waiting_rank || !departed(job.report(what_.peer))) return false;
        departed_ = what_.peer;
        return true;
    }
    for (int r = 0; r < job.size(); ++r)
        if (r != waiting_rank && !departed(job.report(r))) return false;
    departed_ = any_peer;
    return true;
}

void SlowWait::fail() const {
    PublishedWait wait;
    wait.call = what_.call;
    wait.peer = what_.peer;
    wait.tag = what_.tag;
    wait.object = what_.object ? what_.object : "";
    std::string text = "rank " + std::to_string(waiting_rank) + " waits in " + describe_wait(wait);
    if (departed_ >= 0)
        text += ", which exited with code " +
                std::to_string(waiting_job->report(departed_).exit_status.load());
    else
        text += waiting_job->size() == 1 ? ", and no other rank exists"
                                         : ", and every other rank has exited";
    throw PeerExited(text);
}

}  // namespace spmd::detail
