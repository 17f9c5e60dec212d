// mprun's output never blocks mprun: when whatever reads its stdout (or stderr) stalls,
// --timeout, signals and a rank's death still end the job with the right code, nothing
// is left behind, and what does get through is whole, tagged lines. A reader that is only
// slow loses nothing.
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <map>

#include "../support/run.hpp"

using Catch::Matchers::Contains;

namespace {
const std::string mprun = test::bin("mprun");
const std::string rank_program = test::bin("spmd_test_rank");

// mprun with its stdout (and, if asked, its stderr) into a pipe that nobody reads yet.
struct Stalled {
    pid_t pid = -1;
    int reader = -1;  // the read end of mprun's stdout
    std::string err_path;
};

Stalled start_stalled(const std::string& args, bool stderr_too = false) {
    int fds[2];
    REQUIRE(pipe(fds) == 0);
    Stalled s;
    s.err_path = "stall." + std::to_string(getpid()) + ".err";
    s.pid = fork();
    if (s.pid == 0) {
        dup2(fds[1], 1);
        const int err =
            stderr_too ? fds[1] : open(s.err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(err, 2);
        close(fds[0]);
        close(fds[1]);
        const std::string line = "exec " + mprun + " " + args;
        execl("/bin/sh", "sh", "-c", line.c_str(), static_cast<char*>(nullptr));
        _exit(127);
    }
    close(fds[1]);
    s.reader = fds[0];
    return s;
}

// The exit code of `pid`, or -1 if it had not ended after a minute (then it is killed):
// a hang check, the jobs below end in a few seconds.
int exit_code(pid_t pid) {
    int status = 0;
    for (int i = 0; i < 6000; ++i) {
        if (waitpid(pid, &status, WNOHANG) == pid)
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        usleep(10000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    return -1;
}

// Waits until the pipe to the stalled reader is full (64 KiB, Linux's default).
void wait_until_full(int reader) {
    int unread = 0;
    for (int i = 0; i < 3000 && unread < 60000; ++i) {
        ioctl(reader, FIONREAD, &unread);
        usleep(10000);
    }
    REQUIRE(unread >= 60000);
}

// Every complete line in what the reader holds is "[r] y" for a rank r < ranks.
void check_whole_lines(int reader, int ranks) {
    fcntl(reader, F_SETFL, O_NONBLOCK);
    std::string text;
    char buffer[1 << 16];
    for (ssize_t n; (n = read(reader, buffer, sizeof buffer)) > 0;)
        text.append(buffer, std::size_t(n));
    const auto lines = test::lines(text.substr(0, text.rfind('\n') + 1));
    REQUIRE_FALSE(lines.empty());
    std::size_t bad = 0;
    for (const auto& line : lines) {
        bool ok = false;
        for (int r = 0; r < ranks; ++r) ok = ok || line == "[" + std::to_string(r) + "] y";
        bad += !ok;
    }
    CHECK(bad == 0);
}

std::string finish_err(const Stalled& s) {
    close(s.reader);
    const std::string err = test::read_file(s.err_path);
    unlink(s.err_path.c_str());
    return err;
}
}  // namespace

TEST_CASE("--timeout ends a job whose output reader stalls") {
    for (const std::string mode : {"--tag-output", ""}) {
        INFO("mprun " << mode);
        auto s = start_stalled("-n 2 " + mode + " --timeout 1 --grace 0.2 sh -c yes");
        CHECK(exit_code(s.pid) == 124);
        if (!mode.empty()) check_whole_lines(s.reader, 2);
        CHECK_THAT(finish_err(s), Contains("mprun: timed out after 1 s"));
        CHECK(test::nothing_left_of(s.pid));
    }
}

TEST_CASE("SIGTERM ends a job whose output reader stalls") {
    auto s = start_stalled("-n 2 --tag-output --grace 0.2 sh -c yes");
    wait_until_full(s.reader);
    kill(s.pid, SIGTERM);
    CHECK(exit_code(s.pid) == 128 + SIGTERM);
    check_whole_lines(s.reader, 2);
    CHECK_THAT(finish_err(s), Contains("mprun: received SIGTERM"));
    CHECK(test::nothing_left_of(s.pid));
}

TEST_CASE("a rank's death ends a job whose output reader stalls") {
    const std::string flag = "stalled.flag";
    unlink(flag.c_str());
    auto s = start_stalled(
        "-n 3 --tag-output --grace 0.2 sh -c 'if [ $SPMD_RANK = 2 ]; then "
        "while [ ! -e " +
        flag + " ]; do sleep 0.01; done; exit 7; fi; yes'");
    wait_until_full(s.reader);
    { std::ofstream(flag) << "x"; }
    CHECK(exit_code(s.pid) == 7);
    unlink(flag.c_str());
    check_whole_lines(s.reader, 2);
    CHECK_THAT(finish_err(s), Contains("mprun: rank 2 exited with code 7"));
    CHECK(test::nothing_left_of(s.pid));
}

TEST_CASE("stderr stalled too: mprun's own messages do not block it") {
    for (const std::string mode : {"--tag-output", ""}) {
        INFO("mprun " << mode);
        auto s = start_stalled("-n 2 " + mode + " --timeout 1 --grace 0.2 sh -c 'yes >&2'",
                               /*stderr_too=*/true);
        CHECK(exit_code(s.pid) == 124);
        finish_err(s);
        CHECK(test::nothing_left_of(s.pid));
    }
}

TEST_CASE("a reader that goes away: the ranks see a broken pipe, as without --tag-output") {
    auto s = start_stalled("-n 2 --tag-output --grace 0.2 yes");
    wait_until_full(s.reader);
    close(s.reader);
    s.reader = open("/dev/null", O_RDONLY);  // for finish_err to close
    CHECK(exit_code(s.pid) == 128 + SIGPIPE);
    CHECK_THAT(finish_err(s), Contains("killed by signal SIGPIPE"));
    CHECK(test::nothing_left_of(s.pid));
}

TEST_CASE("a slow reader gets every line, whole and tagged") {
    auto s = start_stalled("-n 3 --tag-output " + rank_program + " lines 2000 150");
    std::string text;
    char buffer[4096];
    for (ssize_t n; (n = read(s.reader, buffer, sizeof buffer)) > 0;) {
        text.append(buffer, std::size_t(n));
        usleep(2000);  // slower than the ranks write: mprun's buffers fill up
    }
    CHECK(exit_code(s.pid) == 0);
    CHECK(finish_err(s).empty());
    std::map<int, int> per_rank;
    for (const auto& line : test::lines(text)) {
        REQUIRE(line.size() == 4 + 150);
        const int rank = line[1] - '0';
        REQUIRE(line == "[" + std::to_string(rank) + "] " + std::string(150, char('a' + rank)));
        ++per_rank[rank];
    }
    CHECK(per_rank == std::map<int, int>{{0, 2000}, {1, 2000}, {2, 2000}});
    CHECK(test::nothing_left_of(s.pid));
}
