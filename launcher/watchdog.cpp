#include "watchdog.hpp"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <vector>

#include "spmd/detail/segment.hpp"
#include "spmd/error.hpp"

namespace mprun {

namespace {

constexpr pid_t dismissed = 0;

[[noreturn]] void watch(int pipe, const std::string& job_name) {
    setpgid(0, 0);  // mprun does it too; whichever comes first
    for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE}) signal(sig, SIG_IGN);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    const int null = open("/dev/null", O_RDWR);
    for (int fd : {0, 1, 2}) dup2(null, fd);  // never hold a pipe mprun's reader waits on

    std::vector<pid_t> ranks;
    pid_t pid = 0;
    for (;;) {
        const ssize_t n = read(pipe, &pid, sizeof pid);
        if (n < 0 && errno == EINTR) continue;
        if (n != ssize_t(sizeof pid)) break;  // EOF: mprun is gone
        if (pid == dismissed) _exit(0);
        ranks.push_back(pid);
    }
    for (pid_t rank : ranks) {
        kill(-rank, SIGKILL);
        kill(rank, SIGKILL);
    }
    spmd::detail::remove_segments_of_owner(job_name);  // mprun owned them all
    _exit(0);
}

}  // namespace

Watchdog::Watchdog(const std::string& job_name) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0)
        throw spmd::Error(std::string("cannot start the watchdog: pipe: ") + std::strerror(errno));
    pid_ = fork();
    if (pid_ < 0) {
        close(fds[0]);
        close(fds[1]);
        throw spmd::Error(std::string("cannot start the watchdog: fork: ") + std::strerror(errno));
    }
    if (pid_ == 0) {
        close(fds[1]);
        watch(fds[0], job_name);
    }
    // A process group of its own before anything else happens: a kill of mprun's group
    // (`timeout -s KILL`, `kill -9 -PGID`, Ctrl-C) does not reach it. It stays mprun's
    // child, so mprun reaps it; if mprun dies, the reaper of orphans does.
    setpgid(pid_, pid_);
    close(fds[0]);
    pipe_ = fds[1];
}

Watchdog::~Watchdog() {
    dismiss();
}

void Watchdog::guard(pid_t rank_pid) {
    if (pipe_ >= 0 && write(pipe_, &rank_pid, sizeof rank_pid) != ssize_t(sizeof rank_pid))
        throw spmd::Error(std::string("cannot reach the watchdog: ") + std::strerror(errno));
}

void Watchdog::dismiss() {
    if (pipe_ < 0) return;
    const pid_t done = dismissed;
    [[maybe_unused]] auto ignored = write(pipe_, &done, sizeof done);
    close(pipe_);
    pipe_ = -1;
    while (waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
    }
}

}  // namespace mprun
