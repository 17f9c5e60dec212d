// The MPI transport's Queue, Event and Lock (detail::RemoteQueue, RemoteEvent, RemoteLock),
// run by every rank of an mpirun job (CTest runs it with -n 2 and -n 4; each TEST_CASE is
// collective). Values are checked against what was pushed or counted: every item popped
// exactly once and in order per producer, close() drains and then ends every consumer,
// join() waits for every task_done(), and a non-atomic counter incremented under the lock
// by every rank ends exact.
#define CATCH_CONFIG_RUNNER
#include <mpi.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <cstdio>
#include <numeric>
#include <spmd/detail/remote_event.hpp>
#include <spmd/detail/remote_queue.hpp>
#include <spmd/error.hpp>
#include <vector>

using Catch::Matchers::Contains;

namespace {

int rank() {
    int r = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &r);
    return r;
}
int size() {
    int n = 1;
    MPI_Comm_size(MPI_COMM_WORLD, &n);
    return n;
}

struct Item {
    std::uint32_t producer;
    std::uint32_t check;  // a function of (producer, seq): catches torn or stale slots
    std::uint64_t seq;
    char tail[5];  // the item is not a whole number of words
};

std::uint32_t check_of(std::uint32_t producer, std::uint64_t seq) {
    return std::uint32_t((seq * 2654435761u) ^ (producer * 40503u));
}

Item make_item(std::uint32_t producer, std::uint64_t seq) {
    return {producer, check_of(producer, seq), seq, {char(seq), 'x', 'y', 'z', char(producer)}};
}

std::uint64_t sum_all(std::uint64_t mine) {
    std::uint64_t all = 0;
    MPI_Allreduce(&mine, &all, 1, MPI_UINT64_T, MPI_SUM, MPI_COMM_WORLD);
    return all;
}

// Producers are the even ranks (rank 0 among them, so the home also works), consumers the
// odd ones (2 ranks or more); the last producer to finish closes the queue, told by an atomic count
// kept in the queue's own terms: a second queue that every producer pushes one token to.
void producers_consumers(std::uint64_t per_producer, std::size_t capacity, bool try_first) {
    const int n = size(), me = rank();
    const bool producer = me % 2 == 0;
    spmd::detail::RemoteQueue queue("items", capacity, sizeof(Item));
    spmd::detail::RemoteQueue done("done", std::size_t(n), sizeof(int));
    const int producers = (n + 1) / 2;
    std::uint64_t pushed = 0, popped = 0, seq_sum = 0;
    if (producer) {
        for (std::uint64_t s = 0; s < per_producer; ++s) {
            const Item item = make_item(std::uint32_t(me), s);
            if (!try_first || !queue.try_push(&item)) queue.push(&item);
            ++pushed;
        }
        done.push(&me);
        if (done.size_hint() == std::size_t(producers)) queue.close();
    }
    if (!producer) {
        std::vector<std::int64_t> last(std::size_t(n), -1);
        Item item{};
        for (;;) {
            bool got = try_first && queue.try_pop(&item);
            if (!got) got = queue.pop(&item);
            if (!got) break;
            REQUIRE(item.producer < std::uint32_t(n));
            REQUIRE(item.check == check_of(item.producer, item.seq));
            REQUIRE(item.tail[4] == char(item.producer));
            REQUIRE(std::int64_t(item.seq) > last[item.producer]);  // FIFO per producer
            last[item.producer] = std::int64_t(item.seq);
            ++popped;
            seq_sum += item.seq;
        }
        CHECK(queue.closed());
    }
    // Several producers may see the full count; close() is idempotent, so that is fine.
    // Every pushed item popped exactly once: counts and sums of seq match.
    const std::uint64_t all_pushed = sum_all(pushed), all_popped = sum_all(popped);
    CHECK(all_pushed == std::uint64_t(producers) * per_producer);
    CHECK(all_popped == all_pushed);
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
    spmd::detail::RemoteQueue queue("edges", 2, sizeof(int));
    if (rank() == 0) {
        int a = 1, b = 2, c = 3, out = 0;
        CHECK(queue.try_pop(&out) == false);
        CHECK(queue.try_push(&a));
        CHECK(queue.try_push(&b));
        CHECK(queue.try_push(&c) == false);  // full
        CHECK(queue.size_hint() == 2);
        queue.close();
        queue.close();  // idempotent
        CHECK(queue.closed());
        CHECK_THROWS_WITH(queue.push(&c), Contains("push to queue 'edges' after it was closed"));
        CHECK_THROWS_WITH(queue.try_push(&c), Contains("after it was closed"));
        CHECK(queue.pop(&out));
        CHECK(out == 1);
        CHECK(queue.pop(&out));
        CHECK(out == 2);
        CHECK(queue.pop(&out) == false);  // closed and drained
        queue.task_done();
        queue.task_done();
        CHECK_THROWS_WITH(queue.task_done(), Contains("called more times than items were pushed"));
        queue.join();
    }
    MPI_Barrier(MPI_COMM_WORLD);
    CHECK_THROWS_AS(spmd::detail::RemoteQueue("zero", 0, 4), spmd::UsageError);
}

TEST_CASE("join returns only once every pushed item was marked done") {
    spmd::detail::RemoteQueue queue("joined", 8, sizeof(std::uint64_t));
    spmd::detail::RemoteQueue marks("marks", 64, sizeof(std::uint64_t));
    const int me = rank();
    constexpr std::uint64_t items = 40;
    if (me == 0) {
        for (std::uint64_t i = 0; i < items; ++i) queue.push(&i);
        queue.close();
    }
    if (me != 0) {
        std::uint64_t item = 0;
        while (queue.pop(&item)) {
            marks.push(&item);  // marked before task_done: join must see every mark
            queue.task_done();
        }
    }
    if (me == 0) {
        queue.join();
        CHECK(marks.size_hint() == items);
        marks.close();
    }
    MPI_Barrier(MPI_COMM_WORLD);
}

