// spmd::Queue over either transport, as an SPMD program on 1, 2 and 4 ranks (under mpirun
// its ring lives in rank 0's memory): every pushed item is popped exactly once and in order
// per producer, close() drains and then ends every consumer, join() waits for every
// task_done(), and the edges (full, empty, closed, task_done misuse) fail as documented.
#include <catch2/catch.hpp>
#include <cstdint>
#include <spmd/queue.hpp>
#include <vector>

#include "spmd_main.hpp"

using Catch::Matchers::Contains;

namespace {

struct Item {
    std::uint32_t producer;
    std::uint32_t check;  // a function of (producer, seq): catches torn or stale slots
    std::uint64_t seq;
    char tail[5];  // not a whole number of 8-byte words
};

std::uint32_t check_of(std::uint32_t producer, std::uint64_t seq) {
    return std::uint32_t((seq * 2654435761u) ^ (producer * 40503u));
}

std::uint64_t sum_all(std::uint64_t mine) {
    return test::world().all_reduce(mine, spmd::Op::sum);
}

// Even ranks produce, odd ranks consume (one rank does both, in batches that fit). The
// last producer to finish closes the queue; it learns it is last from a second queue that
// every producer pushes a token to.
void producers_consumers(std::uint64_t per_producer, std::size_t capacity, bool try_first) {
    auto& w = test::world();
    const int n = w.size(), me = w.rank();
    const bool alone = n == 1;
    spmd::Queue<Item> queue(w, "items", capacity);
    spmd::Queue<int> done(w, "producers done", std::size_t(n));
    const int producers = (n + 1) / 2;
    std::uint64_t pushed = 0, popped = 0, seq_sum = 0;
    std::vector<std::int64_t> last(std::size_t(n), -1);
    auto consume = [&](const Item& item) {
        REQUIRE(item.producer < std::uint32_t(n));
        REQUIRE(item.check == check_of(item.producer, item.seq));
        REQUIRE(item.tail[4] == char(item.producer));
        REQUIRE(std::int64_t(item.seq) > last[item.producer]);  // FIFO per producer
        last[item.producer] = std::int64_t(item.seq);
        ++popped;
        seq_sum += item.seq;
    };
    if (me % 2 == 0) {
        for (std::uint64_t s = 0; s < per_producer; ++s) {
            const Item item{std::uint32_t(me),
                            check_of(std::uint32_t(me), s),
                            s,
                            {char(s), 'x', 'y', 'z', char(me)}};
            if (!try_first || !queue.try_push(item)) queue.push(item);
            ++pushed;
            if (alone && queue.size_hint() == capacity)
                while (auto got = queue.try_pop()) consume(*got);
        }
        done.push(me);
        if (done.size_hint() == std::size_t(producers)) queue.close();
    }
    if (me % 2 == 1 || alone) {
        for (;;) {
            std::optional<Item> item;
            if (try_first) item = queue.try_pop();
            if (!item) item = queue.pop();
            if (!item) break;
            consume(*item);
        }
        CHECK(queue.closed());
    }
    const std::uint64_t all_pushed = sum_all(pushed);
    CHECK(all_pushed == std::uint64_t(producers) * per_producer);
    CHECK(sum_all(popped) == all_pushed);
    CHECK(sum_all(seq_sum) == std::uint64_t(producers) * (per_producer * (per_producer - 1) / 2));
}

}  // namespace

TEST_CASE("every pushed item is popped exactly once, in order per producer") {
    SECTION("blocking calls, a small ring that wraps many times") {
        producers_consumers(2000, 3, false);
    }
    SECTION("try_push and try_pop first, capacity 1") {
        producers_consumers(500, 1, true);
    }
}

TEST_CASE("a queue's edges: full, empty, closed, task_done misuse") {
    auto& w = test::world();
    spmd::Queue<int> queue(w, "edges", 2);
    if (w.rank() == 0) {
        CHECK_FALSE(queue.try_pop());
        CHECK(queue.try_push(1));
        CHECK(queue.try_push(2));
        CHECK_FALSE(queue.try_push(3));  // full
        CHECK(queue.size_hint() == 2);
        queue.close();
        queue.close();  // idempotent
        CHECK(queue.closed());
        CHECK_THROWS_WITH(queue.push(3), Contains("push to queue 'edges' after it was closed"));
        CHECK_THROWS_WITH(queue.try_push(3), Contains("after it was closed"));
        CHECK(queue.pop() == 1);
        CHECK(queue.pop() == 2);
        CHECK_FALSE(queue.pop());  // closed and drained
        queue.task_done();
        queue.task_done();
        CHECK_THROWS_WITH(queue.task_done(), Contains("called more times than items were pushed"));
        queue.join();
    }
    w.barrier();
    CHECK_THROWS_AS(spmd::Queue<int>(w, "zero", 0), spmd::UsageError);
}

TEST_CASE("join returns only once every pushed item was marked done") {
    auto& w = test::world();
    spmd::Queue<std::uint64_t> queue(w, "joined", 8);
    spmd::Queue<std::uint64_t> marks(w, "marks", 64);
    constexpr std::uint64_t items = 40;
    if (w.rank() == 0) {
        for (std::uint64_t i = 0; i < items; ++i) {
            queue.push(i);
            if (w.size() == 1) {  // alone: serve it here
                marks.push(*queue.pop());
                queue.task_done();
            }
        }
        queue.close();
    } else {
        while (auto item = queue.pop()) {
            marks.push(*item);  // marked before task_done: join must see every mark
            queue.task_done();
        }
    }
    if (w.rank() == 0) {
        queue.join();
        CHECK(marks.size_hint() == items);
    }
    w.barrier();
}
