// The one wait policy of the runtime: every blocking primitive waits through it.
// Poll the condition a little (a cache-line hand-off costs ~60 ns here), then yield the
// core (with more ranks than cores the peer we wait for needs it), and only after a long
// wait sleep on a futex (a wake-up costs ~30 us on this VM). Sleeps are bounded so that
// a waiter re-checks the job's abort flag even if nobody wakes it. A wait that sleeps
// publishes what it waits for and fails at once if that can no longer come (wait_for.hpp).
#pragma once
#include <algorithm>
#include <atomic>
#include <cstdint>

#include "spmd/detail/futex.hpp"
#include "spmd/detail/wait_for.hpp"
#include "spmd/error.hpp"

namespace spmd::detail {

struct WaitPolicy {
    int polls;  // busy polls before the first yield: adapts between 16 and max
    int max_polls;
    long yield_ns;  // how long to keep yielding before sleeping
    long sleep_ns;  // the longest futex sleep before re-checking the abort flag
    int ranks = 1, cores = 1;
    // The job's count of ranks asleep in a wait's last stage (JobHeader::asleep), or null.
    const std::atomic<std::uint32_t>* asleep = nullptr;

    // Busy polls for a wait starting now: none while more ranks are awake than there are
    // cores (the peer we wait for may need ours), else the adaptive budget. Ranks asleep
    // on a futex need no core: two ranks trading messages while the others of a job of
    // 8 on 2 cores sleep poll as a job of 2 does.
    int budget() const {
        if (ranks <= cores) return polls;
        const int awake = ranks - (asleep ? int(asleep->load(std::memory_order_relaxed)) : 0);
        return awake <= cores ? polls : 0;
    }
};

// The cores this process may run on (its affinity mask).
int usable_cores();

// From the job's size, the cores its ranks share and the job's count of sleeping ranks
// (null: none known); SPMD_WAIT_POLLS and SPMD_WAIT_YIELD_US override it (for
// experiments, not for users).
WaitPolicy make_wait_policy(int ranks, int cores,
                            const std::atomic<std::uint32_t>* asleep = nullptr);
// The policy of this process (set when its World attaches).
WaitPolicy& wait_policy();

[[noreturn]] void throw_aborted();

// Work this process owes other ranks before it waits for anything: the messenger hands
// back the inbox cells it has read only then (or when it next posts), so that a rank
// answering a message does not stall on that store first. One owner at a time; a new
// owner first runs the old one's work.
struct OwedWork {
    void (*run)(void* owner) = nullptr;
    void* owner = nullptr;
    void settle() {
        if (run) run(owner);  // the owner clears it
    }
};
inline OwedWork owed_before_waiting;

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

long monotonic_ns();
void yield_core();

// Waits until ready() holds and returns true, or returns false once monotonic_ns()
// passes deadline_ns (if not negative). sleep(ns) blocks for at most ns on some futex
// that a notifier wakes; it must re-check ready() after announcing itself and before
// sleeping. Throws spmd::Aborted once *what.abort is set, and PeerExited once the ranks
// `what` needs have exited (checked only while sleeping: polling pays nothing for it).
// ready() may be called again after it returned true, so a ready() with side effects (a
// compare-exchange that takes a lock) must keep returning true once it succeeded.
// The poll budget adapts: a wait that polling ended doubles it, up to max_polls; a wait
// that outlasted it halves it. So when other processes hold the cores (more ranks than
// cores, or a busy machine) a rank soon stops burning the time slice its peer needs,
// and on idle cores it goes back to cheap polling.
template <class Ready, class Sleep>
bool wait_until(const WaitFor& what, Ready&& ready, Sleep&& sleep, long deadline_ns = -1) {
    const std::atomic<std::uint32_t>& abort = *what.abort;
    if (ready()) return true;
    owed_before_waiting.settle();
    WaitPolicy& policy = wait_policy();
    const int budget = policy.budget();
    for (int i = 0; i < budget; ++i) {
        cpu_relax();
        if (ready()) {
            policy.polls = std::min(policy.max_polls, 2 * policy.polls);
            return true;
        }
    }
    if (budget > 16) policy.polls /= 2;
    const long start = monotonic_ns();
    for (unsigned i = 1;; ++i) {
        if (abort.load(std::memory_order_relaxed)) throw_aborted();
        yield_core();
        if (ready()) return true;
        if (i % 8 == 0) {
            const long now = monotonic_ns();
            if (deadline_ns >= 0 && now >= deadline_ns) return false;
            if (now - start > policy.yield_ns) break;
        }
    }
    owed_before_waiting.settle();  // what ready() took while polling, before sleeping
    SlowWait slow(what, start, deadline_ns >= 0);
    for (;;) {
        if (abort.load(std::memory_order_relaxed)) throw_aborted();
        if (slow.hopeless()) {
            if (ready()) return true;
            slow.fail();
        }
        long nap = policy.sleep_ns;
        if (deadline_ns >= 0) {
            const long left = deadline_ns - monotonic_ns();
            if (left <= 0) return ready();
            nap = std::min(nap, left);
        }
        sleep(nap);
        if (ready()) return true;
    }
}

// A futex word for objects with many possible waiters (queues, events, locks):
// waiters announce themselves in `sleepers`, notifiers bump `seq` and wake only when
// someone sleeps, so the uncontended path costs no system call.
struct alignas(64) WaitWord {
    std::atomic<std::uint32_t> seq{0};
    std::atomic<std::uint32_t> sleepers{0};

    // Call after the state change that waiters look for.
    void notify_all() { notify(0x7fffffff); }
    // When only one waiter can use the change (a released lock). The woken one may lose
    // to a rank that never slept; that rank's own notify wakes the next sleeper.
    void notify_one() { notify(1); }

    void notify(int count) {
        std::atomic_thread_fence(std::memory_order_seq_cst);
        if (sleepers.load(std::memory_order_relaxed) != 0) {
            seq.fetch_add(1, std::memory_order_relaxed);
            futex_wake(seq, count);
        }
    }

    // Waits through the policy until ready(); false if deadline_ns (>= 0) passed first.
    template <class Ready>
    bool wait(const WaitFor& what, Ready&& ready, long deadline_ns = -1) {
        return wait_until(
            what, ready,
            [&](long timeout_ns) {
                sleepers.fetch_add(1, std::memory_order_seq_cst);
                const std::uint32_t seen = seq.load(std::memory_order_seq_cst);
                if (!ready()) futex_wait(seq, seen, timeout_ns);
                sleepers.fetch_sub(1, std::memory_order_relaxed);
            },
            deadline_ns);
    }
};

}  // namespace spmd::detail
