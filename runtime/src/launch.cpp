#include "spmd/launch.hpp"

#include <unistd.h>

#include <cstdio>
#include <iostream>

#include "spmd/detail/job.hpp"
#include "spmd/detail/supervisor.hpp"

namespace spmd {

namespace {
[[noreturn]] void run_rank(const std::shared_ptr<detail::JobSegment>& job, int rank,
                           const std::function<void(World&)>& fn) {
    int code = 0;
    try {
        World world(job, rank);
        fn(world);
    } catch (const PeerExited& e) {
        job->record_failure(rank, detail::FailureKind::peer_exited, e.what());
        code = 1;
    } catch (const Aborted& e) {
        job->record_failure(rank, detail::FailureKind::stopped, e.what());
        code = 1;
    } catch (const std::exception& e) {
        job->record_failure(rank, detail::FailureKind::exception, e.what());
        code = 1;
    } catch (...) {
        job->record_failure(rank, detail::FailureKind::exception,
                            "an exception not derived from std::exception");
        code = 1;
    }
    std::cout.flush();
    std::fflush(nullptr);
    _exit(code);  // never return into the caller's stack (a test runner, say) in a child
}
}  // namespace

void launch(int n, const std::function<void(World&)>& fn, const LaunchOptions& options) {
    if (n < 1 || n > detail::max_ranks)
        throw UsageError("spmd::launch: the number of ranks must be 1 to " +
                         std::to_string(detail::max_ranks) + ", not " + std::to_string(n));
    auto job = detail::JobSegment::create(n);
    const detail::RemoveNamesAtExit remove_names{*job};

    std::cout.flush();
    std::fflush(nullptr);  // or each child would print the parent's buffered output again
    detail::Supervisor supervisor(job, options.grace_seconds);
    supervisor.detect_deadlocks();
    try {
        for (int rank = 0; rank < n; ++rank)
            supervisor.spawn(rank, [&] { run_rank(job, rank, fn); });
    } catch (...) {
        supervisor.stop(true);
        supervisor.run();
        throw;
    }
    supervisor.run();
    if (const auto& failure = supervisor.failure()) {
        if (!failure->line.empty()) throw Error(failure->line);  // World::fail's own words
        std::string what = detail::describe(*failure);
        for (const auto& later : supervisor.later_failures())
            what += "; " + detail::describe(later);
        throw Error(what);
    }
}

}  // namespace spmd
