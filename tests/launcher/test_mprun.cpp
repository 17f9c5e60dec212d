// The launcher as a user meets it: environment, output, exit codes, failure reports,
// stopping the rest, timeouts, signals, bad input, and nothing left behind in any case.
#include <sys/stat.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <ctime>
#include <fstream>

#include "../support/run.hpp"

using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;

namespace {
const std::string mprun = test::bin("mprun");
const std::string rank_program = test::bin("spmd_test_rank");

// Runs mprun with `args`, then checks that the job left no segment and no process.
test::Run job(const std::string& args) {
    test::Run r = test::run(mprun + " " + args);
    CHECK(test::nothing_left_of(r.pid));
    return r;
}

double seconds_since(timespec start) {
    timespec now{};
    clock_gettime(CLOCK_MONOTONIC, &now);
    return double(now.tv_sec - start.tv_sec) + 1e-9 * double(now.tv_nsec - start.tv_nsec);
}
timespec now() {
    timespec t{};
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t;
}
}  // namespace

TEST_CASE("each rank sees its rank, the size and the job in its environment") {
    auto r =
        job("-n 3 sh -c 'echo $SPMD_RANK $SPMD_SIZE $OMPI_COMM_WORLD_RANK "
            "$OMPI_COMM_WORLD_SIZE $OMPI_COMM_WORLD_LOCAL_RANK $PMI_RANK $PMI_SIZE'");
    REQUIRE(r.code == 0);
    auto lines = test::lines(r.out);
    std::sort(lines.begin(), lines.end());
    REQUIRE(lines == std::vector<std::string>{"0 3 0 3 0 0 3", "1 3 1 3 1 1 3", "2 3 2 3 2 2 3"});
    CHECK(r.err.empty());
}

TEST_CASE("-np, -x and the program's own options") {
    auto r = job("-np 2 -x GREETING=hello -x HOME -- sh -c 'echo $GREETING $SPMD_SIZE' -n 7");
    REQUIRE(r.code == 0);
    CHECK(r.out == "hello 2\nhello 2\n");
    r = job("-n 2 " + rank_program + " env");
    REQUIRE(r.code == 0);
    auto lines = test::lines(r.out);
    std::sort(lines.begin(), lines.end());
    CHECK(lines == std::vector<std::string>{"0 2", "1 2"});
}

TEST_CASE("hello_barrier: every first line comes before every second line") {
    auto r = job("-n 4 " + test::bin("hello_barrier"));
    REQUIRE(r.code == 0);
    auto lines = test::lines(r.out);
    REQUIRE(lines.size() == 8);
    for (int i = 0; i < 4; ++i) CHECK_THAT(lines[i], StartsWith("Hello World, I am process"));
    for (int i = 4; i < 8; ++i) CHECK_THAT(lines[i], StartsWith("Hello World again"));
}

TEST_CASE("a world of size 1 without mprun") {
    auto r = test::run(test::bin("hello_barrier"));
    REQUIRE(r.code == 0);
    CHECK(r.out == "Hello World, I am process 0\nHello World again, I am process 0\n");
    CHECK(test::nothing_left_of(r.pid));
}

TEST_CASE("thousands of barriers across 5 oversubscribed ranks") {
    auto r = job("-n 5 " + rank_program + " barriers 3000");
    CHECK(r.code == 0);
    CHECK(r.err.empty());
}

TEST_CASE("a failing rank is named with its cause, the others are stopped") {
    SECTION("exit code") {
        auto r = job("-n 3 " + rank_program + " fail 1 exit3");
        CHECK(r.code == 3);
        CHECK_THAT(r.err, StartsWith("mprun: rank 1 exited with code 3"));
    }
    SECTION("signal") {
        auto r = job("-n 3 " + rank_program + " fail 2 segv");
        CHECK(r.code == 128 + 11);
        CHECK_THAT(r.err, StartsWith("mprun: rank 2 killed by signal SIGSEGV"));
    }
    SECTION("uncaught exception") {
        auto r = job("-n 2 " + rank_program + " fail 0 throw");
        CHECK(r.code == 1);
        CHECK_THAT(r.err, StartsWith("mprun: rank 0 failed: deliberate failure in rank 0"));
    }
    SECTION("abort") {
        auto r = job("-n 4 " + rank_program + " fail 3 abort");
        CHECK(r.code == 1);
        CHECK_THAT(r.err, StartsWith("mprun: rank 3 called abort: giving up on purpose"));
    }
    SECTION("exit 0 in mid-job, with peers waiting for it") {
        auto r = job("-n 2 " + rank_program + " fail 1 exit0");
        CHECK(r.code == 1);
        CHECK_THAT(r.err, Contains("rank 1 exited with code 0 while its World was open"));
    }
    SECTION("a rank that is not an spmd program at all") {
        auto r = job("-n 2 sh -c 'exit 5'");
        CHECK(r.code == 5);
        CHECK_THAT(r.err, Contains("exited with code 5"));
    }
}

