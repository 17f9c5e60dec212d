// mprun --trace: the file is Chrome trace-event JSON that a parser loads, and it tells the
// truth: each barrier's rounds with the right peers and one arrow per signal, a flow per
// message, the collectives (and a small all_reduce's wait for each rank's value), loop
// chunks that cover the loop once, queue operations, and the events of a rank that died.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <spmd/detail/wait.hpp>

#include "../support/run.hpp"

using Catch::Matchers::Contains;
using nlohmann::json;

namespace {

struct Traced {
    test::Run run;
    json trace;
    std::map<int, std::vector<json>> by_rank;   // slices and instants, per pid
    std::map<long, json> flow_start, flow_end;  // by id
};

Traced traced(int ranks, const std::string& program) {
    unlink("t.json");
    Traced t;
    t.run = test::run(test::bin("mprun") + " -n " + std::to_string(ranks) + " --trace t.json " +
                      program);
    CHECK(test::nothing_left_of(t.run.pid));
    t.trace = json::parse(test::read_file("t.json"));  // throws (fails the test) if malformed
    for (const json& e : t.trace.at("traceEvents")) {
        const std::string ph = e.at("ph");
        if (ph == "X" || ph == "i") t.by_rank[e.at("pid")].push_back(e);
        if (ph == "s") CHECK(t.flow_start.emplace(e.at("id"), e).second);
        if (ph == "f") CHECK(t.flow_end.emplace(e.at("id"), e).second);
    }
    return t;
}

std::vector<json> named(const std::vector<json>& events, const std::string& cat,
                        const std::string& prefix = "") {
    std::vector<json> out;
    for (const json& e : events)
        if (e.at("cat") == cat && std::string(e.at("name")).rfind(prefix, 0) == 0) out.push_back(e);
    return out;
}

// With more ranks than cores mprun's barrier is a gather-release one (shm.cpp).
bool gather_release(int ranks) {
    return ranks > spmd::detail::usable_cores();
}

std::set<int> ranks_from_1(int n) {
    std::set<int> ranks;
    for (int r = 1; r < n; ++r) ranks.insert(r);
    return ranks;
}

double end_of(const json& slice) {
    return double(slice.at("ts")) + double(slice.at("dur"));
}

}  // namespace

TEST_CASE(
    "--trace: every barrier has ceil(log2 N) rounds with the right peers, and an arrow per "
    "signal") {
    for (int n = 1; n <= 9; ++n) {
        if (gather_release(n)) continue;  // the next test case's
        INFO("ranks " << n);
        Traced t = traced(n, test::bin("hello_barrier"));
        REQUIRE(t.run.code == 0);
        int rounds = 0;
        while ((1 << rounds) < n) ++rounds;
        std::size_t signals = 0;
        for (int r = 0; r < n; ++r) {
            const auto barriers = named(t.by_rank[r], "barrier", "barrier");
            const auto round_slices = named(t.by_rank[r], "barrier", "round ");
            REQUIRE(barriers.size() == 1);  // hello_barrier meets once
            REQUIRE(round_slices.size() == std::size_t(rounds));
            for (const json& round : round_slices) {
                const int k = round.at("args").at("round");
                CHECK(round.at("name") == "round " + std::to_string(k));
                CHECK(round.at("args").at("signal") == (r + (1 << k)) % n);
                CHECK(round.at("args").at("wait") == ((r - (1 << k)) % n + n) % n);
                CHECK(double(round.at("ts")) >= double(barriers[0].at("ts")));
                CHECK(end_of(round) <= end_of(barriers[0]) + 0.002);
            }
            std::set<int> seen;
            for (const json& round : round_slices) seen.insert(int(round.at("args").at("round")));
            CHECK(int(seen.size()) == rounds);
        }
        // One flow per signal: from the signalling rank to the rank whose round waited for it,
        // ending where that round ends.
        for (const auto& [id, start] : t.flow_start) {
            if (start.at("cat") != "barrier") continue;
            ++signals;
            REQUIRE(t.flow_end.count(id) == 1);
            const json& end = t.flow_end[id];
            const int from = start.at("pid"), to = end.at("pid");
            bool lands = false;
            for (const json& round : named(t.by_rank[to], "barrier", "round "))
                if (round.at("args").at("wait") == from &&
                    std::abs(end_of(round) - double(end.at("ts"))) < 0.002)
                    lands = true;
            CHECK(lands);
            bool leaves = false;
            for (const json& round : named(t.by_rank[from], "barrier", "round "))
                if (round.at("args").at("signal") == to && round.at("ts") == start.at("ts"))
                    leaves = true;
            CHECK(leaves);
        }
        CHECK(signals == std::size_t(n * rounds));
        CHECK(t.flow_start.size() == t.flow_end.size());
    }
}

