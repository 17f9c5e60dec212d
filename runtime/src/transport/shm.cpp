// The shm transport: a rank of a job segment that mprun (or spmd::launch) made on this
// host, or a world of size 1 of its own. The barrier is the job segment's dissemination
// barrier (a gather-release one with more ranks than cores); messages go through the Messenger;
// collectives through the scratch halves (shm_collectives.cpp).
#include "shm.hpp"

#include <errno.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>

#include "spmd/detail/futex.hpp"
#include "spmd/detail/trace.hpp"
#include "spmd/detail/wait.hpp"
#include "spmd/detail/wait_for.hpp"

namespace spmd::detail {

namespace {
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
}  // namespace

std::unique_ptr<Transport> Transport::open() {
    auto impl = std::make_unique<Impl>();
    if (std::getenv("SPMD_JOB")) {
        impl->size = parse_env_int("SPMD_SIZE", 1, max_ranks);
        impl->rank = parse_env_int("SPMD_RANK", 0, impl->size - 1);
        impl->job = JobSegment::attach(std::getenv("SPMD_JOB"), impl->size);
        impl->under_launcher = true;
    } else {
        impl->job = JobSegment::create(1);
        impl->job->remove_names();  // nobody else will attach: the mapping is enough
    }
    return std::make_unique<Transport>(std::move(impl));
}

std::unique_ptr<Transport> Transport::open_forked(std::shared_ptr<JobSegment> job, int rank) {
    auto impl = std::make_unique<Impl>();
    impl->size = job->size();
    impl->rank = rank;
    impl->job = std::move(job);
    impl->under_launcher = true;  // spmd::launch's parent reports failures
    return std::make_unique<Transport>(std::move(impl));
}

Transport::Transport(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Transport::~Transport() = default;

int Transport::rank() const {
    return impl_->rank;
}
int Transport::size() const {
    return impl_->size;
}
Node Transport::node() const {
    Node node;
    for (int r = 0; r < impl_->size; ++r) node.ranks.push_back(r);
    node.local_rank = impl_->rank;
    return node;
}
JobSegment& Transport::job() const {
    return *impl_->job;
}

bool Transport::aborted() const {
    return impl_->job->aborted();
}

void Transport::abort(std::string_view message) {
    JobSegment& job = *impl_->job;
    std::fflush(nullptr);
    job.record_failure(impl_->rank, FailureKind::abort, std::string(message));
    std::uint32_t nobody = 0;  // peers die of the abort at once: say who caused it
    job.header().aborted_by.compare_exchange_strong(nobody, std::uint32_t(impl_->rank) + 1);
    job.set_abort();
    if (!impl_->under_launcher)
        std::fprintf(stderr, "%s: rank %d called abort: %.*s\n", program_invocation_short_name,
                     impl_->rank, int(message.size()), message.data());
    _exit(1);
}

void Transport::fail(std::string_view line, int exit_code) {
    JobSegment& job = *impl_->job;
    std::fflush(nullptr);
    job.record_failure(impl_->rank, FailureKind::reported, std::string(line), exit_code);
    std::uint32_t nobody = 0;  // peers stopped by this failure may be reaped first
    job.header().aborted_by.compare_exchange_strong(nobody, std::uint32_t(impl_->rank) + 1);
    job.set_abort();
    if (!impl_->under_launcher) std::fprintf(stderr, "%.*s\n", int(line.size()), line.data());
    _exit(exit_code);
}

// Hands the message to the launcher, which reports "rank r failed: <message>", instead of
// the C++ runtime's abort with a core dump.
void Transport::fail_uncaught(const std::string& message, FailureKind kind) {
    std::fflush(nullptr);
    if (impl_->under_launcher)
        impl_->job->record_failure(impl_->rank, kind, message);
    else
        std::fprintf(stderr, "%s: %s\n", program_invocation_short_name, message.c_str());
    _exit(1);
}

void Transport::set_progress_hook(std::function<void()> hook) {
    impl_->progress_hook = std::move(hook);
}

void Transport::barrier(WaitCall call) {
    impl_->barrier(call);
}

// A barrier flag holds the epoch of its last signal, so flags only grow and never need a
// reset; JobSegment::sleepers counts the waiters asleep on it (a release flag has many).
void Transport::Impl::signal_flag(BarrierFlag& flag, std::uint32_t epoch) {
    flag.epoch.store(epoch, std::memory_order_seq_cst);
    if (job->sleepers(flag).load(std::memory_order_seq_cst))
        futex_wake(flag.epoch, std::numeric_limits<int>::max());
}

void Transport::Impl::wait_flag(BarrierFlag& flag, std::uint32_t epoch, WaitCall call, int from) {
    // Wrap-safe "flag.epoch >= epoch": a fast peer may already signal the next epoch.
    auto arrived = [&] {
        if (std::int32_t(flag.epoch.load(std::memory_order_acquire) - epoch) >= 0) return true;
        if (progress_hook) progress_hook();  // only while waiting: not in the way of a flag
        return false;
    };
    wait_until({job->header().abort, call, from}, arrived, [&](long timeout_ns) {
        std::atomic<std::uint32_t>& sleeping = job->sleepers(flag);
        sleeping.fetch_add(1, std::memory_order_seq_cst);
        const std::uint32_t seen = flag.epoch.load(std::memory_order_seq_cst);
        if (std::int32_t(seen - epoch) < 0 && !job->aborted())
            futex_wait(flag.epoch, seen, timeout_ns);
        sleeping.fetch_sub(1, std::memory_order_relaxed);
    });
}

// Dissemination barrier (Hensgen, Finkel and Manber 1988): in round k, rank r signals
// rank (r + 2^k) mod N and waits for rank (r - 2^k) mod N; after ceil(log2 N) rounds
// every rank has heard, directly or not, from every other. Each flag has one writer.
void Transport::Impl::barrier(WaitCall call) {
    const std::uint32_t epoch = ++barrier_epoch;
    trace::Span trace_barrier(trace::Kind::barrier, -1, -1, epoch);
    if (size > job->header().cores) {
        gather_release_barrier(call, epoch);
        return;
    }
    for (int round = 0, distance = 1; distance < size; ++round, distance <<= 1) {
        const int to = (rank + distance) % size, from = (rank - distance + size) % size;
        trace::Span trace_round(trace::Kind::barrier_round, to, from, epoch, round);
        signal_flag(job->barrier_flag(to, round), epoch);
        wait_flag(job->barrier_flag(rank, round), epoch, call, from);
    }
    if (job->aborted()) throw_aborted();
}

// With more ranks than cores: every rank but 0 signals its arrival in its own flag and
// waits for rank 0's release; rank 0 waits for every arrival, then releases. Each rank
// needs a core once, where the dissemination barrier needs every rank on a core in each
// of its log2 N rounds; and rank 0 leaves first, on its core, so what it does next (a
// broadcast's value) is ready when the others wake. The kind depends only on the job's
// size and cores, so every rank of a job uses the same one and flags keep one meaning:
// barrier_flag(r, 0) is rank r's arrival (r > 0), barrier_flag(0, 0) the release.
// Traced as one round per rank r > 0, numbered r: r signals rank 0 and waits for it;
// rank 0 waits for r's arrival and (once all are in) signals r's release.
void Transport::Impl::gather_release_barrier(WaitCall call, std::uint32_t epoch) {
    if (rank == 0) {
        for (int from = 1; from < size; ++from) {
            trace::Span trace_round(trace::Kind::barrier_round, from, from, epoch, from);
            wait_flag(job->barrier_flag(from, 0), epoch, call, from);
        }
        signal_flag(job->barrier_flag(0, 0), epoch);
    } else {
        trace::Span trace_round(trace::Kind::barrier_round, 0, 0, epoch, rank);
        signal_flag(job->barrier_flag(rank, 0), epoch);
        wait_flag(job->barrier_flag(0, 0), epoch, call, 0);
    }
    if (job->aborted()) throw_aborted();
}

void Transport::send(int dest, int tag, const void* data, std::size_t bytes) {
    impl_->messenger().send(dest, tag, data, bytes);
}
Status Transport::recv(int source, int tag, void* data, std::size_t capacity) {
    return impl_->messenger().recv(source, tag, data, capacity);
}
Status Transport::probe(int source, int tag) {
    return impl_->messenger().probe(source, tag);
}

void Transport::broadcast(void* data, std::size_t bytes, int root) {
    impl_->broadcast(data, bytes, root);
}
void Transport::reduce(const void* in, void* out, std::size_t count, std::size_t elem,
                       Combine combine, const void* fn, int root) {
    impl_->reduce(in, out, count, elem, combine, fn, root);
}
void Transport::gather(const void* in, void* out, std::size_t bytes, int root) {
    impl_->gather(in, out, bytes, root);
}
void Transport::scatter(const void* in, void* out, std::size_t bytes, int root) {
    impl_->scatter(in, out, bytes, root);
}

std::pair<std::shared_ptr<void>, void*> Transport::shared(std::string_view name,
                                                          std::size_t bytes) {
    Impl& s = *impl_;
    auto& header = s.job->header();
    std::shared_ptr<Mapping> mapping;
    std::string segment;
    if (s.rank == 0) {
        segment = s.job->name_new_shared();
        mapping = create_segment(segment, bytes);
        const std::size_t n = std::min(name.size(), sizeof header.shared_name - 1);
        std::memcpy(header.shared_name, name.data(), n);
        header.shared_name[n] = '\0';
        header.shared_bytes = bytes;
    }
    s.barrier(WaitCall::shared);
    if (s.rank != 0) {
        const std::string published(header.shared_name);
        if (published != name.substr(0, sizeof header.shared_name - 1) ||
            header.shared_bytes != bytes)
            throw Error("collective shared(\"" + std::string(name) + "\", " +
                        std::to_string(bytes) + " bytes) on rank " + std::to_string(s.rank) +
                        " does not match rank 0's shared(\"" + published + "\", " +
                        std::to_string(header.shared_bytes) +
                        " bytes): collective calls must come in the same order on every rank");
        mapping = open_segment(s.job->shared_segment_name());
    }
    if (s.size > 1) s.barrier(WaitCall::shared);  // everyone maps it: the name is no longer needed
    if (s.rank == 0) {
        remove_segment(segment);
        s.job->forget_shared();
    }
    void* address = mapping->address();  // page-aligned: fits every alignment a T asks for
    return {std::move(mapping), address};
}

ScheduleCounter Transport::schedule_counter(std::uint32_t generation) {
    return {&impl_->job->header().schedule[generation % schedule_slots].word, 0};
}

std::uint64_t ScheduleCounter::load() const {
    return static_cast<std::atomic<std::uint64_t>*>(where)->load(std::memory_order_relaxed);
}

bool ScheduleCounter::compare_exchange(std::uint64_t& expected, std::uint64_t desired) const {
    return static_cast<std::atomic<std::uint64_t>*>(where)->compare_exchange_weak(
        expected, desired, std::memory_order_relaxed);
}

}  // namespace spmd::detail
