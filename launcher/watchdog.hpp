// The watchdog covers the one exit mprun cannot clean up after itself: SIGKILL, of mprun
// alone or of its whole process group. It is a tiny child in a process group of its own that
// blocks reading a pipe from mprun; mprun sends it each rank's pid. If the pipe closes
// before mprun dismisses it, mprun died: the watchdog kills the ranks' process groups
// (the ranks themselves die by PR_SET_PDEATHSIG, their children do not) and removes
// every segment mprun owned.
#pragma once
#include <sys/types.h>

#include <string>

namespace mprun {

class Watchdog {
public:
    explicit Watchdog(const std::string& job_name);  // forks the watchdog
    ~Watchdog();                                     // dismisses it
    Watchdog(const Watchdog&) = delete;
    Watchdog& operator=(const Watchdog&) = delete;

    void guard(pid_t rank_pid);
    // The job is cleaned up: let the watchdog exit quietly, and reap it.
    void dismiss();

private:
    pid_t pid_ = -1;
    int pipe_ = -1;
};

}  // namespace mprun