TEST_CASE(
    "--trace: with more ranks than cores, each rank's barrier round meets rank 0, with an "
    "arrow each way") {
    // Gather-release: rank r > 0 signals its arrival to rank 0 and waits for its release, in
    // "round r"; rank 0 has a round r for each, waiting for r and signalling its release.
    const int n = spmd::detail::usable_cores() + 2;
    INFO("ranks " << n);
    Traced t = traced(n, test::bin("hello_barrier"));
    REQUIRE(t.run.code == 0);
    for (int r = 0; r < n; ++r) {
        const auto barriers = named(t.by_rank[r], "barrier", "barrier");
        const auto round_slices = named(t.by_rank[r], "barrier", "round ");
        REQUIRE(barriers.size() == 1);
        REQUIRE(round_slices.size() == std::size_t(r == 0 ? n - 1 : 1));
        std::set<int> seen;
        for (const json& round : round_slices) {
            const int k = round.at("args").at("round");
            seen.insert(k);
            CHECK(round.at("args").at("signal") == (r == 0 ? k : 0));
            CHECK(round.at("args").at("wait") == (r == 0 ? k : 0));
            CHECK(end_of(round) <= end_of(barriers[0]) + 0.002);
        }
        CHECK(seen == (r == 0 ? std::set<int>(ranks_from_1(n)) : std::set<int>{r}));
    }
    std::set<std::pair<int, int>> arrows, expected;
    for (int r = 1; r < n; ++r) expected.insert({r, 0}), expected.insert({0, r});
    for (const auto& [id, start] : t.flow_start) {
        if (start.at("cat") != "barrier") continue;
        REQUIRE(t.flow_end.count(id) == 1);
        arrows.insert({int(start.at("pid")), int(t.flow_end[id].at("pid"))});
    }
    CHECK(arrows == expected);
    CHECK(t.flow_start.size() == t.flow_end.size());
}

TEST_CASE("--trace: messages, collectives, loop chunks, queue and shared arrays") {
    const std::size_t n = 1000;
    for (int ranks : {1, 2, 4}) {
        INFO("ranks " << ranks);
        Traced t = traced(ranks, test::bin("spmd_trace_program") + " calls " + std::to_string(n));
        REQUIRE(t.run.code == 0);
        std::map<std::string, std::vector<std::pair<std::size_t, std::size_t>>> chunks;
        for (int r = 0; r < ranks; ++r) {
            const auto& events = t.by_rank[r];
            // The ring message out, the ring message in, and rank 0's big one.
            const auto sends = named(events, "p2p", "send"), recvs = named(events, "p2p", "recv");
            const int next = (r + 1) % ranks, prev = (r - 1 + ranks) % ranks;
            REQUIRE(sends.size() == std::size_t(r == 0 ? 2 : 1) + (r == 0 && ranks == 1 ? 0 : 0));
            CHECK(sends[0].at("args") == json{{"to", next}, {"tag", 7}, {"bytes", (r + 1) * 8}});
            if (r == 0)
                CHECK(sends[1].at("args") ==
                      json{{"to", ranks - 1}, {"tag", 9}, {"bytes", 100000}});
            REQUIRE(recvs.size() == std::size_t(r == ranks - 1 ? 2 : 1));
            CHECK(recvs[0].at("args") ==
                  json{{"from", prev}, {"tag", 7}, {"bytes", (prev + 1) * 8}});
            if (r == ranks - 1)
                CHECK(recvs[1].at("args") == json{{"from", 0}, {"tag", 9}, {"bytes", 100000}});

            const auto reduces = named(events, "collective", "all_reduce");
            REQUIRE(reduces.size() == 1);
            CHECK(reduces[0].at("args") == json{{"root", -1}, {"bytes", 8}});
            // An 8-byte all_reduce goes through the value flags: inside it, a wait for each
            // other rank's value (orange in --trace-html), none for its own.
            std::set<int> waited_for;
            for (const json& w : named(events, "collective", "value wait")) {
                CHECK(w.at("args").at("bytes") == 8);
                CHECK(double(w.at("ts")) >= double(reduces[0].at("ts")));
                CHECK(end_of(w) <= end_of(reduces[0]));
                CHECK(waited_for.insert(int(w.at("args").at("from"))).second);
            }
            std::set<int> others;
            for (int q = 0; q < ranks; ++q)
                if (q != r) others.insert(q);
            CHECK(waited_for == others);
            const auto broadcasts = named(events, "collective", "broadcast");
            REQUIRE(broadcasts.size() == 1);
            CHECK(broadcasts[0].at("args") == json{{"root", 0}, {"bytes", 100}});

            for (const json& c : named(events, "schedule", "chunk")) {
                CHECK(c.at("ph") == "i");
                chunks[c.at("args").at("schedule")].emplace_back(c.at("args").at("begin"),
                                                                 c.at("args").at("end"));
            }
            CHECK(named(events, "queue", "queue push").size() == std::size_t(r == 0 ? ranks : 0));
            CHECK(named(events, "queue", "queue pop").size() == 1);
            const auto arrays = named(events, "memory", "shared array");
            REQUIRE(arrays.size() == 1);
            CHECK(arrays[0].at("args").at("name") == "queue 'jobs'");
        }
        // A flow per message, from its send to its recv.
        int messages = 0;
        for (const auto& [id, start] : t.flow_start) {
            if (start.at("cat") != "p2p") continue;
            ++messages;
            REQUIRE(t.flow_end.count(id) == 1);
            const int from = start.at("pid"), to = t.flow_end[id].at("pid");
            CHECK((to == (from + 1) % ranks || (from == 0 && to == ranks - 1)));
        }
        CHECK(messages == ranks + 1);
        // Each loop's chunks cover [0, n) exactly once; dynamic ones are 7 long but the last.
        REQUIRE(chunks.size() == 2);
        for (auto& [policy, ranges] : chunks) {
            INFO(policy);
            std::sort(ranges.begin(), ranges.end());
            std::size_t at = 0;
            for (const auto& [begin, end] : ranges) {
                CHECK(begin == at);
                CHECK(end > begin);
                if (policy == "dynamic") CHECK((end - begin == 7 || end == n));
                at = end;
            }
            CHECK(at == n);
        }
    }
}

