// bench_launch: wall time of a whole `mprun -n N hello_barrier` (start, segment, N
// fork+exec, barrier, exit, clean-up), beside the floor of N plain fork+exec of the same
// program without mprun. Best and median of --repeat runs; output goes to /dev/null.
//   build/bin/bench_launch [--repeat R]
//   bench=launch ranks=N best_ms=.. median_ms=.. floor_ms=..
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "bench_common.hpp"

extern char** environ;

namespace {

std::string here() {
    char path[4096];
    const ssize_t n = readlink("/proc/self/exe", path, sizeof path - 1);
    path[n > 0 ? n : 0] = '\0';
    std::string dir(path);
    return dir.substr(0, dir.rfind('/'));
}

pid_t spawn_quiet(const std::vector<std::string>& args) {
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    pid_t pid = -1;
    if (posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ) != 0) {
        std::perror("posix_spawn");
        std::exit(1);
    }
    posix_spawn_file_actions_destroy(&actions);
    return pid;
}

double seconds() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

}  // namespace

int main(int argc, char** argv) {
    int repeat = 20;
    for (int i = 1; i + 1 < argc; ++i)
        if (std::strcmp(argv[i], "--repeat") == 0) repeat = std::max(1, std::atoi(argv[i + 1]));
    const std::string dir = here();
    const std::string mprun = dir + "/mprun", hello = dir + "/hello_barrier";
    for (int ranks : {1, 2, 4, 8}) {
        std::vector<double> runs, floors;
        for (int r = 0; r < repeat; ++r) {
            double t0 = seconds();
            int status = 0;
            waitpid(spawn_quiet({mprun, "-n", std::to_string(ranks), hello}), &status, 0);
            runs.push_back(seconds() - t0);
            if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                std::fprintf(stderr, "bench_launch: mprun failed\n");
                return 1;
            }
            // The floor: the same N programs, started and reaped without mprun (each is
            // a world of size 1 then).
            t0 = seconds();
            std::vector<pid_t> pids;
            for (int i = 0; i < ranks; ++i) pids.push_back(spawn_quiet({hello}));
            for (pid_t pid : pids) waitpid(pid, nullptr, 0);
            floors.push_back(seconds() - t0);
        }
        std::sort(runs.begin(), runs.end());
        std::sort(floors.begin(), floors.end());
        bench::figure("bench=launch ranks=%d best_ms=%.2f median_ms=%.2f floor_ms=%.2f\n", ranks,
                      runs[0] * 1e3, runs[runs.size() / 2] * 1e3, floors[0] * 1e3);
        std::fflush(stdout);
    }
    return 0;
}
