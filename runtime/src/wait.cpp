#include "spmd/detail/wait.hpp"

#include <sched.h>

#include <algorithm>
#include <cstdlib>
#include <ctime>

namespace spmd::detail {

namespace {
long env_or(const char* name, long fallback) {
    const char* text = std::getenv(name);
    if (!text || !*text) return fallback;
    char* end = nullptr;
    long value = std::strtol(text, &end, 10);
    return (*end == '\0' && value >= 0) ? value : fallback;
}

}  // namespace

int usable_cores() {
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0) return CPU_COUNT(&set);
    return 1;
}

WaitPolicy make_wait_policy(int ranks, int cores, const std::atomic<std::uint32_t>* asleep) {
    // With a core each, a peer is usually a few hundred nanoseconds away: poll. With
    // more ranks awake than cores, the peer may need our core: yield at once (measured:
    // 0 polls beat 4 and 64 at N = 4 and 8 on 2 cores); budget() decides per wait.
    WaitPolicy policy{};
    policy.ranks = ranks;
    policy.cores = std::max(cores, 1);
    policy.asleep = asleep;
    policy.max_polls = int(env_or("SPMD_WAIT_POLLS", 4000));
    policy.polls = policy.max_polls;
    policy.yield_ns = env_or("SPMD_WAIT_YIELD_US", 500) * 1000;
    policy.sleep_ns = 50'000'000;  // bounds how late a sleeper sees an abort nobody woke
    return policy;
}

WaitPolicy& wait_policy() {
    static WaitPolicy policy = make_wait_policy(1, usable_cores());
    return policy;
}

void throw_aborted() {
    throw Aborted("the job is aborting: another rank failed or called abort");
}

long monotonic_ns() {
    timespec now{};
    clock_gettime(CLOCK_MONOTONIC, &now);
    return now.tv_sec * 1000000000L + now.tv_nsec;
}

void yield_core() {
    sched_yield();
}

}  // namespace spmd::detail
