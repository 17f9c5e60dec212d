// The teaching programs run as a user runs them, under mprun and without it, and print
// the right answers whatever the number of ranks.
#include <catch2/catch.hpp>
#include <cstdlib>

#include "../support/run.hpp"

using Catch::Matchers::Contains;

namespace {
test::Run example(const std::string& name, int ranks, const std::string& args = "") {
    const std::string program = test::bin(name) + (args.empty() ? "" : " " + args);
    test::Run r = test::run(
        ranks ? test::bin("mprun") + " -n " + std::to_string(ranks) + " " + program : program);
    CHECK(test::nothing_left_of(r.pid));
    return r;
}
}  // namespace

TEST_CASE("monte_carlo estimates 1/3") {
    for (int ranks : {0, 3}) {
        auto r = example("monte_carlo", ranks, "--samples 2000000");
        REQUIRE(r.code == 0);
        const auto at = r.out.find("~ ");
        REQUIRE(at != std::string::npos);
        CHECK(std::abs(std::atof(r.out.c_str() + at + 2) - 1.0 / 3.0) < 2e-3);
    }
    auto bad = example("monte_carlo", 2, "--samples 0");
    CHECK(bad.code == 2);
    CHECK(bad.err == "monte_carlo: --samples must be a whole number >= 1\n");  // once, not per rank
    for (int ranks : {0, 2}) {  // usage, not a 10-million-sample run
        auto help = example("monte_carlo", ranks, "--help");
        CHECK(help.code == 0);
        CHECK(help.out.rfind("usage: monte_carlo [--samples N]\n", 0) == 0);
        CHECK(help.out.find("~ ") == std::string::npos);
        CHECK(help.err.empty());
    }
}

TEST_CASE("pool_map returns results in input order") {
    for (int ranks : {0, 1, 4, 7}) {
        auto r = example("pool_map", ranks);
        REQUIRE(r.code == 0);
        CHECK_THAT(r.out, Contains("1:0 2:1 3:7 4:2 5:5 6:8 7:16 8:3 9:19 10:6"));
        CHECK_THAT(r.out, Contains("27:111 28:18 29:18 30:18\n"));
    }
}

TEST_CASE("pipe_workers finds each input's closest bank entry") {
    for (int ranks : {0, 2, 5}) {
        auto r = example("pipe_workers", ranks);
        REQUIRE(r.code == 0);
        CHECK(test::lines(r.out) ==
              std::vector<std::string>{"input 1.0000 -> entry 0 (frequency 1.00)",
                                       "input 3.4975 -> entry 250 (frequency 3.50)",
                                       "input 5.9950 -> entry 499 (frequency 5.99)",
                                       "input 8.4925 -> entry 749 (frequency 8.49)",
                                       "input 10.9900 -> entry 999 (frequency 10.99)"});
    }
}

TEST_CASE("hello_barrier --explain shows the log2 rounds") {
    auto r = example("hello_barrier", 5, "--explain");
    REQUIRE(r.code == 0);
    CHECK_THAT(r.out, Contains("rank 0, round 2: signals rank 4, waits for rank 1"));
    CHECK_THAT(r.out, Contains("rank 3, round 0: signals rank 4, waits for rank 2"));
    // One picture, round by round and rank by rank, after every hello: not interleaved.
    const auto lines = test::lines(r.out);
    std::vector<std::string> pattern;
    for (const auto& line : lines)
        if (line.rfind("  rank ", 0) == 0) pattern.push_back(line.substr(0, line.find(':')));
    std::vector<std::string> expected;
    for (int round = 0; round < 3; ++round)
        for (int rank = 0; rank < 5; ++rank)
            expected.push_back("  rank " + std::to_string(rank) + ", round " +
                               std::to_string(round));
    CHECK(pattern == expected);
    CHECK(r.out.rfind("Hello World again") < r.out.find("round 0 (distance 1):"));
    CHECK_THAT(
        r.out,
        Contains(
            "rank 4, round 2: signals rank 3, waits for rank 0   (has now heard from 5 of 5)"));
    CHECK_THAT(
        r.out,
        Contains(
            "rank 2, round 1: signals rank 4, waits for rank 0   (has now heard from 4 of 5)"));
}

TEST_CASE("save_primes collects every prime below the bound in one shared list") {
    for (int ranks : {0, 1, 2, 4}) {
        auto r = example("save_primes", ranks);
        REQUIRE(r.code == 0);
        CHECK_THAT(r.out, Contains("78498 primes below 1000000"));
        CHECK_THAT(r.out,
                   Contains("first: 2 3 5 7 11\nlast: 999953 999959 999961 999979 999983\n"));
    }
    CHECK(example("save_primes", 2, "--below 0").code == 2);
}

TEST_CASE("pool_async: apply and apply_async agree, and a raising task is reported") {
    for (int ranks : {0, 1, 2, 4}) {
        auto r = example("pool_async", ranks, "--tasks 4");
        REQUIRE(r.code == 0);
        const auto lines = test::lines(r.out);
        REQUIRE(lines.size() == 4);
        CHECK_THAT(lines[0], Contains("apply:       4 tasks, total "));
        // Same tasks, same sums: the totals agree to the last printed digit.
        CHECK(lines[0].substr(lines[0].find("total")) ==
              lines[1].substr(lines[1].find("total"), lines[0].size() - lines[0].find("total")));
        CHECK_THAT(lines[1], Contains("(meanwhile rank 0 counted 17984 primes below 200000)"));
        CHECK(lines[2] == "inverse of 4: 25");
        CHECK(lines[3] == "inverse of 0: task 'checked_inverse' raised: no inverse of 0");
    }
}
