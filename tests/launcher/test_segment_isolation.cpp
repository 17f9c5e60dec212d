// What another local user, or a kill of mprun's whole process group, can do to a job:
// the job's segments are neither guessable (each has its own random name), nor
// readable, writable or removable by another user, and the watchdog, in a process group
// of its own, survives a group kill and removes them.
#include <fcntl.h>
#include <grp.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cerrno>
#include <fstream>
#include <sstream>

#include "../support/run.hpp"

namespace {
const std::string mprun = test::bin("mprun");
const std::string rank_program = test::bin("spmd_test_rank");
constexpr uid_t nobody = 65534;

// Runs `attack` as user nobody in a child; returns its exit code (0: every step as
// expected), or -1 if the child could not become nobody.
template <class Attack>
int as_nobody(Attack&& attack) {
    const pid_t pid = fork();
    if (pid == 0) {
        if (setgroups(0, nullptr) != 0 || setgid(nobody) != 0 || setuid(nobody) != 0) _exit(99);
        _exit(attack());
    }
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) && WEXITSTATUS(status) != 99 ? WEXITSTATUS(status) : -1;
}

// Field `n` (1-based, as in proc(5)) of /proc/<pid>/stat; "" if the process is gone.
std::string stat_field(pid_t pid, int n) {
    const std::string stat = test::read_file("/proc/" + std::to_string(pid) + "/stat");
    const auto close = stat.rfind(')');
    if (close == std::string::npos) return "";
    std::istringstream fields(stat.substr(close + 2));
    std::string field;
    for (int i = 3; i <= n && fields >> field; ++i) {
    }
    return field;
}

std::vector<pid_t> children_of(pid_t pid) {
    std::istringstream in(test::read_file("/proc/" + std::to_string(pid) + "/task/" +
                                          std::to_string(pid) + "/children"));
    std::vector<pid_t> children;
    for (pid_t child; in >> child;) children.push_back(child);
    return children;
}

bool gone(pid_t pid) {
    for (int i = 0; i < 1000; ++i) {
        const std::string state = stat_field(pid, 3);
        if (state.empty() || state == "Z") return true;
        usleep(10000);
    }
    return false;
}

// mprun's watchdog: its child that is not a rank (ranks carry SPMD_JOB).
pid_t watchdog_of(pid_t launcher) {
    for (pid_t child : children_of(launcher))
        if (test::read_file("/proc/" + std::to_string(child) + "/environ").find("SPMD_JOB=") ==
            std::string::npos)
            return child;
    return -1;
}
}  // namespace

TEST_CASE("another user can neither open, remove nor pre-empt a running job's segments") {
    const std::string go = "go.isolation";
    unlink(go.c_str());
    const pid_t pid = test::start(mprun + " -n 2 " + rank_program + " hold " + go);
    // The job, rank 0's pair ring to rank 1 and the first shared array.
    for (int i = 0; i < 1000 && test::segment_names_of(pid).size() < 3; ++i) usleep(10000);
    const auto names = test::segment_names_of(pid);
    REQUIRE(names.size() == 3);

    std::vector<std::string> guesses;  // what the old, derived names would have been
    for (const auto& name : names)
        for (const char* suffix : {".0", ".1", ".2", ".pair.0.1", ".pair.1.0"})
            guesses.push_back(name + suffix);
    const int failed = as_nobody([&] {
        for (const auto& name : names) {
            const std::string path = "/" + name;
            if (shm_open(path.c_str(), O_RDONLY, 0) >= 0 || errno != EACCES) return 1;
            if (shm_open(path.c_str(), O_RDWR, 0) >= 0 || errno != EACCES) return 2;
            if (shm_open(path.c_str(), O_RDWR | O_CREAT | O_EXCL, 0666) >= 0) return 3;
            if (shm_unlink(path.c_str()) == 0) return 4;
        }
        for (const auto& name : guesses)  // one may exist already: the old scheme's
            if (shm_open(("/" + name).c_str(), O_RDWR | O_CREAT | O_EXCL, 0666) < 0 &&
                errno != EEXIST)
                return 5;
        return 0;
    });
    CHECK(failed == 0);
    { std::ofstream(go) << "go"; }

    auto r = test::finish(pid);
    int planted = 0;
    for (const auto& name : guesses) {
        struct stat st {};
        if (stat(("/dev/shm/" + name).c_str(), &st) == 0 && st.st_uid == nobody) {
            CHECK(shm_unlink(("/" + name).c_str()) == 0);
            ++planted;
        }
    }
    CHECK(planted >= 12);
    unlink(go.c_str());
    CHECK(r.code == 0);
    CHECK(r.out == "ok\n");
    CHECK(r.err.empty());
    CHECK(test::nothing_left_of(pid));
}

