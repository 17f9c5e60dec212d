// Waits on ranks that have left: a wait that can no longer end fails at once, naming the
// waiting rank, the call and the rank that exited; one that a departed rank had already
// satisfied (a message sent, an event set, items pushed) still succeeds. And a job whose
// ranks all wait on each other is reported as its wait-for cycle, not left to hang.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <spmd/event.hpp>
#include <spmd/launch.hpp>
#include <spmd/queue.hpp>
#include <thread>
#include <vector>

#include "../support/run.hpp"

namespace {
void expect(bool ok, const std::string& what) {
    if (!ok) throw std::runtime_error(what);
}
void pause_ms(int ms) {
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
}
}  // namespace

TEST_CASE("a wait for a rank that returned from its main fails at once, naming both") {
    const int size = GENERATE(2, 3, 8);
    INFO("ranks = " << size);
    SECTION("barrier") {
        // With 2 ranks only rank 0 waits for rank 1 directly; with more, whichever
        // rank's dissemination round names rank 1 reports it.
        try {
            spmd::launch(size, [](spmd::World& w) {
                if (w.rank() != 1) w.barrier();
            });
            FAIL("launch returned");
        } catch (const spmd::Error& e) {
            const std::string what = e.what();
            INFO(what);
            CHECK_THAT(what,
                       Catch::Matchers::Matches(
                           "rank [0-9]+ waits in barrier for rank 1, which exited with code 0"));
        }
    }
    SECTION("recv from that rank") {
        REQUIRE_THROWS_WITH(spmd::launch(size,
                                         [](spmd::World& w) {
                                             int x = 0;
                                             if (w.rank() == 0)
                                                 w.recv(w.size() - 1, 4, std::span<int>(&x, 1));
                                         }),
                            "rank 0 waits in recv from rank " + std::to_string(size - 1) +
                                " (tag 4), which exited with code 0");
    }
    SECTION("a large send to that rank") {
        REQUIRE_THROWS_WITH(spmd::launch(size,
                                         [](spmd::World& w) {
                                             std::vector<char> big(4 << 20);
                                             if (w.rank() == 0) w.send(1, 2, big);
                                         }),
                            "rank 0 waits in send to rank 1 (tag 2), which exited with code 0");
    }
    SECTION("recv from any rank, once every other rank has left") {
        REQUIRE_THROWS_WITH(spmd::launch(size,
                                         [](spmd::World& w) {
                                             int x = 0;
                                             if (w.rank() == 0)
                                                 w.recv(spmd::any_source, spmd::any_tag,
                                                        std::span<int>(&x, 1));
                                         }),
                            "rank 0 waits in recv from any rank (any tag), and every other rank "
                            "has exited");
    }
    SECTION("pop of a queue nobody else can fill") {
        REQUIRE_THROWS_WITH(spmd::launch(size,
                                         [](spmd::World& w) {
                                             spmd::Queue<int> q(w, "work", 8);
                                             if (w.rank() == 0) (void)q.pop();
                                         }),
                            "rank 0 waits in pop of queue 'work', and every other rank has exited");
    }
    SECTION("an event nobody else can set") {
        REQUIRE_THROWS_WITH(spmd::launch(size,
                                         [](spmd::World& w) {
                                             spmd::Event e(w, "go");
                                             if (w.rank() == 0) e.wait();
                                         }),
                            "rank 0 waits in wait of event 'go', and every other rank has exited");
    }
    CHECK(test::segments_of(getpid()) == 0);
}

TEST_CASE("the failure is an spmd::PeerExited that a rank may catch") {
    REQUIRE_NOTHROW(spmd::launch(2, [](spmd::World& w) {
        if (w.rank() == 1) return;
        try {
            w.barrier();
            expect(false, "the barrier returned");
        } catch (const spmd::PeerExited& e) {
            expect(std::string(e.what()) ==
                       "rank 0 waits in barrier for rank 1, which exited with code 0",
                   e.what());
        }
    }));
}

TEST_CASE("what a rank did before it left still reaches the ranks that wait for it") {
    const int size = GENERATE(2, 3);
    // The waiters look only after the others are long gone, so they see the departure
    // first and must find the message, signal or items anyway.
    REQUIRE_NOTHROW(spmd::launch(size, [size](spmd::World& w) {
        spmd::Queue<int> q(w, "items", 8);
        spmd::Event done(w, "done");
        std::vector<char> big(1 << 20, 'b');
        if (w.rank() != 0) {
            w.send(0, 1, std::span<const int>(&size, 1));
            if (w.rank() == 1) {
                w.send(0, 2, big);
                for (int i = 0; i < 3; ++i) q.push(i);
                done.set();
            }
            return;
        }
        pause_ms(300);
        for (int r = 1; r < w.size(); ++r) {
            int x = 0;
            w.recv(spmd::any_source, 1, std::span<int>(&x, 1));
            expect(x == size, "a small message was lost");
        }
        std::vector<char> got(1 << 20);
        w.recv(1, 2, got);
        expect(got == big, "a large message was lost");
        for (int i = 0; i < 3; ++i) expect(q.pop() == i, "an item was lost");
        done.wait();
    }));
    CHECK(test::segments_of(getpid()) == 0);
}

TEST_CASE("a rank waiting on itself fails at once") {
    REQUIRE_THROWS_WITH(spmd::launch(2,
                                     [](spmd::World& w) {
                                         int x = 0;
                                         if (w.rank() == 1) w.recv(1, 0, std::span<int>(&x, 1));
                                         w.barrier();
                                     }),
                        "rank 1 failed: recv from itself (rank 1, tag 0), but this rank sent "
                        "itself no such message");
}

TEST_CASE("ranks that all wait on each other are a deadlock, reported as its cycle") {
    const int size = GENERATE(2, 3, 8);
    std::string cycle = "deadlock: ";
    for (int r = 0; r < size; ++r)
        cycle += (r ? "; rank " : "rank ") + std::to_string(r) + " waits in recv from rank " +
                 std::to_string((r + 1) % size) + " (tag 0)";
    REQUIRE_THROWS_WITH(spmd::launch(size,
                                     [](spmd::World& w) {
                                         int x = 0;
                                         w.recv((w.rank() + 1) % w.size(), 0,
                                                std::span<int>(&x, 1));
                                     }),
                        cycle);
    SECTION("the cycle, not the ranks stuck behind it") {
        // Ranks 0 and 1 wait on each other; the rest wait in a barrier for them.
        REQUIRE_THROWS_WITH(spmd::launch(size,
                                         [](spmd::World& w) {
                                             int x = 0;
                                             if (w.rank() < 2)
                                                 w.recv(1 - w.rank(), 3, std::span<int>(&x, 1));
                                             w.barrier();
                                         }),
                            "deadlock: rank 0 waits in recv from rank 1 (tag 3); rank 1 waits in "
                            "recv from rank 0 (tag 3)");
    }
    CHECK(test::segments_of(getpid()) == 0);
}

TEST_CASE("a long wait for a rank that is busy is no deadlock") {
    // Rank 1 computes (sleeps) for longer than the detector's threshold before it sends.
    REQUIRE_NOTHROW(spmd::launch(3, [](spmd::World& w) {
        int x = 7;
        if (w.rank() == 1) {
            pause_ms(1500);
            w.send(0, 0, std::span<const int>(&x, 1));
        }
        if (w.rank() == 0) w.recv(1, 0, std::span<int>(&x, 1));
        w.barrier();
    }));
}
