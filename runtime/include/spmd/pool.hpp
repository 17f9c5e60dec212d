// spmd::Pool: Python's Pool.apply_async / AsyncResult for the ranks of a job. Tasks are named
// functions defined on every rank (a process cannot send code); rank 0 submits them with
// their arguments and gets futures; the other ranks run them, and so does rank 0 whenever
// it waits for a result. Arguments and results travel as bytes (spmd/bytes.hpp).
//
//   spmd::Pool pool(world);                                       // collective
//   auto square = pool.define("square", [](int x) { return x * x; });  // every rank
//   if (world.rank() == 0) {
//       auto f = pool.submit(square, 7);      // or pool.submit<int>("square", 7)
//       ... other work ...
//       int y = f.get();                      // 49; a task that threw -> spmd::TaskError
//       pool.close();
//   }
//   pool.join();                              // every rank: workers serve tasks until close
//
// A worker that dies makes the job fail: every pending get() then throws spmd::TaskLost
// instead of waiting for a result that will never come.
#pragma once
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <typeindex>
#include <unordered_map>
#include <vector>

#include "spmd/bytes.hpp"
#include "spmd/error.hpp"
#include "spmd/queue.hpp"
#include "spmd/world.hpp"

namespace spmd {

// A task threw: the rank that ran it, the task's name and the exception's message.
class TaskError : public Error {
public:
    TaskError(int rank, std::string task, std::string message);
    int rank() const { return rank_; }
    const std::string& task() const { return task_; }
    const std::string& message() const { return message_; }

private:
    int rank_;
    std::string task_, message_;
};

// A task that will never finish because the job is failing (a worker died).
class TaskLost : public Aborted {
public:
    using Aborted::Aborted;
};

struct PoolOptions {
    std::size_t slots = 256;        // tasks in flight at once; submit waits for a free one
    std::size_t slot_bytes = 4096;  // room for one task's encoded arguments, and its result
};

namespace detail {
struct PoolControl;
struct TaskSlot;

struct FutureState {
    enum Status { pending, done, failed, lost };
    Status status = pending;
    int rank = -1;  // the rank that ran it
    std::string task;
    std::vector<std::byte> bytes;  // the result, or the failure's message
};

template <class F>
struct Signature : Signature<decltype(&F::operator())> {};
template <class R, class... A>
struct Signature<R (*)(A...)> {
    using result = R;
    using args = std::tuple<std::decay_t<A>...>;
};
template <class R, class... A>
struct Signature<R(A...)> : Signature<R (*)(A...)> {};
template <class C, class R, class... A>
struct Signature<R (C::*)(A...) const> : Signature<R (*)(A...)> {};
template <class C, class R, class... A>
struct Signature<R (C::*)(A...)> : Signature<R (*)(A...)> {};
}  // namespace detail

class Pool;

// The handle define() returns: submit through it and the arguments are converted to the
// task's parameter types.
template <class R, class... Args>
class Task {
public:
    explicit Task(std::string name) : name_(std::move(name)) {}
    const std::string& name() const { return name_; }

private:
    std::string name_;
};

template <class R>
class Future {
public:
    Future() = default;
    Future(Pool* pool, std::shared_ptr<detail::FutureState> state)
        : pool_(pool), state_(std::move(state)) {}

    // True once get() would not block (the task finished, failed or was lost).
    bool ready() const;
    // Waits until the task is done, running queued tasks meanwhile. Throws TaskError if
    // the task threw, TaskLost if it never will finish.
    R get() const;
    void wait() const;
    // Waits at most `timeout` (running queued tasks meanwhile, so it may return one task's
    // run time late); true if ready.
    template <class Rep, class Period>
    bool wait_for(std::chrono::duration<Rep, Period> timeout) const;

private:
    Pool* pool_ = nullptr;
    std::shared_ptr<detail::FutureState> state_;
};

class Pool {
public:
    // Collective: every rank, same name and options, in the order of its collective calls.
    explicit Pool(World& world, std::string_view name = "pool", PoolOptions options = {});
    ~Pool();
    Pool(const Pool&) = delete;
    Pool& operator=(const Pool&) = delete;

    // Every rank defines the same tasks before rank 0 submits them. fn is a function or a
    // non-generic lambda whose parameters and result are spmd::bytes-encodable.
    template <class F>
    auto define(std::string name, F fn) {
        using Sig = detail::Signature<std::decay_t<F>>;
        using R = typename Sig::result;
        using Args = typename Sig::args;
        static_assert(bytes::Encodable<Args> && (std::is_void_v<R> || bytes::Encodable<R>),
                      "task parameters and results must be spmd::bytes-encodable");
        add(name, std::type_index(typeid(Args)), std::type_index(typeid(R)),
            [fn = std::move(fn)](std::span<const std::byte> in, std::vector<std::byte>& out) {
                auto args = bytes::decode<Args>(in);
                if constexpr (std::is_void_v<R>)
                    std::apply(fn, std::move(args));
                else
                    bytes::append(out, std::apply(fn, std::move(args)));
            });
        return [&]<class... A>(std::tuple<A...>*) {
            return Task<R, A...>(name);
        }(static_cast<Args*>(nullptr));
    }

