// World::map: results equal a serial loop's, in input order, for every schedule, chunk and
// rank count, on every rank or on one root only; strings and vectors of varying sizes go
// through the variable-size path; the shared segments it uses are gone afterwards.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <spmd/launch.hpp>
#include <spmd/world.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "../support/run.hpp"

using Catch::Matchers::Contains;

namespace {

void check(bool ok, const std::string& what) {
    if (!ok) throw std::runtime_error(what);
}

std::int64_t square_plus(std::size_t i) {
    return std::int64_t(i * i) + 7;
}

std::string word_of(std::size_t i) {  // lengths 0..16, contents a function of i
    return std::string(i % 17, char('a' + i % 26));
}

std::vector<double> halves_of(std::size_t i) {
    std::vector<double> v(i % 5);
    for (std::size_t k = 0; k < v.size(); ++k) v[k] = double(i) + 0.5 * double(k);
    return v;
}

template <class F>
auto serial(std::size_t n, F fn) {
    std::vector<decltype(fn(std::size_t(0)))> out;
    for (std::size_t i = 0; i < n; ++i) out.push_back(fn(i));
    return out;
}

}  // namespace

TEST_CASE("map returns a serial loop's results in order, for every schedule") {
    const int ranks = GENERATE(1, 2, 4, 9);
    const auto policy =
        GENERATE(spmd::Schedule::static_, spmd::Schedule::dynamic, spmd::Schedule::guided);
    const std::size_t chunk = GENERATE(0, 3);
    const std::size_t n = GENERATE(0, 1, 1000);
    const auto expect = serial(n, square_plus);
    CAPTURE(ranks, spmd::to_string(policy), chunk, n);
    REQUIRE_NOTHROW(spmd::launch(ranks, [&](spmd::World& world) {
        const auto got = world.map(n, square_plus, policy, chunk);
        check(got == expect, "rank " + std::to_string(world.rank()) + ": wrong map results");
    }));
}

TEST_CASE("map with a root gives the results to that rank only") {
    const int ranks = GENERATE(1, 2, 4, 9);
    const std::size_t n = 777;
    REQUIRE_NOTHROW(spmd::launch(ranks, [&](spmd::World& world) {
        const int root = world.size() - 1;
        const auto got = world.map(n, square_plus, spmd::Root{root});
        if (world.rank() == root)
            check(got == serial(n, square_plus), "root's results differ from the serial loop");
        else
            check(got.empty(), "a rank other than root got results");
        const auto words = world.map(n, word_of, spmd::Root{root}, spmd::Schedule::guided);
        check(world.rank() == root ? words == serial(n, word_of) : words.empty(),
              "root-only string results are wrong");
    }));
}

TEST_CASE("map carries strings and vectors of varying sizes") {
    const int ranks = GENERATE(1, 2, 4, 9);
    const auto policy =
        GENERATE(spmd::Schedule::static_, spmd::Schedule::dynamic, spmd::Schedule::guided);
    const std::size_t n = GENERATE(0, 1, 500);
    CAPTURE(ranks, spmd::to_string(policy), n);
    REQUIRE_NOTHROW(spmd::launch(ranks, [&](spmd::World& world) {
        check(world.map(n, word_of, policy) == serial(n, word_of), "string results differ");
        check(world.map(n, halves_of, policy, 2) == serial(n, halves_of), "vector results differ");
        auto pairs = [](std::size_t i) { return std::pair{word_of(i), int(i)}; };
        check(world.map(n, pairs, policy) == serial(n, pairs), "pair results differ");
    }));
}

TEST_CASE("map leaves no segment behind, and a root out of range is an error") {
    REQUIRE_NOTHROW(spmd::launch(3, [](spmd::World& world) {
        for (int round = 0; round < 20; ++round) (void)world.map(100, word_of);
    }));
    CHECK(test::segments_of(getpid()) == 0);
    REQUIRE_THROWS_WITH(
        spmd::launch(2, [](spmd::World& world) { (void)world.map(4, word_of, spmd::Root{2}); }),
        Contains("map") && Contains("2"));
}
