// What MPI users type by habit: -np4, --oversubscribe, --bind-to/--map-by core,
// --report-bindings, a program in the current directory, and -H/--hostfile (refused with
// the way across machines). Bindings are checked against /proc/<pid>/status of each rank.
#include <sched.h>
#include <sys/stat.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <fstream>
#include <string>
#include <vector>

#include "../support/run.hpp"

using Catch::Matchers::Contains;

namespace {
const std::string mprun = test::bin("mprun");

test::Run job(const std::string& args) {
    test::Run r = test::run(mprun + " " + args);
    CHECK(test::nothing_left_of(r.pid));
    return r;
}

// The cores this test may use; mprun, its child, sees the same set.
std::vector<int> my_cores() {
    cpu_set_t set;
    CPU_ZERO(&set);
    REQUIRE(sched_getaffinity(0, sizeof set, &set) == 0);
    std::vector<int> cores;
    for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu)
        if (CPU_ISSET(cpu, &set)) cores.push_back(cpu);
    return cores;
}

std::string my_cpus_allowed_list() {
    for (const auto& line : test::lines(test::read_file("/proc/self/status")))
        if (line.rfind("Cpus_allowed_list:", 0) == 0)
            return line.substr(line.find_last_of(" \t") + 1);
    FAIL("no Cpus_allowed_list in /proc/self/status");
    return "";
}

// Each rank prints "rank cpus" from its own /proc/<pid>/status (awk reads it as the rank:
// sh execs awk, so /proc/self is the rank's process). Sorted by rank.
const std::string print_cpus =
    "sh -c 'exec awk -v r=$SPMD_RANK \"/Cpus_allowed_list/ {print r, \\$2}\" /proc/self/status'";

std::vector<std::string> sorted_lines(const std::string& text) {
    auto lines = test::lines(text);
    std::sort(lines.begin(), lines.end());
    return lines;
}
}  // namespace

TEST_CASE("-np4 and -n4 are -np 4, not -n p4") {
    for (const char* flag : {"-np3", "-n3", "-np=3", "--np=3"}) {
        INFO(flag);
        auto r = job(std::string(flag) + " sh -c 'echo $SPMD_SIZE'");
        REQUIRE(r.code == 0);
        CHECK(r.out == "3\n3\n3\n");
    }
    auto r = job("-npx true");
    CHECK(r.code == 2);
    CHECK(test::lines(r.err).size() == 1);
}

TEST_CASE("--oversubscribe and --bind-to none are accepted: ranks float over every core") {
    const int ranks = int(my_cores().size()) + 1;
    auto r = job("--oversubscribe --bind-to none -n " + std::to_string(ranks) + " " + print_cpus);
    REQUIRE(r.code == 0);
    std::vector<std::string> expected;
    for (int rank = 0; rank < ranks; ++rank)
        expected.push_back(std::to_string(rank) + " " + my_cpus_allowed_list());
    CHECK(sorted_lines(r.out) == expected);
    CHECK(r.err.empty());
}

TEST_CASE("--bind-to core pins rank r to core r, round-robin when oversubscribed") {
    const auto cores = my_cores();
    const int ranks = int(cores.size()) + 1;  // one more than cores: the first core twice
    std::vector<std::string> expected;
    for (int rank = 0; rank < ranks; ++rank)
        expected.push_back(std::to_string(rank) + " " +
                           std::to_string(cores[std::size_t(rank) % cores.size()]));
    for (const char* flags : {"--bind-to core", "--map-by core", "--map-by core --bind-to core"}) {
        INFO(flags);
        auto r = job(std::string(flags) + " -n " + std::to_string(ranks) + " " + print_cpus);
        REQUIRE(r.code == 0);
        CHECK(sorted_lines(r.out) == expected);
    }
    // An explicit --bind-to none wins over --map-by core's implied binding.
    auto r = job("--map-by core --bind-to none -n 2 " + print_cpus);
    REQUIRE(r.code == 0);
    CHECK(sorted_lines(r.out) ==
          std::vector<std::string>{"0 " + my_cpus_allowed_list(), "1 " + my_cpus_allowed_list()});
}

TEST_CASE("--bind-to core: a rank's waits still count every core of the job") {
    // Bound, a rank's own mask has one core; its wait policy must count the cores the job
    // shares, or two bound ranks on two cores would yield in every wait instead of polling.
    const auto cores = std::to_string(my_cores().size());
    for (const char* flags : {"--bind-to core", "--bind-to none"}) {
        INFO(flags);
        auto r = job(std::string(flags) + " -n 2 " + test::bin("spmd_test_rank") + " wait_cores");
        REQUIRE(r.code == 0);
        CHECK(sorted_lines(r.out) == std::vector<std::string>{"0 " + cores, "1 " + cores});
    }
}

TEST_CASE("--report-bindings: one line per rank on stderr, naming its core") {
    const auto cores = my_cores();
    auto r = job("--bind-to core --report-bindings -n 2 true");
    REQUIRE(r.code == 0);
    const auto lines = sorted_lines(r.err);
    REQUIRE(lines.size() == 2);
    for (int rank = 0; rank < 2; ++rank) {
        CHECK_THAT(lines[std::size_t(rank)],
                   Contains("mprun: rank " + std::to_string(rank) + " (pid "));
        CHECK_THAT(
            lines[std::size_t(rank)],
            Contains("bound to core " + std::to_string(cores[std::size_t(rank) % cores.size()])));
    }
    r = job("--report-bindings -n 2 true");
    REQUIRE(r.code == 0);
    for (const auto& line : test::lines(r.err))
        CHECK_THAT(line, Contains("not bound: cores " + my_cpus_allowed_list()));
    CHECK(test::lines(r.err).size() == 2);
}

TEST_CASE("bad binding policies and hosts: one line naming the way, exit 2") {
    struct Case {
        const char* args;
        const char* says;
    };
    for (const Case& c :
         {Case{"--bind-to socket -n 2 true", "--bind-to expects core or none, not 'socket'"},
          Case{"--map-by node -n 2 true", "--map-by expects core"},
          Case{"-H localhost -n 2 true", "-H/--host: mprun runs ranks on this machine only"},
          Case{"--host a,b -n 2 true", "a real MPI"},
          Case{"--hostfile hosts.txt -n 2 true",
               "--hostfile: mprun runs ranks on this machine only"},
          Case{"--bind-to", "needs a value"}}) {
        INFO(c.args);
        auto r = job(c.args);
        CHECK(r.code == 2);
        CHECK(r.out.empty());
        REQUIRE(test::lines(r.err).size() == 1);
        CHECK_THAT(r.err, Contains(c.says));
    }
}

TEST_CASE("a program in the current directory runs, as with mpirun") {
    {
        std::ofstream script("local_program");
        script << "#!/bin/sh\necho here $SPMD_RANK\n";
    }
    REQUIRE(chmod("local_program", 0755) == 0);
    // PATH without "." : found only because mprun looks in the current directory too.
    auto r = test::run("env PATH=/usr/bin:/bin " + mprun + " -n 2 local_program");
    CHECK(test::nothing_left_of(r.pid));
    CHECK(r.code == 0);
    CHECK(sorted_lines(r.out) == std::vector<std::string>{"here 0", "here 1"});
    r = job("-n 2 no_such_program_here");
    CHECK(r.code == 2);
    CHECK_THAT(r.err, Contains("not found in PATH or the current directory"));
    unlink("local_program");
}