TEST_CASE("the others are stopped within the grace period, their children too") {
    const auto start = now();
    auto r =
        job("-n 4 --grace 1 sh -c 'if [ $SPMD_RANK = 2 ]; then exit 9; fi; "
            "sleep 300 & wait'");
    CHECK(r.code == 9);
    CHECK_THAT(r.err, StartsWith("mprun: rank 2 exited with code 9"));
    CHECK(seconds_since(start) < 30);  // a hang check, not a speed test: sleep is 300 s
    // A rank that ignores SIGTERM is killed once the grace period is over.
    r =
        job("-n 2 --grace 0.2 sh -c 'trap \"\" TERM; if [ $SPMD_RANK = 0 ]; then exit 4; fi; "
            "sleep 300; sleep 300'");
    CHECK(r.code == 4);
}

TEST_CASE("--timeout stops the job and exits 124") {
    auto r = job("--timeout 0.3 -n 2 sh -c 'sleep 300 & wait'");
    CHECK(r.code == 124);
    CHECK_THAT(r.err, Contains("mprun: timed out after 0.3 s"));
}

TEST_CASE("--tag-output keeps every line whole and tagged") {
    auto r = job("-n 3 --tag-output " + rank_program + " lines 300 150");
    REQUIRE(r.code == 0);
    auto lines = test::lines(r.out);
    REQUIRE(lines.size() == 900);
    int per_rank[3] = {0, 0, 0};
    for (const auto& line : lines) {
        REQUIRE(line.size() == 4 + 150);
        const int rank = line[1] - '0';
        REQUIRE(line.substr(0, 4) == "[" + std::to_string(rank) + "] ");
        REQUIRE(line.substr(4) == std::string(150, char('a' + rank)));
        ++per_rank[rank];
    }
    CHECK(per_rank[0] == 300);
    CHECK(per_rank[2] == 300);
    r = job("-n 2 --tag-output sh -c 'printf \"no newline\"; echo oops >&2'");
    auto out = test::lines(r.out);
    std::sort(out.begin(), out.end());
    CHECK(out == std::vector<std::string>{"[0] no newline", "[1] no newline"});
    CHECK_THAT(r.err, Contains("[1] oops"));
}

TEST_CASE("--output-filename writes each rank's streams to files") {
    auto r = job("-n 2 --output-filename outdir/nested sh -c 'echo out $SPMD_RANK; echo err >&2'");
    REQUIRE(r.code == 0);
    CHECK(r.out.empty());
    CHECK(test::read_file("outdir/nested/rank.1/stdout") == "out 1\n");
    CHECK(test::read_file("outdir/nested/rank.0/stderr") == "err\n");
}

TEST_CASE("bad input: one line, exit 2, nothing started") {
    const std::string marker = "started.marker";
    const std::string program = "sh -c 'touch " + marker + "'";
    for (const std::string& args : std::vector<std::string>{
             "-n 0 " + program, "-n -3 " + program, "-n abc " + program, "-n 5000 " + program,
             "--bogus -n 2 " + program, "-n 2", "-n", "-n 2 ./no-such-program", "-n 2 /etc/passwd",
             "-n 2 /tmp", "--timeout -1 " + program, "-n 2 no_such_cmd_xyz", "-n 2 ''"}) {
        INFO("mprun " << args);
        auto r = job(args);
        CHECK(r.code == 2);
        CHECK_THAT(r.err, StartsWith("mprun: "));
        CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
        CHECK_FALSE(test::file_exists(marker));
    }
    CHECK_THAT(job("-n 0 true").err, Contains("'0'"));
    CHECK_THAT(job("-n 2 /etc/passwd").err, Contains("not executable"));
    CHECK_THAT(job("-n 2 no_such_cmd_xyz").err, Contains("not found in PATH"));
    CHECK_THAT(job("--bogus true").err, Contains("bogus"));
    CHECK(job("-n 2 ''").err == "mprun: the program name is empty ('')\n");
}