TEST_CASE("--trace: a rank that dies leaves the events it recorded") {
    Traced t = traced(3, test::bin("spmd_trace_program") + " die");
    CHECK(t.run.code == 3);
    CHECK_THAT(t.run.err, Contains("rank 2 exited with code 3"));
    CHECK(named(t.by_rank[2], "barrier", "barrier").size() == 2);
    // Two barriers of two rounds each, or of one round with more ranks than cores.
    CHECK(named(t.by_rank[2], "barrier", "round ").size() == (gather_release(3) ? 2 : 2 * 2));
    // Rank 2 left barrier 2, so every rank had entered it, so every rank finished barrier 1;
    // whether ranks 0 and 1 finish barrier 2 before they are stopped is a race.
    for (int r : {0, 1}) CHECK(named(t.by_rank[r], "barrier", "barrier").size() >= 1);
}

TEST_CASE("--trace: a rank's log keeps its first 131072 events and mprun counts the rest") {
    // One rank: a barrier is one event (no rounds).
    Traced t = traced(1, test::bin("spmd_trace_program") + " barriers 140000");
    CHECK(t.run.code == 0);
    CHECK(t.run.err ==
          "mprun: trace: rank 0 recorded only its first 131072 events (8928 more were dropped)\n");
    CHECK(named(t.by_rank[0], "barrier", "barrier").size() == 131072);
    CHECK(t.trace.at("otherData").at("dropped") == json::array({8928}));
}

TEST_CASE("--trace: bad file names are refused before the job starts") {
    auto r = test::run(test::bin("mprun") + " -n 2 --trace /nonexistent/t.json " +
                       test::bin("hello_barrier"));
    CHECK(r.code == 2);
    CHECK(r.err ==
          "mprun: --trace: cannot write '/nonexistent/t.json': No such file or directory\n");
    CHECK(r.out.empty());
    CHECK(test::nothing_left_of(r.pid));

    r = test::run(test::bin("mprun") + " -n 2 --trace-html '' " + test::bin("hello_barrier"));
    CHECK(r.code == 2);
    CHECK(r.err == "mprun: --trace-html needs a file name\n");

    r = test::run(test::bin("mprun") + " -n 2 --trace");
    CHECK(r.code == 2);
    CHECK(r.err == "mprun: option '--trace' needs a value\n");
}

TEST_CASE("a rank given a bad SPMD_TRACE says so; without --trace mprun clears it") {
    auto r = test::run(test::bin("mprun") + " -n 2 -x SPMD_TRACE=zz " + test::bin("hello_barrier"));
    CHECK(r.code == 1);
    CHECK_THAT(r.err, Contains("failed: SPMD_TRACE='zz' is not a file descriptor number"));
    CHECK(test::nothing_left_of(r.pid));

    r = test::run("env SPMD_TRACE=0 " + test::bin("mprun") + " -n 2 " + test::bin("hello_barrier"));
    CHECK(r.code == 0);
    CHECK(r.err.empty());
}
