// The kernels' progress line: on a terminal (a pseudo-terminal here, as `script` makes)
// rank 0 redraws "<kernel>: N% of ..." in place and ends with "100% of ... in T s"; in a
// pipe nothing, unless --progress; --no-progress silences it; --tag-output forwards the
// redrawn line at once. SPMD_PROGRESS_AFTER=0 makes the first line due at once, so the
// tests need no long runs.
#include <pty.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <string>

#include "../support/run.hpp"

namespace {

struct PtyRun {
    int code = -1;
    std::string text;  // stdout and stderr together, as the terminal shows them
};

// Runs `command` through /bin/sh with a pseudo-terminal as its stdin, stdout and stderr.
PtyRun run_in_pty(const std::string& command) {
    int master = -1;
    const pid_t pid = forkpty(&master, nullptr, nullptr, nullptr);
    REQUIRE(pid >= 0);
    if (pid == 0) {
        execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
        _exit(127);
    }
    PtyRun run;
    char buffer[4096];
    for (;;) {  // until EIO: every holder of the terminal's other end has closed it
        const ssize_t n = read(master, buffer, sizeof buffer);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        run.text.append(buffer, std::size_t(n));
    }
    close(master);
    int status = 0;
    waitpid(pid, &status, 0);
    run.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return run;
}

// A line redrawn in place: `start` ... ended by a '\r' that is not a terminal's "\r\n".
bool has_redrawn_line(const std::string& text, const std::string& start) {
    for (std::size_t at = text.find(start); at != std::string::npos;
         at = text.find(start, at + 1)) {
        const std::size_t cr = text.find_first_of("\r\n", at);
        if (cr != std::string::npos && text[cr] == '\r' && cr + 1 < text.size() &&
            text[cr + 1] != '\n')
            return true;
    }
    return false;
}

// Static shares: rank 0 has work of its own to count (and so lines to draw) however the
// scheduler treats the ranks; a rank taking every dynamic chunk would leave it none.
const std::string knn_args = " --random 20000,3,20000 --seed 1 -k 3 --schedule static";

std::string mprun(int ranks, const std::string& program, const std::string& options = "") {
    return "env SPMD_PROGRESS_AFTER=0 " + test::bin("mprun") + " -n " + std::to_string(ranks) +
           options + " " + test::bin(program);
}

}  // namespace

TEST_CASE("knn shows progress on a terminal: redrawn lines, then the last line", "[progress]") {
    const PtyRun r = run_in_pty(mprun(2, "knn") + knn_args);
    INFO(r.text);
    CHECK(r.code == 0);
    CHECK(has_redrawn_line(r.text, "knn: "));
    CHECK(r.text.find(" of 20000 queries, ") != std::string::npos);
    CHECK(r.text.find(" queries/s") != std::string::npos);
    CHECK(r.text.find("knn: 100% of 20000 queries in ") != std::string::npos);
    CHECK(r.text.find("knn n=20000 d=3 q=20000 k=3 ranks=2 ") != std::string::npos);
}

TEST_CASE("rbf and chirp show progress on a terminal", "[progress]") {
    PtyRun r = run_in_pty(mprun(2, "rbf") + " --random 1500,3 --schedule static");
    INFO(r.text);
    CHECK(r.code == 0);
    CHECK(has_redrawn_line(r.text, "rbf: "));
    CHECK(r.text.find("rbf: 100% of 1500 rows in ") != std::string::npos);

    r = run_in_pty(mprun(2, "chirp") +
                   " --random-signals 3 --samples 4097 --fft estimate --no-wisdom"
                   " --bank 0.9:1.5:0.05");
    INFO(r.text);
    CHECK(r.code == 0);
    // 13 templates x 3 signals.
    CHECK(r.text.find("chirp: 100% of 39 filters in ") != std::string::npos);
}

TEST_CASE("no progress in a pipe, nor with --no-progress; --progress shows it anywhere",
          "[progress]") {
    // stderr into a pipe: not a word of progress, whatever SPMD_PROGRESS_AFTER says.
    auto r = test::run(mprun(2, "knn") + knn_args + " 2>&1 | cat");
    CHECK(r.code == 0);
    CHECK(r.out.find("knn n=20000") == 0);
    CHECK(r.out.find('%') == std::string::npos);
    CHECK(r.out.find('\r') == std::string::npos);
    CHECK(test::lines(r.out).size() == 1);

    const PtyRun quiet = run_in_pty(mprun(2, "knn") + knn_args + " --no-progress");
    INFO(quiet.text);
    CHECK(quiet.code == 0);
    CHECK(quiet.text.find('%') == std::string::npos);
    CHECK(quiet.text.find("knn n=20000") == 0);

    r = test::run(mprun(2, "knn") + knn_args + " --progress 2>&1 | cat");
    CHECK(r.code == 0);
    CHECK(r.out.find("knn: 100% of 20000 queries in ") != std::string::npos);
    CHECK(r.out.find("knn n=20000") != std::string::npos);
}

TEST_CASE("mprun --tag-output forwards the redrawn line at once, tagged", "[progress]") {
    const PtyRun r = run_in_pty(mprun(2, "knn", " --tag-output") + knn_args);
    INFO(r.text);
    CHECK(r.code == 0);
    CHECK(has_redrawn_line(r.text, "[0] knn: "));
    CHECK(r.text.find("[0] knn: 100% of 20000 queries in ") != std::string::npos);
    CHECK(r.text.find("[1] knn: ") == std::string::npos);  // rank 0 alone draws
}

TEST_CASE("--tag-output keeps a \"\\r\\n\" line end as one line end", "[progress]") {
    const auto r = test::run(test::bin("mprun") + " -n 1 --tag-output sh -c " +
                             "'printf \"a\\r\\nb\\rc\\n\"'");
    CHECK(r.code == 0);
    CHECK(r.out == "[0] a\r\n[0] b\r[0] c\n");
}

TEST_CASE("bad progress options are one-line usage errors", "[progress]") {
    auto r = test::run(mprun(2, "knn") + knn_args + " --progress --no-progress");
    CHECK(r.code == 2);
    CHECK(r.err == "knn: give --progress or --no-progress, not both\n");
    r = test::run("env SPMD_PROGRESS_AFTER=soon " + test::bin("mprun") + " -n 2 " +
                  test::bin("rbf") + " --random 100,2 --progress");
    CHECK(r.code == 2);
    CHECK(r.err == "rbf: SPMD_PROGRESS_AFTER='soon' is not a number of seconds >= 0\n");
}
