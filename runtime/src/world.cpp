#include "spmd/world.hpp"

#include <errno.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <limits>

#include "spmd/detail/job.hpp"
#include "spmd/detail/messenger.hpp"
#include "spmd/detail/trace.hpp"
#include "spmd/detail/wait.hpp"

namespace spmd {

namespace {

std::atomic<bool> world_alive{false};
// For the terminate handler, which has no other way to find the world.
detail::JobSegment* current_job = nullptr;
int current_rank = 0;
bool under_launcher = false;

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

// An uncaught exception in a rank: hand its message to the launcher, which reports
// "rank r failed: <message>", instead of the C++ runtime's abort with a core dump.
[[noreturn]] void report_and_exit() {
    const std::string message = current_exception_message();
    std::fflush(nullptr);
    if (current_job && under_launcher)
        current_job->record_failure(current_rank, current_exception_kind(), message);
    else
        std::fprintf(stderr, "%s: %s\n", program_invocation_short_name, message.c_str());
    _exit(1);
}

int parse_env_int(const char* name, int low, int high) {
    const char* text = std::getenv(name);
    char* end = nullptr;
    errno = 0;
    long value = text ? std::strtol(text, &end, 10) : 0;
    if (!text || !*text || *end || errno || value < low || value > high)
        throw Error(std::string("environment variable ") + name + "='" + (text ? text : "") +
                    "' is not a whole number from " + std::to_string(low) + " to " +
                    std::to_string(high) + " (is this program started by mprun?)");
    return int(value);
}

void claim_process() {
    if (world_alive.exchange(true))
        throw Error("a process may hold only one spmd::World at a time");
}

}  // namespace

World::World() {
    claim_process();
    try {
        if (std::getenv("SPMD_JOB")) {
            attach_from_environment();
            under_launcher = true;
        } else {
            job_ = detail::JobSegment::create(1);
            job_->remove_names();  // nobody else will attach: the mapping is enough
        }
    } catch (...) {
        world_alive = false;
        throw;
    }
    detail::wait_policy() = detail::make_wait_policy(size_);
    detail::set_waiting_rank(job_.get(), rank_);
    current_job = job_.get();
    current_rank = rank_;
    std::set_terminate(report_and_exit);
    if (under_launcher) detail::trace::attach_from_environment(rank_, size_);  // errors reported
    set_state(detail::WorldState::open);
}

World::World(int& /*argc*/, char**& /*argv*/) : World() {}

World::World(std::shared_ptr<detail::JobSegment> job, int rank)
    : job_(std::move(job)), rank_(rank), size_(job_->size()) {
    world_alive = true;  // a forked rank: whatever World its parent held is not its own
    detail::wait_policy() = detail::make_wait_policy(size_);
    detail::set_waiting_rank(job_.get(), rank_);
    current_job = job_.get();
    current_rank = rank_;
    under_launcher = true;  // spmd::launch's parent reports failures
    set_state(detail::WorldState::open);
}

void World::set_state(detail::WorldState state) {
    job_->report(rank_).pid.store(getpid(), std::memory_order_relaxed);
    job_->report(rank_).world.store(std::uint32_t(state), std::memory_order_release);
}

World::~World() {
    set_state(detail::WorldState::closed);
    detail::set_waiting_rank(nullptr, 0);
    if (current_job == job_.get()) current_job = nullptr;
    world_alive = false;
}

void World::attach_from_environment() {
    size_ = parse_env_int("SPMD_SIZE", 1, detail::max_ranks);
    rank_ = parse_env_int("SPMD_RANK", 0, size_ - 1);
    job_ = detail::JobSegment::attach(std::getenv("SPMD_JOB"), size_);
}

bool World::aborted() const {
    return job_->aborted();
}

void World::abort(std::string_view message) {
    std::fflush(nullptr);
    job_->record_failure(rank_, detail::FailureKind::abort, std::string(message));
    std::uint32_t nobody = 0;  // peers die of the abort at once: say who caused it
    job_->header().aborted_by.compare_exchange_strong(nobody, std::uint32_t(rank_) + 1);
    job_->set_abort();
    if (!under_launcher)
        std::fprintf(stderr, "%s: rank %d called abort: %.*s\n", program_invocation_short_name,
                     rank_, int(message.size()), message.data());
    _exit(1);
}

void World::fail(std::string_view line, int exit_code) {
    std::fflush(nullptr);
    job_->record_failure(rank_, detail::FailureKind::reported, std::string(line), exit_code);
    std::uint32_t nobody = 0;  // peers stopped by this failure may be reaped first
    job_->header().aborted_by.compare_exchange_strong(nobody, std::uint32_t(rank_) + 1);
    job_->set_abort();
    if (!under_launcher) std::fprintf(stderr, "%.*s\n", int(line.size()), line.data());
    _exit(exit_code);
}

// Dissemination barrier (Hensgen, Finkel and Manber 1988): in round k, rank r signals
// rank (r + 2^k) mod N and waits for rank (r - 2^k) mod N; after ceil(log2 N) rounds
// every rank has heard, directly or not, from every other. Each flag has one writer and
// holds the epoch of its last signal, so flags only grow and never need a reset.
void World::barrier() {
    barrier_in(detail::WaitCall::barrier);
}

void World::barrier_in(detail::WaitCall call) {
    const std::uint32_t epoch = ++barrier_epoch_;
    const auto& abort = job_->header().abort;
    detail::trace::Span trace_barrier(detail::trace::Kind::barrier, -1, -1, epoch);
    for (int round = 0, distance = 1; distance < size_; ++round, distance <<= 1) {
        detail::trace::Span trace_round(detail::trace::Kind::barrier_round,
                                        (rank_ + distance) % size_,
                                        (rank_ - distance + size_) % size_, epoch, round);
        detail::BarrierFlag& out = job_->barrier_flag((rank_ + distance) % size_, round);
        out.epoch.store(epoch, std::memory_order_seq_cst);
        if (out.sleeping.load(std::memory_order_seq_cst)) detail::futex_wake(out.epoch, 1);

        detail::BarrierFlag& in = job_->barrier_flag(rank_, round);
        // Wrap-safe "in.epoch >= epoch": a fast peer may already signal the next epoch.
        auto arrived = [&] {
            if (std::int32_t(in.epoch.load(std::memory_order_acquire) - epoch) >= 0) return true;
            if (progress_hook_) progress_hook_();  // only while waiting: not in the way of a flag
            return false;
        };
        const int from = (rank_ - distance + size_) % size_;
        detail::wait_until({abort, call, from}, arrived, [&](long timeout_ns) {
            in.sleeping.store(1, std::memory_order_seq_cst);
            const std::uint32_t seen = in.epoch.load(std::memory_order_seq_cst);
            if (std::int32_t(seen - epoch) < 0 && !job_->aborted())
                detail::futex_wait(in.epoch, seen, timeout_ns);
            in.sleeping.store(0, std::memory_order_relaxed);
        });
    }
    if (job_->aborted()) detail::throw_aborted();
}

std::pair<std::shared_ptr<void>, void*> World::shared_bytes(std::string_view name,
                                                            std::size_t count,
                                                            std::size_t elem_size,
                                                            std::size_t /*elem_align*/) {
    // Mappings are page-aligned, which satisfies every alignment a T can ask for.
    if (elem_size != 0 && count > std::numeric_limits<std::size_t>::max() / elem_size)
        throw Error("shared array '" + std::string(name) + "' of " + std::to_string(count) +
                    " elements is too large");
    const std::size_t bytes = count * elem_size;
    auto& header = job_->header();
    std::shared_ptr<detail::Mapping> mapping;
    std::string segment;
    if (rank_ == 0) {
        segment = job_->name_new_shared();
        mapping = detail::create_segment(segment, bytes);
        const std::size_t n = std::min(name.size(), sizeof header.shared_name - 1);
        std::memcpy(header.shared_name, name.data(), n);
        header.shared_name[n] = '\0';
        header.shared_bytes = bytes;
    }
    barrier_in(detail::WaitCall::shared);
    if (rank_ != 0) {
        const std::string published(header.shared_name);
        if (published != name.substr(0, sizeof header.shared_name - 1) ||
            header.shared_bytes != bytes)
            throw Error("collective shared(\"" + std::string(name) + "\", " +
                        std::to_string(bytes) + " bytes) on rank " + std::to_string(rank_) +
                        " does not match rank 0's shared(\"" + published + "\", " +
                        std::to_string(header.shared_bytes) +
                        " bytes): collective calls must come in the same order on every rank");
        mapping = detail::open_segment(job_->shared_segment_name());
    }
    if (size_ > 1)
        barrier_in(detail::WaitCall::shared);  // everyone maps it: the name is no longer needed
    if (rank_ == 0) {
        detail::remove_segment(segment);
        job_->forget_shared();
    }
    void* address = mapping->address();
    detail::trace::shared_array(name, bytes);
    return {std::move(mapping), address};
}

detail::Messenger& World::messenger() {
    if (!messenger_) messenger_ = std::make_unique<detail::Messenger>(*job_, rank_);
    return *messenger_;
}

void World::send_bytes(int dest, int tag, const void* data, std::size_t bytes) {
    messenger().send(dest, tag, data, bytes);
}

Status World::recv_bytes(int source, int tag, void* data, std::size_t capacity) {
    return messenger().recv(source, tag, data, capacity);
}

Status World::probe(int source, int tag) {
    return messenger().probe(source, tag);
}

ScheduledLoop World::schedule(std::size_t n, Schedule policy, std::size_t chunk) {
    const std::uint32_t generation = ++schedule_count_;
    auto& slot = job_->header().schedule[generation % detail::schedule_slots];
    return ScheduledLoop(n, policy, chunk, rank_, size_, &slot.word, generation);
}

}  // namespace spmd