TEST_CASE("a lock makes non-atomic increments of a counter in rank 0's memory exact") {
    spmd::detail::RemoteLock lock("counter");
    // The counter: plain words in a queue's slot would do, but a window of our own shows
    // the point best: MPI_Get, add, MPI_Put, no atomics, only the lock orders them.
    std::uint64_t* base = nullptr;
    MPI_Win win;
    MPI_Win_allocate(rank() == 0 ? 8 : 0, 8, MPI_INFO_NULL, MPI_COMM_WORLD, &base, &win);
    if (rank() == 0) *base = 0;
    MPI_Barrier(MPI_COMM_WORLD);
    MPI_Win_lock_all(0, win);
    constexpr int rounds = 300;
    for (int i = 0; i < rounds; ++i) {
        lock.lock();
        CHECK(lock.owner() == rank());
        std::uint64_t value = 0;
        MPI_Get(&value, 1, MPI_UINT64_T, 0, 0, 1, MPI_UINT64_T, win);
        MPI_Win_flush(0, win);
        ++value;
        MPI_Put(&value, 1, MPI_UINT64_T, 0, 0, 1, MPI_UINT64_T, win);
        MPI_Win_flush(0, win);
        lock.unlock();
    }
    MPI_Win_unlock_all(win);
    MPI_Barrier(MPI_COMM_WORLD);
    if (rank() == 0) CHECK(*base == std::uint64_t(rounds) * std::uint64_t(size()));
    MPI_Win_free(&win);
}

TEST_CASE("lock misuse is an error: relocking, unlocking a lock held by another or by nobody") {
    spmd::detail::RemoteLock lock("misuse");
    CHECK(lock.owner() == -1);
    MPI_Barrier(MPI_COMM_WORLD);
    if (rank() == 0) {
        CHECK_THROWS_WITH(lock.unlock(),
                          Contains("by rank 0, which does not hold it (nobody does)"));
        lock.lock();
        CHECK_THROWS_WITH(lock.lock(), Contains("already held by this rank (rank 0)"));
        CHECK_FALSE(lock.try_lock());
    }
    MPI_Barrier(MPI_COMM_WORLD);
    if (rank() == 1) {
        CHECK_FALSE(lock.try_lock());
        CHECK_THROWS_WITH(lock.unlock(),
                          Contains("by rank 1, which does not hold it (rank 0 does)"));
    }
    MPI_Barrier(MPI_COMM_WORLD);
    if (rank() == 0) lock.unlock();
}

TEST_CASE("a lock held by a rank that destroyed it fails the next waiter, not hangs it") {
    auto lock = std::make_unique<spmd::detail::RemoteLock>("left");
    if (rank() == 1) lock->lock();
    MPI_Barrier(MPI_COMM_WORLD);
    if (rank() == 0)
        CHECK_THROWS_WITH(
            lock->lock(),
            Contains("lock 'left' was held by rank 1, which exited without unlocking"));
    lock.reset();  // rank 1 marks it as it goes; rank 0's wait then ends
}

TEST_CASE("events: set, clear, is_set, wait, timed wait, many hand-overs") {
    spmd::detail::RemoteEvent ready("ready");
    spmd::detail::RemoteEvent back("back");
    CHECK_FALSE(ready.is_set());
    CHECK_FALSE(ready.wait_ns(2'000'000));  // nobody sets it: times out
    MPI_Barrier(MPI_COMM_WORLD);
    // One set() releases every waiting rank.
    if (rank() == 0)
        ready.set();
    else
        CHECK(ready.wait_ns(-1));
    CHECK(ready.is_set());
    MPI_Barrier(MPI_COMM_WORLD);
    if (rank() == 0) ready.clear();
    MPI_Barrier(MPI_COMM_WORLD);
    CHECK_FALSE(ready.is_set());
    MPI_Barrier(MPI_COMM_WORLD);
    // Many rounds of hand-over between rank 0 and the others.
    for (int round = 0; round < 20; ++round) {
        if (rank() == 0) {
            ready.set();
            ready.set();  // already set: no second announcement
            CHECK(back.wait_ns(-1));
            CHECK(back.is_set());
            back.clear();
        } else if (rank() == size() - 1) {
            CHECK(ready.wait_ns(-1));
            CHECK(ready.is_set());  // only this rank clears it: the wait ended on a set()
            ready.clear();
            back.set();
        }
        MPI_Barrier(MPI_COMM_WORLD);
    }
}

TEST_CASE("a pop with no rank left to push fails instead of waiting forever") {
    auto queue = std::make_unique<spmd::detail::RemoteQueue>("abandoned", 4, sizeof(int));
    int out = 0;
    if (rank() == 0) CHECK_THROWS_AS(queue->pop(&out), spmd::PeerExited);
    queue.reset();
}

int main(int argc, char** argv) {
    MPI_Init(&argc, &argv);
    if (size() < 2) {
        if (rank() == 0) std::fprintf(stderr, "remote_primitives: run it with 2 or more ranks\n");
        MPI_Finalize();
        return 2;
    }
    const int failed = Catch::Session().run(argc, argv);
    int any = 0;
    MPI_Allreduce(&failed, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    MPI_Finalize();
    return any ? 1 : 0;
}
