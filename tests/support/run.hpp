// Test support: run a command as a user would (through /bin/sh), capture its exit code,
// stdout and stderr, and look for what a job may have leaked: shared-memory segments
// and processes of the job, found by the launcher's pid in their names/environment.
#pragma once
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace test {

inline std::string bin(const std::string& name) {
    return std::string(SPMD_BIN_DIR) + "/" + name;
}

inline std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

struct Run {
    pid_t pid = -1;  // the command's own pid (the shell execs it)
    int code = -1;   // exit code, or 128 + signal
    std::string out, err;
};

// Starts `command` without waiting; stdout/stderr go to files named after the pid.
inline pid_t start(const std::string& command, bool ignore_sigint = false) {
    const pid_t pid = fork();
    if (pid == 0) {
        if (ignore_sigint) signal(SIGINT, SIG_IGN);  // as bash does for background jobs
        const std::string me = std::to_string(getpid());
        const std::string line = "exec " + command + " >run." + me + ".out 2>run." + me + ".err";
        execl("/bin/sh", "sh", "-c", line.c_str(), static_cast<char*>(nullptr));
        _exit(127);
    }
    return pid;
}

inline Run finish(pid_t pid) {
    Run run;
    run.pid = pid;
    int status = 0;
    waitpid(pid, &status, 0);
    run.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    const std::string me = std::to_string(pid);
    run.out = read_file("run." + me + ".out");
    run.err = read_file("run." + me + ".err");
    unlink(("run." + me + ".out").c_str());
    unlink(("run." + me + ".err").c_str());
    return run;
}

inline Run run(const std::string& command) {
    return finish(start(command));
}

inline std::vector<std::string> lines(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
}

// The segments in /dev/shm made by launcher `pid` (names are "spmd-<pid>-...").
inline std::vector<std::string> segment_names_of(pid_t pid) {
    const std::string prefix = "spmd-" + std::to_string(pid) + "-";
    std::vector<std::string> names;
    if (DIR* dir = opendir("/dev/shm")) {
        while (dirent* e = readdir(dir))
            if (std::string(e->d_name).rfind(prefix, 0) == 0) names.push_back(e->d_name);
        closedir(dir);
    }
    return names;
}

inline int segments_of(pid_t pid) {
    return int(segment_names_of(pid).size());
}

// Live (non-zombie) processes whose environment names a job of launcher `pid`: its
// ranks and everything they started.
inline int processes_of(pid_t pid) {
    const std::string needle = "SPMD_JOB=spmd-" + std::to_string(pid) + "-";
    int count = 0;
    if (DIR* dir = opendir("/proc")) {
        while (dirent* e = readdir(dir)) {
            const std::string name = e->d_name;
            if (name.find_first_not_of("0123456789") != std::string::npos) continue;
            const std::string stat = read_file("/proc/" + name + "/stat");
            const auto close = stat.rfind(')');
            if (close == std::string::npos || stat.compare(close + 2, 1, "Z") == 0) continue;
            if (read_file("/proc/" + name + "/environ").find(needle) != std::string::npos) ++count;
        }
        closedir(dir);
    }
    return count;
}

// Waits (up to 10 s) until what launcher `pid` made is gone; true if it is.
inline bool nothing_left_of(pid_t pid) {
    for (int i = 0; i < 1000; ++i) {
        if (segments_of(pid) == 0 && processes_of(pid) == 0) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
}

inline bool file_exists(const std::string& path) {
    return access(path.c_str(), F_OK) == 0;
}

}  // namespace test
