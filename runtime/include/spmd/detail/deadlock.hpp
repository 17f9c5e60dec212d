// Deadlock detection from the ranks' published waits (wait_for.hpp), run by the parent of
// a job (mprun, spmd::launch) on a periodic tick. A job is deadlocked once every live rank
// has been blocked in the same wait for a while and each has re-checked its condition
// since all of them were blocked: ranks in waits write nothing a wait looks at, so no
// condition can change any more. MPI has no such check (it needs a tool such as MUST).
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "spmd/detail/job.hpp"

namespace spmd::detail {

class DeadlockDetector {
public:
    DeadlockDetector(const JobSegment& job, long after_ns) : job_(job), after_ns_(after_ns) {}

    // Looks at the live ranks' waits at time now; once they are deadlocked, returns the
    // report: "rank 0 waits in recv from rank 1 (tag 0); rank 1 waits in recv from rank 0
    // (tag 0)", the wait-for cycle if there is one, else every live rank's wait.
    std::optional<std::string> check(const std::vector<int>& live, long now);

private:
    const JobSegment& job_;
    long after_ns_;
    std::vector<int> ranks_;            // the live ranks of the candidate
    std::vector<PublishedWait> first_;  // their waits when all were first seen blocked
    long first_seen_ = -1;
};

// "rank 0 waits in barrier for rank 1, for 2.0 s" or "rank 1 is running, not in a wait".
std::string where_is(const JobSegment& job, int rank, long now);

}  // namespace spmd::detail