TEST_CASE("a script without #! is refused once, before any rank starts") {
    {
        std::ofstream("no_shebang.sh") << "touch started.marker\n";
        std::ofstream("empty_program");
    }
    REQUIRE(chmod("no_shebang.sh", 0755) == 0);
    REQUIRE(chmod("empty_program", 0755) == 0);
    auto r = job("-n 2 ./no_shebang.sh");
    CHECK(r.code == 2);
    CHECK(r.err ==
          "mprun: cannot run './no_shebang.sh': neither an ELF program nor a script starting "
          "with #!; add a #! line, or run it as: mprun ... sh ./no_shebang.sh\n");
    CHECK_FALSE(test::file_exists("started.marker"));
    CHECK(job("-n 1 sh ./no_shebang.sh").code == 0);  // the way out it names works
    CHECK(test::file_exists("started.marker"));
    r = job("-n 2 ./empty_program");
    CHECK(r.code == 2);
    CHECK_THAT(r.err, Contains("neither an ELF program nor a script"));
    unlink("no_shebang.sh");
    unlink("empty_program");
    unlink("started.marker");
}

TEST_CASE("--help and --version") {
    auto r = test::run(mprun + " --help");
    CHECK(r.code == 0);
    CHECK_THAT(r.out, Contains("usage: mprun"));
    CHECK_THAT(r.out, Contains("mprun -n 4"));
    r = test::run(mprun + " --version");
    CHECK(r.code == 0);
    CHECK_THAT(r.out, StartsWith("mprun (spmd) "));
}

TEST_CASE("SIGINT and SIGTERM to mprun reach the ranks, even when SIGINT was ignored") {
    for (int sig : {SIGINT, SIGTERM}) {
        const std::string flag = "ranks.up." + std::to_string(sig);
        const pid_t pid =
            test::start(mprun + " -n 3 sh -c 'touch " + flag + ".$SPMD_RANK; sleep 300 & wait'",
                        /*ignore_sigint=*/true);
        for (int i = 0; i < 1000 && !test::file_exists(flag + ".2"); ++i) usleep(10000);
        usleep(50000);
        kill(pid, sig);
        auto r = test::finish(pid);
        CHECK(r.code == 128 + sig);
        CHECK_THAT(r.err, Contains("mprun: received SIG"));
        CHECK(test::nothing_left_of(pid));
    }
}

TEST_CASE("SIGKILL of mprun leaves no rank, no child of a rank and no segment") {
    const pid_t pid =
        test::start(mprun + " -n 3 sh -c 'touch killed.$SPMD_RANK; sleep 300 & wait'");
    for (int i = 0; i < 1000 && !test::file_exists("killed.2"); ++i) usleep(10000);
    usleep(50000);
    REQUIRE(test::processes_of(pid) >= 3);
    REQUIRE(test::segments_of(pid) == 1);
    kill(pid, SIGKILL);
    test::finish(pid);
    CHECK(test::nothing_left_of(pid));
}

TEST_CASE("SIGKILL of a rank fails the job; peers blocked in a barrier do not hang") {
    auto r = job("-n 3 sh -c 'if [ $SPMD_RANK = 1 ]; then kill -KILL $$; fi; exec " + rank_program +
                 " barriers 1000000000'");
    CHECK(r.code == 128 + 9);
    CHECK_THAT(r.err, StartsWith("mprun: rank 1 killed by signal SIGKILL"));
}

TEST_CASE("mprun --cleanup removes segments of dead launchers only") {
    const pid_t pid = test::start(mprun + " -n 2 sh -c 'sleep 300'");
    for (int i = 0; i < 1000 && test::segments_of(pid) == 0; ++i) usleep(10000);
    // A stale segment, as if made by a launcher that died: pid 1 never started at that time.
    { std::ofstream("/dev/shm/spmd-1-1-00000000deadbeef") << "x"; }
    auto r = test::run(mprun + " --cleanup");
    CHECK(r.code == 0);
    CHECK_FALSE(test::file_exists("/dev/shm/spmd-1-1-00000000deadbeef"));
    CHECK(test::segments_of(pid) == 1);  // a live job's segment stays
    kill(pid, SIGTERM);
    test::finish(pid);
    CHECK(test::nothing_left_of(pid));
}
