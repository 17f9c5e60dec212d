#include "spmd/world.hpp"

#include <errno.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <limits>

#include "spmd/detail/job.hpp"
#include "spmd/detail/trace.hpp"
#include "spmd/detail/transport.hpp"
#include "spmd/detail/wait.hpp"
#include "spmd/detail/wait_for.hpp"

namespace spmd {

namespace {

std::atomic<bool> world_alive{false};
// For the terminate handler, which has no other way to find the world.
detail::Transport* current_transport = nullptr;

std::string current_exception_message() {
    if (auto failure = std::current_exception()) {
        try {
            std::rethrow_exception(failure);
        } catch (const std::exception& e) {
            return e.what();
        } catch (...) {
            return "an exception not derived from std::exception";
        }
    }
    return "std::terminate was called without an exception";
}

detail::FailureKind current_exception_kind() {
    try {
        if (auto failure = std::current_exception()) std::rethrow_exception(failure);
    } catch (const PeerExited&) {
        return detail::FailureKind::peer_exited;
    } catch (const Aborted&) {
        return detail::FailureKind::stopped;
    } catch (...) {
    }
    return detail::FailureKind::exception;
}

// An uncaught exception in a rank: the transport ends the job with its message, instead
// of the C++ runtime's abort with a core dump.
[[noreturn]] void report_and_exit() {
    const std::string message = current_exception_message();
    if (current_transport) current_transport->fail_uncaught(message, current_exception_kind());
    std::fflush(nullptr);
    std::fprintf(stderr, "%s: %s\n", program_invocation_short_name, message.c_str());
    _exit(1);
}

void claim_process() {
    if (world_alive.exchange(true))
        throw Error("a process may hold only one spmd::World at a time");
}

}  // namespace

World::World() {
    claim_process();
    try {
        transport_ = detail::Transport::open();
    } catch (...) {
        world_alive = false;
        throw;
    }
    rank_ = transport_->rank();
    size_ = transport_->size();
    node_ = transport_->node();
    detail::wait_policy() =
        detail::make_wait_policy(size_, job().header().cores, &job().header().asleep);
    detail::set_waiting_rank(&job(), rank_);
    current_transport = transport_.get();
    std::set_terminate(report_and_exit);
    // Under mprun --trace; after set_terminate, so that its errors reach mprun's report.
    if (std::getenv("SPMD_JOB")) detail::trace::attach_from_environment(rank_, size_);
    set_state(detail::WorldState::open);
}

World::World(int& /*argc*/, char**& /*argv*/) : World() {}

World::World(std::shared_ptr<detail::JobSegment> job, int rank) {
    world_alive = true;  // a forked rank: whatever World its parent held is not its own
    transport_ = detail::Transport::open_forked(std::move(job), rank);
    rank_ = transport_->rank();
    size_ = transport_->size();
    node_ = transport_->node();
    detail::wait_policy() =
        detail::make_wait_policy(size_, this->job().header().cores, &this->job().header().asleep);
    detail::set_waiting_rank(&this->job(), rank_);
    current_transport = transport_.get();
    set_state(detail::WorldState::open);
}

void World::set_state(detail::WorldState state) {
    job().report(rank_).pid.store(getpid(), std::memory_order_relaxed);
    job().report(rank_).world.store(std::uint32_t(state), std::memory_order_release);
}

World::~World() {
    map_ = {};  // its memory belongs to the transport, which closes below
    set_state(detail::WorldState::closed);
    detail::set_waiting_rank(nullptr, 0);
    detail::wait_policy().asleep = nullptr;  // in the job segment, which closes below
    if (current_transport == transport_.get()) current_transport = nullptr;
    transport_.reset();
    world_alive = false;
}

detail::JobSegment& World::job() const {
    return transport_->job();
}

bool World::aborted() const {
    return transport_->aborted();
}

void World::abort(std::string_view message) {
    transport_->abort(message);
}

void World::fail(std::string_view line, int exit_code) {
    transport_->fail(line, exit_code);
}

void World::set_progress_hook(std::function<void()> hook) {
    transport_->set_progress_hook(std::move(hook));
}

void World::barrier() {
    transport_->barrier(detail::WaitCall::barrier);
}

std::pair<std::shared_ptr<void>, void*> World::shared_bytes(std::string_view name,
                                                            std::size_t count,
                                                            std::size_t elem_size,
                                                            std::size_t /*elem_align*/) {
    if (elem_size != 0 && count > std::numeric_limits<std::size_t>::max() / elem_size)
        throw Error("shared array '" + std::string(name) + "' of " + std::to_string(count) +
                    " elements is too large");
    const std::size_t bytes = count * elem_size;
    auto shared = transport_->shared(name, bytes);
    detail::trace::shared_array(name, bytes);
    return shared;
}

void World::send_bytes(int dest, int tag, const void* data, std::size_t bytes) {
    transport_->send(dest, tag, data, bytes);
}

Status World::recv_bytes(int source, int tag, void* data, std::size_t capacity) {
    return transport_->recv(source, tag, data, capacity);
}

Status World::probe(int source, int tag) {
    return transport_->probe(source, tag);
}

ScheduledLoop World::schedule(std::size_t n, Schedule policy, std::size_t chunk) {
    const std::uint32_t generation = ++schedule_count_;
    return ScheduledLoop(n, policy, chunk, rank_, size_, transport_->schedule_counter(generation),
                         generation);
}

// ---- Collectives: arguments checked here, the transport moves the data.

void World::check_root(int root, const char* what) const {
    if (root < 0 || root >= size_)
        throw Error(std::string(what) + ": root " + std::to_string(root) +
                    " is not a rank of a world of " + std::to_string(size_));
}

void World::broadcast_bytes(void* data, std::size_t bytes, int root) {
    check_root(root, "broadcast");
    transport_->broadcast(data, bytes, root);
}

void World::reduce_bytes(const void* in, void* out, std::size_t count, std::size_t out_count,
                         std::size_t elem, detail::Combine combine, const void* fn, int root) {
    const bool everyone = root < 0;
    if (!everyone) check_root(root, "reduce");
    if ((everyone || rank_ == root) && out_count < count)
        throw Error("reduce: the output holds " + std::to_string(out_count) +
                    " elements, fewer than the " + std::to_string(count) + " reduced");
    transport_->reduce(in, out, count, elem, combine, fn, root);
}

void World::gather_bytes(const void* in, void* out, std::size_t bytes, std::size_t out_bytes,
                         int root) {
    const bool everyone = root < 0;
    if (!everyone) check_root(root, "gather");
    if ((everyone || rank_ == root) && out_bytes < bytes * std::size_t(size_))
        throw Error("gather: the output has room for " + std::to_string(out_bytes) +
                    " bytes, not the " + std::to_string(bytes * std::size_t(size_)) + " gathered");
    transport_->gather(in, out, bytes, root);
}

void World::scatter_bytes(const void* in, void* out, std::size_t bytes, std::size_t in_bytes,
                          int root) {
    check_root(root, "scatter");
    if (rank_ == root && in_bytes < bytes * std::size_t(size_))
        throw Error("scatter: the input has " + std::to_string(in_bytes) + " bytes, not the " +
                    std::to_string(bytes * std::size_t(size_)) + " scattered");
    transport_->scatter(in, out, bytes, root);
}

}  // namespace spmd
