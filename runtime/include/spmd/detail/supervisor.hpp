// The parent's side of a job, shared by mprun and spmd::launch: fork the ranks, watch
// them (pidfds in one poll loop, so no SIGCHLD handler and no threads), and on the first
// failure stop the rest: abort flag, SIGTERM to each rank's process group, SIGKILL after
// the grace period. Once all ranks are reaped, their process groups are killed too, so
// nothing a rank started outlives the job.
#pragma once
#include <poll.h>
#include <signal.h>
#include <sys/types.h>

#include <csignal>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "spmd/detail/deadlock.hpp"
#include "spmd/detail/job.hpp"

namespace spmd::detail {

// The exit code of a job stopped as a deadlock (124 is --timeout's).
constexpr int deadlock_exit_code = 123;

struct Failure {
    int rank = -1;      // -1: the whole job (a deadlock)
    std::string cause;  // "exited with code 3", "killed by signal SIGSEGV", "failed: ..."
    int exit_code = 1;  // the code the job exits with: the rank's, or 128 + signal
    std::string line;   // the rank's own line for the user (World::fail), said as it is
};

// "rank 3 exited with code 3", or "deadlock: rank 0 waits in ...".
std::string describe(const Failure& failure);

// An error of its own that a rank threw after the job's first failure (a survivor that
// found the dead rank's shared container half-written, say): the first failure is the
// cause, but this is news too. Ranks that said the same thing are one entry.
struct LaterFailure {
    std::vector<int> ranks;  // in increasing order
    std::string message;
};

// "rank 0 also failed: <message>", or "ranks 0, 2 and 3 also failed: <message>".
std::string describe(const LaterFailure& failure);

// "SIGSEGV" for 11, "signal 77" for what has no name.
std::string signal_name(int signal);

class Supervisor {
public:
    Supervisor(std::shared_ptr<JobSegment> job, double grace_seconds);
    ~Supervisor();  // kills and reaps whatever is still running
    Supervisor(const Supervisor&) = delete;
    Supervisor& operator=(const Supervisor&) = delete;

    // Forks rank `rank`. The child starts with default signal dispositions and an empty
    // mask, leads its own process group, dies with this process, then runs body, which
    // must not return (exec or _exit).
    pid_t spawn(int rank, const std::function<void()>& body);

    // Extra work for run()'s poll loop: fd ready for `events` (readable by default) or
    // hung up; a deadline reached.
    void watch(int fd, std::function<void()> on_ready, short events = POLLIN);
    void unwatch(int fd);
    void at_deadline(long monotonic_ns, std::function<void()> on_expiry);

    // Checks the ranks' published waits on a tick: once every live rank has been blocked
    // for after_seconds with no progress, the job fails as a deadlock (rank -1, exit code
    // deadlock_exit_code, the wait-for cycle as its cause).
    void detect_deadlocks(double after_seconds = 1.0);

    // Called once, at the first failing rank, before the others are stopped.
    std::function<void(const Failure&)> on_failure;

    // Runs until every rank has been reaped.
    void run();
    // Stops the live ranks: sets the job's abort flag (blocked ranks throw
    // spmd::Aborted and can unwind), sends `signal` after `delay_seconds`, and SIGKILL
    // after the grace period; or SIGKILL at once when `force`.
    void stop(bool force = false, int signal = SIGTERM, double delay_seconds = 0);

    const std::optional<Failure>& failure() const { return failure_; }
    // The errors ranks threw after the first failure, other than being stopped by it.
    const std::vector<LaterFailure>& later_failures() const { return later_failures_; }
    int live() const;
    std::vector<int> live_ranks() const;
    const std::vector<pid_t>& pids() const { return pids_; }

private:
    struct Child {
        int rank;
        pid_t pid;
        int pidfd;
    };
    struct Watch {
        int fd;
        std::function<void()> on_ready;
        short events;
    };
    void reap(Child& child);
    Failure describe_failure(int rank, const siginfo_t& info) const;
    void note_later_failure(int rank);
    void signal_live(int signal);
    void send_term();
    void tick(long now);

    std::shared_ptr<JobSegment> job_;
    long grace_ns_;
    std::vector<Child> children_;
    std::vector<pid_t> pids_;
    std::vector<Watch> watches_;
    long user_deadline_ = -1;
    std::function<void()> on_user_deadline_;
    long kill_deadline_ = -1;
    long term_deadline_ = -1;
    int term_signal_ = SIGTERM;
    bool stopping_ = false;
    std::optional<DeadlockDetector> deadlocks_;
    long next_tick_ = -1;
    std::optional<Failure> failure_;
    std::vector<LaterFailure> later_failures_;
};

}  // namespace spmd::detail