TEST_CASE("every segment of a job has its own random name, mode 0600") {
    const std::string go = "go.names";
    unlink(go.c_str());
    const pid_t pid = test::start(mprun + " -n 2 " + rank_program + " hold " + go);
    for (int i = 0; i < 1000 && test::segment_names_of(pid).size() < 3; ++i) usleep(10000);
    const auto names = test::segment_names_of(pid);
    REQUIRE(names.size() == 3);
    std::vector<std::string> random_parts;
    for (const auto& name : names) {
        INFO(name);
        struct stat st {};
        REQUIRE(stat(("/dev/shm/" + name).c_str(), &st) == 0);
        CHECK((st.st_mode & 0777) == 0600);
        const auto dash = name.rfind('-');
        random_parts.push_back(name.substr(dash + 1));
        CHECK(random_parts.back().size() == 16);
        CHECK(name.find('.') == std::string::npos);
    }
    std::sort(random_parts.begin(), random_parts.end());
    CHECK(std::unique(random_parts.begin(), random_parts.end()) == random_parts.end());
    { std::ofstream(go) << "go"; }
    auto r = test::finish(pid);
    unlink(go.c_str());
    CHECK(r.code == 0);
    CHECK(test::nothing_left_of(pid));
}

TEST_CASE("a job stopped while its ranks hold rings and shared arrays removes them all") {
    SECTION("--timeout") {
        // Rank 1 waits for a file that never comes.
        const pid_t pid = test::start(mprun + " -n 2 --timeout 1 --grace 0.2 " + rank_program +
                                      " hold never.there");
        for (int i = 0; i < 1000 && test::segment_names_of(pid).size() < 3; ++i) usleep(10000);
        CHECK(test::segment_names_of(pid).size() == 3);
        auto r = test::finish(pid);
        CHECK(r.code == 124);
        CHECK(test::segments_of(pid) == 0);  // at once: mprun removed them before exiting
        CHECK(test::nothing_left_of(pid));
    }
    SECTION("SIGKILL of mprun alone: the watchdog removes them") {
        const pid_t pid = test::start(mprun + " -n 2 " + rank_program + " hold never.there");
        for (int i = 0; i < 1000 && test::segment_names_of(pid).size() < 3; ++i) usleep(10000);
        REQUIRE(test::segment_names_of(pid).size() == 3);
        const pid_t watchdog = watchdog_of(pid);
        REQUIRE(watchdog > 0);
        kill(pid, SIGKILL);
        test::finish(pid);
        CHECK(gone(watchdog));
        CHECK(test::segments_of(pid) == 0);
        CHECK(test::nothing_left_of(pid));
    }
}

TEST_CASE("SIGKILL of mprun's whole process group leaves no segment and no process") {
    SECTION("kill -9 -PGID, with the job's segments in use") {
        const std::string go = "go.group";
        unlink(go.c_str());
        // setsid makes mprun (same pid) the leader of a group of its own.
        const pid_t pid = test::start("setsid " + mprun + " -n 2 " + rank_program + " hold " + go);
        for (int i = 0; i < 1000 && test::segment_names_of(pid).size() < 3; ++i) usleep(10000);
        REQUIRE(test::segment_names_of(pid).size() == 3);
        const pid_t watchdog = watchdog_of(pid);
        REQUIRE(watchdog > 0);
        CHECK(stat_field(watchdog, 5) == std::to_string(watchdog));  // a group of its own
        REQUIRE(kill(-pid, SIGKILL) == 0);
        CHECK(test::finish(pid).code == 128 + SIGKILL);
        // The watchdog removes the segments, then exits (other jobs' sweeps would remove
        // them too, later: look right away).
        CHECK(gone(watchdog));
        CHECK(test::segments_of(pid) == 0);
        CHECK(test::nothing_left_of(pid));
    }
    SECTION("timeout -s KILL, which signals its whole group") {
        const pid_t timeout = test::start("timeout -s KILL 2 " + mprun + " -n 2 sleep 60");
        pid_t launcher = -1;
        for (int i = 0; i < 1000 && launcher < 0; ++i) {
            const auto children = children_of(timeout);
            if (!children.empty() && test::segment_names_of(children[0]).size() == 1)
                launcher = children[0];
            else
                usleep(1000);
        }
        REQUIRE(launcher > 0);
        CHECK(test::finish(timeout).code == 128 + SIGKILL);
        CHECK(test::nothing_left_of(launcher));
    }
}
