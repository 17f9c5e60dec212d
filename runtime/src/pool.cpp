#include "spmd/pool.hpp"

#include <algorithm>
#include <cstring>

#include "spmd/detail/job.hpp"
#include "spmd/detail/wait.hpp"

namespace spmd {

namespace detail {

// All-zero bytes are an open pool with nothing queued: what World::shared hands out.
struct PoolControl {
    alignas(64) std::atomic<std::uint32_t> closed{0};
    WaitWord work;      // a task was queued, or the pool closed: workers sleep here
    WaitWord finished;  // a result was queued for rank 0, which sleeps here
};

// One task in flight: rank 0 writes the name and the encoded arguments, the rank that
// runs it overwrites the payload with the encoded result (or the failure's message). The
// queues hand a slot's index from writer to reader with release/acquire, which orders
// the slot's bytes too.
struct alignas(64) TaskSlot {
    static constexpr std::size_t max_name = 100;
    std::uint32_t status;  // FutureState::Status of the result
    std::int32_t rank;     // who ran it
    std::uint32_t name_bytes;
    char name[max_name];
    std::uint64_t bytes;  // of the payload that follows the header
    std::byte* payload() { return reinterpret_cast<std::byte*>(this + 1); }
};

}  // namespace detail

namespace {

PoolOptions checked(const PoolOptions& options, const std::string& name) {
    if (options.slots < 1 || options.slots > (1u << 20))
        throw UsageError("pool '" + name + "': slots must be 1 to 1048576, not " +
                         std::to_string(options.slots));
    if (options.slot_bytes < 64 || options.slot_bytes > (std::size_t(1) << 30))
        throw UsageError("pool '" + name + "': slot_bytes must be 64 to 2^30, not " +
                         std::to_string(options.slot_bytes));
    return options;
}

std::size_t round_up(std::size_t n, std::size_t to) {
    return (n + to - 1) / to * to;
}

}  // namespace

TaskError::TaskError(int rank, std::string task, std::string message)
    : Error("task '" + task + "' failed on rank " + std::to_string(rank) + ": " + message),
      rank_(rank),
      task_(std::move(task)),
      message_(std::move(message)) {}

Pool::Pool(World& world, std::string_view name, PoolOptions options)
    : world_(&world),
      name_(name),
      options_(checked(options, name_)),
      stride_(sizeof(detail::TaskSlot) + round_up(options_.slot_bytes, 64)),
      memory_(world.shared<std::byte>("pool '" + name_ + "'",
                                      sizeof(detail::PoolControl) + options_.slots * stride_)),
      control_(reinterpret_cast<detail::PoolControl*>(memory_.data())),
      queued_(world, "pool '" + name_ + "' queued", options_.slots),
      finished_(world, "pool '" + name_ + "' finished", options_.slots) {
    // Its task slots are a World::shared array, which is a host's: workers on another host
    // would read another copy. (Its queues would span hosts; its slots do not yet.)
    if (world.node().count > 1)
        throw UsageError("pool '" + name_ + "' spans " + std::to_string(world.node().count) +
                         " hosts, but spmd::Pool runs on one host only (its task slots are "
                         "shared memory); across hosts use spmd::Queue");
    if (world.rank() == 0) {
        in_flight_.resize(options_.slots);
        for (std::size_t i = options_.slots; i-- > 0;) free_.push_back(std::uint32_t(i));
    }
}

Pool::~Pool() {
    if (world_->rank() == 0 && !closed_) close();  // workers still serving can leave join
}

detail::TaskSlot& Pool::slot(std::uint32_t index) const {
    return *reinterpret_cast<detail::TaskSlot*>(memory_.data() + sizeof(detail::PoolControl) +
                                                index * stride_);
}

void Pool::add(const std::string& name, std::type_index args, std::type_index result, Runner run) {
    if (name.empty() || name.size() >= detail::TaskSlot::max_name)
        throw UsageError("pool '" + name_ + "': a task name must have 1 to " +
                         std::to_string(detail::TaskSlot::max_name - 1) + " characters");
    if (!tasks_.emplace(name, Definition{std::move(run), args, result}).second)
        throw UsageError("pool '" + name_ + "': task '" + name + "' is defined twice");
}

void Pool::check_types(std::string_view name, std::type_index args, std::type_index result) const {
    auto it = tasks_.find(std::string(name));
    if (it == tasks_.end())
        throw UsageError("pool '" + name_ + "' has no task '" + std::string(name) +
                         "' (define it on every rank before submitting it)");
    if (it->second.args != args)
        throw UsageError("task '" + std::string(name) +
                         "' was submitted with argument types other than its parameters' "
                         "(submit through the handle define() returned to convert them)");
    if (it->second.result != result)
        throw UsageError("task '" + std::string(name) +
                         "' was submitted asking for another result type than it returns");
}

void Pool::require_submitter(const char* what) const {
    if (world_->rank() != 0)
        throw UsageError("pool '" + name_ + "': " + what + " is for rank 0, not rank " +
                         std::to_string(world_->rank()));
}

std::shared_ptr<detail::FutureState> Pool::submit_bytes(std::string name,
                                                        const std::vector<std::byte>& args) {
    require_submitter("submit");
    if (closed_) throw Error("pool '" + name_ + "': submit of task '" + name + "' after close()");
    if (!tasks_.count(name))
        throw UsageError("pool '" + name_ + "' has no task '" + name +
                         "' (define it on every rank before submitting it)");
    if (args.size() > options_.slot_bytes)
        throw UsageError("task '" + name + "': its arguments take " + std::to_string(args.size()) +
                         " bytes, more than pool '" + name_ + "''s slot_bytes of " +
                         std::to_string(options_.slot_bytes));
    while (free_.empty()) {
        try {
            step(-1);
        } catch (const Aborted&) {
            lose_all();
            throw TaskLost("pool '" + name_ + "': task '" + name +
                           "' cannot be submitted: the job is failing");
        }
    }
    const std::uint32_t index = free_.back();
    free_.pop_back();
    detail::TaskSlot& s = slot(index);
    s.name_bytes = std::uint32_t(name.size());
    std::memcpy(s.name, name.data(), name.size());
    s.bytes = args.size();
    if (!args.empty()) std::memcpy(s.payload(), args.data(), args.size());  // data() may be null
    auto state = std::make_shared<detail::FutureState>();
    state->task = std::move(name);
    in_flight_[index] = state;
    queued_.push(index);
    control_->work.notify_all();
    return state;
}

void Pool::run_slot(std::uint32_t index) {
    detail::TaskSlot& s = slot(index);
    const std::string name(s.name, s.name_bytes);
    auto status = detail::FutureState::done;
    result_.clear();
    auto fail = [&](std::string_view message) {
        status = detail::FutureState::failed;
        const std::size_t n = std::min(message.size(), options_.slot_bytes);
        const auto* p = reinterpret_cast<const std::byte*>(message.data());
        result_.assign(p, p + n);
    };
    try {
        auto it = tasks_.find(name);
        if (it == tasks_.end()) throw Error("no task of that name is defined on this rank");
        it->second.run(std::span<const std::byte>(s.payload(), s.bytes), result_);
        if (result_.size() > options_.slot_bytes)
            throw Error("its result takes " + std::to_string(result_.size()) +
                        " bytes, more than pool '" + name_ + "''s slot_bytes of " +
                        std::to_string(options_.slot_bytes));
    } catch (const Aborted&) {
        throw;  // the job is failing: not this task's fault
    } catch (const std::exception& e) {
        fail(e.what());
    } catch (...) {
        fail("an exception not derived from std::exception");
    }
    if (!result_.empty()) std::memcpy(s.payload(), result_.data(), result_.size());
    s.bytes = result_.size();
    s.status = status;
    s.rank = world_->rank();
    finished_.push(index);
    control_->finished.notify_all();
}

void Pool::harvest(std::uint32_t index) {
    detail::TaskSlot& s = slot(index);
    auto& state = *in_flight_[index];
    state.bytes.assign(s.payload(), s.payload() + s.bytes);
    state.rank = s.rank;
    state.status = detail::FutureState::Status(s.status);
    in_flight_[index].reset();
    free_.push_back(index);
}

bool Pool::step(long deadline_ns) {
    if (auto index = finished_.try_pop()) {
        harvest(*index);
        return true;
    }
    if (auto index = queued_.try_pop()) {  // rank 0 works while it waits
        run_slot(*index);
        return true;
    }
    // Every queued task is with a worker: sleep until one finishes.
    return control_->finished.wait(
        world_->job().header().abort, [&] { return finished_.size_hint() > 0; }, deadline_ns);
}

bool Pool::wait(detail::FutureState& state, long deadline_ns) {
    try {
        while (state.status == detail::FutureState::pending)
            if (!step(deadline_ns)) return false;
    } catch (const Aborted&) {
        lose_all();
    }
    return true;
}

bool Pool::poll(detail::FutureState& state) {
    while (state.status == detail::FutureState::pending) {
        if (world_->aborted()) {
            lose_all();
            break;
        }
        auto index = finished_.try_pop();
        if (!index) return false;
        harvest(*index);
    }
    return true;
}

// The job is failing (a worker died, or a rank aborted): no pending task will finish.
void Pool::lose_all() {
    const detail::JobSegment& job = world_->job();
    std::string cause = "the job is failing";
    for (int r = 0; r < world_->size(); ++r) {
        const auto& report = job.report(r);
        const bool failed = report.world.load() != std::uint32_t(detail::WorldState::closed) ||
                            report.kind.load() != std::uint32_t(detail::FailureKind::none);
        if (report.exited.load() && failed) {
            cause = "rank " + std::to_string(r) + " died";
            break;
        }
    }
    for (auto& state : in_flight_)
        if (state && state->status == detail::FutureState::pending) {
            state->status = detail::FutureState::lost;
            const std::string message = "task '" + state->task + "' is lost: " + cause;
            const auto* p = reinterpret_cast<const std::byte*>(message.data());
            state->bytes.assign(p, p + message.size());
        }
}

void Pool::rethrow(const detail::FutureState& state) const {
    const std::string text(reinterpret_cast<const char*>(state.bytes.data()), state.bytes.size());
    if (state.status == detail::FutureState::failed) throw TaskError(state.rank, state.task, text);
    if (state.status == detail::FutureState::lost) throw TaskLost(text);
}

void Pool::close() {
    require_submitter("close");
    closed_ = true;
    control_->closed.store(1, std::memory_order_release);
    control_->work.notify_all();
}

void Pool::join() {
    if (joined_) throw UsageError("pool '" + name_ + "': join() called twice");
    const auto& abort = world_->job().header().abort;
    if (world_->rank() == 0) {
        if (!closed_)
            throw UsageError("pool '" + name_ + "': join() before close() (close it first)");
        try {
            while (free_.size() < options_.slots) step(-1);
        } catch (const Aborted&) {
            lose_all();
            throw;
        }
    } else {
        for (;;) {
            // Rank 0 queues every task before it closes: once closed is seen, an empty
            // queue stays empty.
            const bool closed = control_->closed.load(std::memory_order_acquire) != 0;
            if (auto index = queued_.try_pop()) {
                run_slot(*index);
                continue;
            }
            if (closed) break;
            control_->work.wait(abort, [&] {
                return queued_.size_hint() > 0 ||
                       control_->closed.load(std::memory_order_acquire) != 0;
            });
        }
    }
    joined_ = true;
    world_->barrier();
}

}  // namespace spmd
