// mprun never hangs silently: a rank that returns from main while others wait for it is
// named at once, a job whose ranks all wait on each other is reported as its wait-for
// cycle with its own exit code, and a timeout says where each rank was. Each for several
// world sizes, and nothing of the job left behind.
#include <catch2/catch.hpp>

#include "../support/run.hpp"

using Catch::Matchers::Contains;
using Catch::Matchers::Matches;

namespace {
const std::string mprun = test::bin("mprun");
const std::string rank_program = test::bin("spmd_test_rank");
constexpr int deadlock_exit_code = 123;

test::Run job(const std::string& args) {
    test::Run r = test::run(mprun + " " + args);
    CHECK(test::nothing_left_of(r.pid));
    return r;
}
}  // namespace

TEST_CASE("a rank that returns 0 from main while rank 0 waits for it in a barrier") {
    auto r = job("-n 2 " + rank_program + " leave 1 barrier");
    CHECK(r.code == 1);
    CHECK(r.err ==
          "mprun: rank 0 waits in barrier for rank 1, which exited with code 0; stopping the "
          "other ranks\n");
    CHECK(r.out.empty());
}

TEST_CASE("every wait on a departed rank fails at once, for 2, 3 and 8 ranks") {
    const int size = GENERATE(2, 3, 8);
    const std::string n = "-n " + std::to_string(size) + " ";
    INFO("ranks = " << size);
    // Whichever waiting rank notices first is named; the line is the only one.
    auto check = [&](const std::string& call, const std::string& says) {
        auto r = job(n + rank_program + " leave 1 " + call);
        INFO(r.err);
        CHECK(r.code == 1);
        CHECK(test::lines(r.err).size() == 1);
        CHECK_THAT(r.err,
                   Matches("mprun: rank [0-9]+ waits in " + says + "; stopping the other ranks\n"));
    };
    check("barrier", "barrier for rank 1, which exited with code 0");
    check("recv", "recv from rank 1 \\(tag 0\\), which exited with code 0");
    check("probe", "probe from rank 1 \\(tag 5\\), which exited with code 0");
    check("send", "send to rank 1 \\(tag 1\\), which exited with code 0");
    check("all_reduce", "all_reduce for rank 1, which exited with code 0");
    if (size == 2) {  // with more ranks, the others waiting too make it a deadlock instead
        check("recv_any", "recv from any rank \\(any tag\\), and every other rank has exited");
        check("pop", "pop of queue 'jobs', and every other rank has exited");
        check("event", "wait of event 'go', and every other rank has exited");
    }
}

TEST_CASE("two ranks that each receive first: a deadlock, reported as its cycle") {
    auto r = job("-n 2 " + rank_program + " ring");
    CHECK(r.code == deadlock_exit_code);
    CHECK(r.err ==
          "mprun: deadlock: rank 0 waits in recv from rank 1 (tag 0); rank 1 waits in recv "
          "from rank 0 (tag 0)\n");
}

TEST_CASE("a ring of N ranks that each receive first, for 3 and 8 ranks") {
    const int size = GENERATE(3, 8);
    std::string cycle = "mprun: deadlock: ";
    for (int r = 0; r < size; ++r)
        cycle += (r ? "; rank " : "rank ") + std::to_string(r) + " waits in recv from rank " +
                 std::to_string((r + 1) % size) + " (tag 0)";
    auto r = job("-n " + std::to_string(size) + " " + rank_program + " ring");
    CHECK(r.code == deadlock_exit_code);
    CHECK(r.err == cycle + "\n");
}

TEST_CASE("waits with no cycle: every live rank's wait is listed") {
    // Three ranks wait in pop of a queue the fourth left without closing: nobody can
    // name a producer, and the job is still stuck.
    auto r = job("-n 4 " + rank_program + " leave 3 pop");
    CHECK(r.code == deadlock_exit_code);
    CHECK(r.err ==
          "mprun: deadlock: rank 0 waits in pop of queue 'jobs'; rank 1 waits in pop of queue "
          "'jobs'; rank 2 waits in pop of queue 'jobs'\n");
}

TEST_CASE("--timeout says where each live rank was blocked, or that it was running") {
    // Rank 1 computes forever; the others wait to hear from it: no deadlock, a timeout.
    auto r = job("--timeout 1.5 -n 3 " + rank_program + " spin 1");
    CHECK(r.code == 124);
    const auto lines = test::lines(r.err);
    REQUIRE(lines.size() == 4);
    CHECK(lines[0] == "mprun: timed out after 1.5 s; stopping 3 rank(s)");
    CHECK_THAT(lines[1], Matches("mprun: rank 0 waits in recv from rank 1 \\(tag 0\\), for "
                                 "[0-9.]+ s"));
    CHECK(lines[2] == "mprun: rank 1 is running, not in a wait");
    CHECK_THAT(lines[3], Matches("mprun: rank 2 waits in recv from rank 1 \\(tag 0\\), for "
                                 "[0-9.]+ s"));
}

TEST_CASE("--help names the deadlock exit code") {
    auto help = test::run(mprun + " --help");
    CHECK(help.code == 0);
    CHECK_THAT(help.out, Contains("123"));
    CHECK_THAT(help.out, Contains("deadlock"));
}