    // Rank 0 only. Queues the task and returns at once, unless `slots` tasks are in flight
    // (then it runs or waits for tasks until one is done).
    template <class R, class... Params, class... A>
    Future<R> submit(const Task<R, Params...>& task, A&&... args) {
        return Future<R>(
            this, submit_bytes(task.name(),
                               bytes::encode(std::tuple<Params...>(std::forward<A>(args)...))));
    }
    // By name: the arguments must have the task's parameter types and R its result type
    // (else spmd::UsageError).
    template <class R, class... A>
    Future<R> submit(std::string_view name, const A&... args) {
        check_types(name, std::type_index(typeid(std::tuple<A...>)), std::type_index(typeid(R)));
        return Future<R>(this,
                         submit_bytes(std::string(name), bytes::encode(std::tuple<A...>(args...))));
    }
    // submit(...).get(): Python's apply.
    template <class R, class... Params, class... A>
    R apply(const Task<R, Params...>& task, A&&... args) {
        return submit(task, std::forward<A>(args)...).get();
    }
    // One task per item of the range (each item is the task's one argument), in order.
    template <class R, class Param, std::ranges::input_range Items>
    std::vector<Future<R>> map_async(const Task<R, Param>& task, Items&& items) {
        std::vector<Future<R>> futures;
        for (auto&& item : items) futures.push_back(submit(task, item));
        return futures;
    }

    // Rank 0: no more tasks. Idempotent.
    void close();
    // Collective: workers run tasks until rank 0 closes the pool and the queue is drained;
    // rank 0 (after close) runs or waits for every task it submitted. Ends with a barrier.
    void join();

    const std::string& name() const { return name_; }

    // For Future: waits until the task is no longer pending (deadline_ns < 0: no deadline;
    // false if it passed), collects finished results without waiting, and throws what a
    // failed or lost task left.
    bool wait(detail::FutureState& state, long deadline_ns);
    bool poll(detail::FutureState& state);
    void rethrow(const detail::FutureState& state) const;

private:
    using Runner = std::function<void(std::span<const std::byte>, std::vector<std::byte>&)>;
    struct Definition {
        Runner run;
        std::type_index args, result;
    };
    void add(const std::string& name, std::type_index args, std::type_index result, Runner run);
    void check_types(std::string_view name, std::type_index args, std::type_index result) const;
    std::shared_ptr<detail::FutureState> submit_bytes(std::string name,
                                                      const std::vector<std::byte>& args);
    void require_submitter(const char* what) const;
    detail::TaskSlot& slot(std::uint32_t index) const;
    void run_slot(std::uint32_t index);
    void harvest(std::uint32_t index);
    bool step(long deadline_ns);  // one unit of progress for rank 0; false if the deadline passed
    void lose_all();

    World* world_;
    std::string name_;
    PoolOptions options_;
    std::size_t stride_;
    SharedArray<std::byte> memory_;
    detail::PoolControl* control_;
    Queue<std::uint32_t> queued_;    // slots holding a task nobody has taken yet
    Queue<std::uint32_t> finished_;  // slots holding a result rank 0 has not collected
    std::unordered_map<std::string, Definition> tasks_;
    std::vector<std::byte> result_;  // a worker's scratch for one encoded result
    // Rank 0's books: which future each slot serves, and the free slots.
    std::vector<std::shared_ptr<detail::FutureState>> in_flight_;
    std::vector<std::uint32_t> free_;
    bool closed_ = false, joined_ = false;
};

template <class R>
bool Future<R>::ready() const {
    return pool_->poll(*state_);
}

template <class R>
void Future<R>::wait() const {
    pool_->wait(*state_, -1);
    pool_->rethrow(*state_);
}

template <class R>
template <class Rep, class Period>
bool Future<R>::wait_for(std::chrono::duration<Rep, Period> timeout) const {
    const long ns = long(std::chrono::duration_cast<std::chrono::nanoseconds>(timeout).count());
    return pool_->wait(*state_, detail::monotonic_ns() + std::max(0L, ns));
}

template <class R>
R Future<R>::get() const {
    pool_->wait(*state_, -1);
    pool_->rethrow(*state_);
    if constexpr (!std::is_void_v<R>) return bytes::decode<R>(state_->bytes);
}

}  // namespace spmd
