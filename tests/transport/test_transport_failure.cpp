// A rank that fails ends the whole job, over either transport (SPMD_LAUNCHER is mprun or
// mpirun): its message reaches stderr exactly once, the exit code is the failure's (1 for
// a throw or abort, World::fail's own code, 2 for bad input), no rank passes the barrier
// it was waiting in, and no process of the job is left.
#include <dirent.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <thread>

#include "../support/run.hpp"

namespace {
std::size_t occurrences(const std::string& text, const std::string& what) {
    std::size_t n = 0;
    for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
}

// Processes whose command line holds `token` (the job's ranks carry it as an argument).
int processes_with(const std::string& token) {
    int found = 0;
    if (DIR* dir = opendir("/proc")) {
        while (dirent* e = readdir(dir)) {
            // read_file, not an istreambuf_iterator: a process that exits while it is read
            // fails the read (ESRCH), which the iterator throws and read_file takes as "".
            const std::string line =
                test::read_file(std::string("/proc/") + e->d_name + "/cmdline");
            if (line.find(token) != std::string::npos &&
                line.find("spmd_transport_failing") != std::string::npos)
                ++found;
        }
        closedir(dir);
    }
    return found;
}

// The launcher may still be reaping when it returns: give stragglers a moment to go.
int leftover(const std::string& token) {
    for (int i = 0; i < 50; ++i) {
        if (processes_with(token) == 0) return 0;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return processes_with(token);
}
}  // namespace

TEST_CASE("a failing rank ends the job with its message, once, and leaves no process") {
    struct Case {
        const char* how;
        int code;
        const char* message;
    };
    const Case cases[] = {
        {"throw", 1, "rank 1 threw on purpose"},
        {"abort", 1, "rank 1 gave up"},
        {"fail", 3, "failing_program: input.npy: value NaN at row 3"},
        {"bad-input", 2, "failing_program: --points: 'abc' is not a number"},
    };
    for (int ranks : {2, 4})
        for (const Case& c : cases) {
            const std::string token =
                "token-" + std::to_string(getpid()) + "-" + c.how + std::to_string(ranks);
            INFO(c.how << " on " << ranks << " ranks");
            const test::Run run =
                test::run(std::string(SPMD_LAUNCHER) + " " + std::to_string(ranks) + " " +
                          test::bin("spmd_transport_failing") + " " + c.how + " " + token);
            INFO("stderr: " << run.err);
            CHECK(run.code == c.code);
            CHECK(occurrences(run.err, c.message) == 1);
            CHECK(run.out.find("passed the barrier") == std::string::npos);
            CHECK(leftover(token) == 0);
        }
}
