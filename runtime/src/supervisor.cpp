#include "spmd/detail/supervisor.hpp"

#include <poll.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>

#include "spmd/detail/wait.hpp"
#include "spmd/error.hpp"

namespace spmd::detail {

namespace {

// After a rank fails, the others first see the abort flag: ranks blocked in a wait throw
// spmd::Aborted and unwind (removing temporary files, naming a dead lock holder) before
// SIGTERM comes. Long enough for a futex wake-up and an exit, short enough not to matter.
constexpr double abort_window_seconds = 0.1;

// How often a deadlock detector looks at the ranks' waits.
constexpr long tick_ns = 100'000'000;

int open_pidfd(pid_t pid) {
    return int(syscall(SYS_pidfd_open, pid, 0));
}

// Run in the child between fork and body: a clean start whatever the parent's state.
void prepare_child(pid_t parent) {
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    for (int sig = 1; sig < NSIG; ++sig)
        if (sig != SIGKILL && sig != SIGSTOP) signal(sig, SIG_DFL);
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(1);  // the parent died before prctl took effect
}

}  // namespace

std::string signal_name(int signal) {
    if (const char* abbrev = sigabbrev_np(signal)) return std::string("SIG") + abbrev;
    return "signal " + std::to_string(signal);
}

std::string describe(const Failure& failure) {
    if (failure.rank < 0) return failure.cause;
    return "rank " + std::to_string(failure.rank) + " " + failure.cause;
}

std::string describe(const LaterFailure& failure) {
    const auto& ranks = failure.ranks;
    std::string who = ranks.size() == 1 ? "rank " : "ranks ";
    for (std::size_t i = 0; i < ranks.size(); ++i) {
        if (i > 0) who += i + 1 == ranks.size() ? " and " : ", ";
        who += std::to_string(ranks[i]);
    }
    return who + " also failed: " + failure.message;
}

Supervisor::Supervisor(std::shared_ptr<JobSegment> job, double grace_seconds)
    : job_(std::move(job)), grace_ns_(long(grace_seconds * 1e9)) {}

Supervisor::~Supervisor() {
    if (live() == 0) return;
    signal_live(SIGKILL);
    for (Child& child : children_)
        if (child.pidfd >= 0) reap(child);
}

pid_t Supervisor::spawn(int rank, const std::function<void()>& body) {
    const pid_t parent = getpid();
    const pid_t pid = fork();
    if (pid < 0)
        throw Error(std::string("cannot start rank ") + std::to_string(rank) +
                    ": fork: " + std::strerror(errno));
    if (pid == 0) {
        prepare_child(parent);
        body();
        _exit(127);
    }
    setpgid(pid, pid);  // also here, so that a signal right after spawn reaches the group
    const int pidfd = open_pidfd(pid);
    if (pidfd < 0) {
        kill(pid, SIGKILL);
        waitpid(pid, nullptr, 0);
        throw Error(std::string("cannot watch rank ") + std::to_string(rank) +
                    ": pidfd_open: " + std::strerror(errno));
    }
    children_.push_back({rank, pid, pidfd});
    pids_.push_back(pid);
    return pid;
}

void Supervisor::watch(int fd, std::function<void()> on_ready, short events) {
    watches_.push_back({fd, std::move(on_ready), events});
}

void Supervisor::unwatch(int fd) {
    std::erase_if(watches_, [fd](const Watch& w) { return w.fd == fd; });
}

void Supervisor::at_deadline(long monotonic_ns, std::function<void()> on_expiry) {
    user_deadline_ = monotonic_ns;
    on_user_deadline_ = std::move(on_expiry);
}

void Supervisor::detect_deadlocks(double after_seconds) {
    deadlocks_.emplace(*job_, long(after_seconds * 1e9));
    next_tick_ = monotonic_ns() + tick_ns;
}

void Supervisor::tick(long now) {
    next_tick_ = now + tick_ns;
    if (!deadlocks_ || failure_ || stopping_) return;
    if (auto cycle = deadlocks_->check(live_ranks(), now)) {
        failure_ = Failure{-1, "deadlock: " + *cycle, deadlock_exit_code, {}};
        if (on_failure) on_failure(*failure_);
        stop(false, SIGTERM, abort_window_seconds);
    }
}

std::vector<int> Supervisor::live_ranks() const {
    std::vector<int> ranks;
    for (const Child& child : children_)
        if (child.pidfd >= 0) ranks.push_back(child.rank);
    std::sort(ranks.begin(), ranks.end());
    return ranks;
}

int Supervisor::live() const {
    return int(std::count_if(children_.begin(), children_.end(),
                             [](const Child& c) { return c.pidfd >= 0; }));
}

void Supervisor::signal_live(int signal) {
    for (const Child& child : children_)
        if (child.pidfd >= 0) kill(-child.pid, signal);  // the rank's whole process group
}

void Supervisor::stop(bool force, int signal, double delay_seconds) {
    if (!stopping_) {
        stopping_ = true;
        job_->set_abort();
        term_signal_ = signal;
        term_deadline_ = monotonic_ns() + long(delay_seconds * 1e9);
        kill_deadline_ = term_deadline_ + grace_ns_;
        if (delay_seconds <= 0) send_term();
    }
    if (force) {
        signal_live(SIGKILL);
        term_deadline_ = kill_deadline_ = -1;
    }
}

void Supervisor::send_term() {
    signal_live(term_signal_);
    term_deadline_ = -1;
}

void Supervisor::reap(Child& child) {
    siginfo_t info{};
    while (waitid(P_PIDFD, id_t(child.pidfd), &info, WEXITED) < 0 && errno == EINTR) {
    }
    close(child.pidfd);
    child.pidfd = -1;
    RankReport& report = job_->report(child.rank);
    report.exit_status.store(info.si_code == CLD_EXITED ? info.si_status : -info.si_status,
                             std::memory_order_relaxed);
    report.exited.store(1, std::memory_order_seq_cst);  // before any abort: peers look here
    const bool left_world_open =
        report.world.load(std::memory_order_acquire) == std::uint32_t(WorldState::open);
    const bool clean = info.si_code == CLD_EXITED && info.si_status == 0 && !left_world_open;
    if (clean) return;
    if (failure_ || stopping_) {  // only the first failure is the cause
        if (failure_ && failure_->rank != child.rank) note_later_failure(child.rank);
        return;
    }

    failure_ = describe_failure(child.rank, info);
    if (on_failure) on_failure(*failure_);
    stop(false, SIGTERM, abort_window_seconds);
}

// Only errors a rank threw itself: being stopped (spmd::Aborted), waiting for the dead
// (PeerExited) and World::fail's lines (the first one wins) would repeat the cause.
void Supervisor::note_later_failure(int rank) {
    const RankReport& report = job_->report(rank);
    if (FailureKind(report.kind.load(std::memory_order_acquire)) != FailureKind::exception) return;
    const std::string message = report.message;
    for (LaterFailure& seen : later_failures_)
        if (seen.message == message) {
            seen.ranks.insert(std::upper_bound(seen.ranks.begin(), seen.ranks.end(), rank), rank);
            return;
        }
    later_failures_.push_back({{rank}, message});
}

Failure Supervisor::describe_failure(int rank, const siginfo_t& info) const {
    Failure failure;
    failure.rank = rank;
    if (const auto by = job_->header().aborted_by.load(std::memory_order_acquire)) {
        // A peer of the rank that called abort may die of it first: name the cause.
        failure.rank = int(by) - 1;
        const RankReport& cause = job_->report(failure.rank);
        if (FailureKind(cause.kind.load(std::memory_order_acquire)) == FailureKind::reported) {
            failure.line = cause.message;
            failure.exit_code = cause.exit_code;
            failure.cause = "failed: " + failure.line;
        } else {
            failure.cause = std::string("called abort: ") + cause.message;
        }
        return failure;
    }
    const RankReport& report = job_->report(rank);
    const auto kind = FailureKind(report.kind.load(std::memory_order_acquire));
    if (info.si_code != CLD_EXITED) {
        failure.exit_code = 128 + info.si_status;
        failure.cause = "killed by signal " + signal_name(info.si_status);
    } else if (kind == FailureKind::exception || kind == FailureKind::stopped) {
        failure.exit_code = info.si_status;
        failure.cause = std::string("failed: ") + report.message;
    } else if (kind == FailureKind::peer_exited) {
        // The message names the rank itself: "rank 0 waits in barrier for rank 1, ...".
        const std::string message = report.message;
        const std::string self = "rank " + std::to_string(rank) + " ";
        failure.exit_code = info.si_status;
        failure.cause = message.rfind(self, 0) == 0 ? message.substr(self.size()) : message;
    } else if (kind == FailureKind::abort) {
        failure.exit_code = info.si_status;
        failure.cause = std::string("called abort: ") + report.message;
    } else if (info.si_status == 0) {
        failure.cause = "exited with code 0 while its World was open (std::exit in mid-job?)";
    } else {
        failure.exit_code = info.si_status;
        failure.cause = "exited with code " + std::to_string(info.si_status);
    }
    return failure;
}

void Supervisor::run() {
    std::vector<pollfd> fds;
    while (live() > 0) {
        fds.clear();
        for (const Child& child : children_)
            if (child.pidfd >= 0) fds.push_back({child.pidfd, POLLIN, 0});
        const std::size_t first_watch = fds.size();
        for (const Watch& w : watches_) fds.push_back({w.fd, w.events, 0});

        long deadline = -1;
        for (long d : {term_deadline_, kill_deadline_, user_deadline_, next_tick_})
            if (d >= 0 && (deadline < 0 || d < deadline)) deadline = d;
        int timeout_ms = -1;
        if (deadline >= 0)
            timeout_ms = int(std::max(0L, (deadline - monotonic_ns() + 999999) / 1000000));

        const int ready = poll(fds.data(), fds.size(), timeout_ms);
        if (ready < 0 && errno != EINTR) throw Error(std::string("poll: ") + std::strerror(errno));

        const long now = monotonic_ns();
        if (term_deadline_ >= 0 && now >= term_deadline_) send_term();
        if (kill_deadline_ >= 0 && now >= kill_deadline_) stop(true);
        if (user_deadline_ >= 0 && now >= user_deadline_) {
            user_deadline_ = -1;
            on_user_deadline_();
        }
        if (next_tick_ >= 0 && now >= next_tick_) tick(now);
        if (ready <= 0) continue;
        // Output first, so that what a rank wrote before dying is shown before its death.
        std::vector<int> ready_watches;
        for (std::size_t i = first_watch; i < fds.size(); ++i)
            if (fds[i].revents) ready_watches.push_back(fds[i].fd);
        for (int fd : ready_watches)
            for (const Watch& w : watches_)
                if (w.fd == fd) {
                    auto on_ready = w.on_ready;  // the callback may unwatch itself
                    on_ready();
                    break;
                }
        for (std::size_t i = 0; i < first_watch; ++i)
            if (fds[i].revents)
                for (Child& child : children_)
                    if (child.pidfd == fds[i].fd) reap(child);
    }
    // Whatever the ranks started in their process groups goes with them.
    for (pid_t pid : pids_) kill(-pid, SIGKILL);
}

}  // namespace spmd::detail
