// The MPI transport: World over MPI_COMM_WORLD (a duplicate), for jobs that mpirun starts
// on one host or many. Barrier, messages and collectives are MPI's; shared arrays are one
// MPI_Win_allocate_shared per host; loop counters live in a window on rank 0, reached by
// passive-target atomics (on one host, in the host segment). Each host also makes a small
// control segment of its own (what Queue, Event, Lock and the wait policy stand on, see
// transport.hpp).
#include "mpi.hpp"

#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <climits>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <string>

#include "spmd/detail/trace.hpp"
#include "spmd/detail/wait.hpp"
#include "spmd/error.hpp"

namespace spmd::detail {

namespace {
constexpr int schedule_window_words = schedule_slots;

int mpi_count(std::size_t bytes, const char* what) {
    if (bytes > std::size_t(INT_MAX))
        throw Error(std::string(what) + ": a message of " + std::to_string(bytes) +
                    " bytes is larger than the MPI transport carries in one message (2^31 - 1)");
    return int(bytes);
}

// The hosts, numbered by their lowest world rank, and this rank's place on its own.
Node describe_node(MPI_Comm comm, MPI_Comm host_comm, int rank) {
    Node node;
    int local_size = 1;
    MPI_Comm_size(host_comm, &local_size);
    MPI_Comm_rank(host_comm, &node.local_rank);
    node.ranks.resize(std::size_t(local_size));
    MPI_Allgather(&rank, 1, MPI_INT, node.ranks.data(), 1, MPI_INT, host_comm);
    std::sort(node.ranks.begin(), node.ranks.end());
    node.local_rank =
        int(std::find(node.ranks.begin(), node.ranks.end(), rank) - node.ranks.begin());
    int size = 1;
    MPI_Comm_size(comm, &size);
    std::vector<int> leaders(static_cast<std::size_t>(size));
    MPI_Allgather(&node.ranks.front(), 1, MPI_INT, leaders.data(), 1, MPI_INT, comm);
    std::sort(leaders.begin(), leaders.end());
    leaders.erase(std::unique(leaders.begin(), leaders.end()), leaders.end());
    node.count = int(leaders.size());
    node.index =
        int(std::find(leaders.begin(), leaders.end(), node.ranks.front()) - leaders.begin());
    return node;
}

// Zeroes [at, at + bytes) of a shared window without touching its whole pages: they are
// punched out of the shared-memory file behind the window (MADV_REMOVE), so they read as
// zero and their first touch (a page fault) falls to whoever fills them, as under mprun.
// A memset of the whole range would fault every page in here and then write it twice.
// Partial pages at the ends are memset; so is everything if the memory is not a shared
// file mapping (MADV_REMOVE then fails without changing anything).
void zero(std::byte* at, std::size_t bytes) {
    const auto page = std::uintptr_t(sysconf(_SC_PAGESIZE));
    const auto begin = reinterpret_cast<std::uintptr_t>(at), end = begin + bytes;
    const std::uintptr_t first = (begin + page - 1) / page * page, last = end / page * page;
    if (last > first && madvise(reinterpret_cast<void*>(first), last - first, MADV_REMOVE) == 0) {
        std::memset(at, 0, first - begin);
        std::memset(reinterpret_cast<void*>(last), 0, end - last);
        return;
    }
    std::memset(at, 0, bytes);
}

// The cores the host's ranks may run on together: the union of their affinity masks
// (mpirun binds each rank to one core before the program starts).
int host_cores(MPI_Comm host_comm) {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) != 0) return usable_cores();
    static_assert(sizeof set % sizeof(unsigned long) == 0);
    constexpr int words = int(sizeof set / sizeof(unsigned long));
    MPI_Allreduce(MPI_IN_PLACE, &set, words, MPI_UNSIGNED_LONG, MPI_BOR, host_comm);
    return CPU_COUNT(&set);
}

// The host's control segment: its first rank makes it and names it to the others; once
// every rank of the host maps it, the name goes (nothing is left in /dev/shm).
std::shared_ptr<JobSegment> open_host_segment(MPI_Comm host_comm, int local_rank, int size) {
    char name[256] = {};
    std::shared_ptr<JobSegment> job;
    const int cores = host_cores(host_comm);
    if (local_rank == 0) {
        job = JobSegment::create(size);
        job->header().cores = cores;
        std::snprintf(name, sizeof name, "%s", job->name().c_str());
    }
    MPI_Bcast(name, sizeof name, MPI_CHAR, 0, host_comm);
    if (local_rank != 0) job = JobSegment::attach(name, size);
    MPI_Barrier(host_comm);
    if (local_rank == 0) job->remove_names();
    return job;
}
}  // namespace

std::unique_ptr<Transport> Transport::open() {
    auto impl = std::make_unique<Impl>();
    int initialized = 0;
    MPI_Initialized(&initialized);
    if (!initialized) {
#ifdef OMPI_MAJOR_VERSION
        // Open MPI 4.1's one-sided component osc/rdma crashes (SIGSEGV in the vader BTL's
        // emulated atomics) when a rank applies an atomic to its own window, which the loop
        // counters on rank 0 do; and with osc/rdma left out, osc/ucx takes windows that span
        // hosts over TCP and hangs Queue's polls there. Unless the user chose components
        // themselves, osc/sm serves one host and osc/pt2pt many.
        setenv("OMPI_MCA_osc", "sm,pt2pt", 0);
#endif
        MPI_Init(nullptr, nullptr);
        impl->finalize = true;
    }
    MPI_Comm_dup(MPI_COMM_WORLD, &impl->comm);
    MPI_Comm_rank(impl->comm, &impl->rank);
    MPI_Comm_size(impl->comm, &impl->size);
    MPI_Comm_split_type(impl->comm, MPI_COMM_TYPE_SHARED, impl->rank, MPI_INFO_NULL,
                        &impl->host_comm);
    impl->node = describe_node(impl->comm, impl->host_comm, impl->rank);
    impl->job = open_host_segment(impl->host_comm, impl->node.local_rank, impl->size);

    // The loop counters. On one host they are the host segment's words, as under mprun
    // (see schedule_counter). Across hosts: words on rank 0, zeroed before anyone reads
    // them, then one passive-target epoch to every rank for the World's whole life.
    if (impl->node.count == 1) return std::make_unique<Transport>(std::move(impl));
    void* base = nullptr;
    const MPI_Aint bytes = impl->rank == 0 ? schedule_window_words * sizeof(std::uint64_t) : 0;
    MPI_Win_allocate(bytes, sizeof(std::uint64_t), MPI_INFO_NULL, impl->comm, &base,
                     &impl->schedule_window);
    if (bytes) std::memset(base, 0, std::size_t(bytes));
    MPI_Barrier(impl->comm);
    MPI_Win_lock_all(MPI_MODE_NOCHECK, impl->schedule_window);
    return std::make_unique<Transport>(std::move(impl));
}

std::unique_ptr<Transport> Transport::open_forked(std::shared_ptr<JobSegment>, int) {
    throw UsageError(
        "spmd::launch forks ranks on one host, which needs the shm transport: this libspmd is "
        "built with SPMD_TRANSPORT=mpi (start the program with mpirun instead)");
}

Transport::Impl::~Impl() {
    if (schedule_window != MPI_WIN_NULL) {
        MPI_Win_unlock_all(schedule_window);
        MPI_Win_free(&schedule_window);
    }
    // Collective over the host: every rank made the same windows, in the same order.
    for (MPI_Win& window : shared_windows) MPI_Win_free(&window);
    job.reset();
    if (host_comm != MPI_COMM_NULL) MPI_Comm_free(&host_comm);
    if (comm != MPI_COMM_NULL) MPI_Comm_free(&comm);
    if (finalize) MPI_Finalize();
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
    return impl_->node;
}
JobSegment& Transport::job() const {
    return *impl_->job;
}

bool Transport::aborted() const {
    return impl_->job->aborted();
}

void Transport::Impl::complete(MPI_Request& request) {
    poll_until([&] {
        int done = 0;
        MPI_Test(&request, &done, MPI_STATUS_IGNORE);
        return done != 0;
    });
}

void Transport::Impl::poll_until(const std::function<bool()>& ready) {
    if (ready()) return;
    WaitPolicy& policy = wait_policy();
    const int budget = policy.budget();
    for (int i = 0; i < budget; ++i)
        if (ready()) {
            policy.polls = std::min(policy.max_polls, 2 * policy.polls);
            return;
        }
    if (budget > 16) policy.polls /= 2;
    const long start = monotonic_ns();
    // Nothing wakes a sleeper here (MPI moves only inside MPI calls), so naps stay short.
    const timespec nap{0, 50'000};
    for (;;) {
        if (monotonic_ns() - start < policy.yield_ns)
            yield_core();
        else
            nanosleep(&nap, nullptr);
        if (ready()) return;
    }
}

void Transport::Impl::end_job(const std::string& line, int exit_code) {
    std::fflush(nullptr);
    // The segment keeps a host to one line; across hosts, bad input fails the ranks of
    // every host alike. The other hosts give rank 0's a moment to end the job first, so
    // the user reads one line; a failure on their own still ends the job, a little later.
    if (node.index != 0) sleep(3);
    std::uint32_t nobody = 0;
    if (job->header().aborted_by.compare_exchange_strong(nobody, std::uint32_t(rank) + 1)) {
        std::fprintf(stderr, "%s\n", line.c_str());
        std::fflush(stderr);
        if (size == 1) _exit(exit_code);  // no peer to stop, and no banner from MPI_Abort
        MPI_Abort(comm, exit_code);
    }
    // Another rank of this host is ending the job with its own line: mpirun stops us.
    // Should that rank hang, end the job ourselves after a while.
    sleep(10);
    MPI_Abort(comm, exit_code);
    _exit(exit_code);
}

void Transport::abort(std::string_view message) {
    impl_->end_job(std::string(program_invocation_short_name) + ": rank " +
                       std::to_string(impl_->rank) + " called abort: " + std::string(message),
                   1);
}

void Transport::fail(std::string_view line, int exit_code) {
    impl_->end_job(std::string(line), exit_code);
}

void Transport::fail_uncaught(const std::string& message, FailureKind /*kind*/) {
    impl_->end_job(std::string(program_invocation_short_name) + ": rank " +
                       std::to_string(impl_->rank) + " failed: " + message,
                   1);
}

// MPI's own calls make progress while they wait: there is nothing for a hook to move.
void Transport::set_progress_hook(std::function<void()>) {}

void Transport::barrier(WaitCall) {
    trace::Span trace_barrier(trace::Kind::barrier, -1, -1, 0);
    MPI_Request request;
    MPI_Ibarrier(impl_->comm, &request);
    impl_->complete(request);
}

// ---- Point-to-point. Messages to oneself wait in a private list (an MPI_Send to oneself
// may block until a matching receive is posted, which this rank would never reach).

namespace {
void check_peer(int peer, int tag, int size, const char* what, bool any) {
    if ((!any || peer != any_source) && (peer < 0 || peer >= size))
        throw Error(std::string(what) + ": no rank " + std::to_string(peer) + " in a world of " +
                    std::to_string(size));
    if (any ? tag < any_tag : tag < 0)
        throw Error(std::string(what) + ": tags are >= 0" + (any ? " or any_tag" : "") + ", not " +
                    std::to_string(tag));
}
[[noreturn]] void too_small(const Status& s, std::size_t capacity) {
    throw Error("recv: the message from rank " + std::to_string(s.source) + " with tag " +
                std::to_string(s.tag) + " has " + std::to_string(s.bytes) +
                " bytes, more than the buffer's " + std::to_string(capacity) +
                " (use probe or recv_vector to size it)");
}
[[noreturn]] void nothing_from_self(const char* what, int rank, int tag) {
    throw Error(std::string(what) + " from itself (rank " + std::to_string(rank) + ", " +
                (tag == any_tag ? std::string("any tag") : "tag " + std::to_string(tag)) +
                "), but this rank sent itself no such message");
}
}  // namespace

void Transport::send(int dest, int tag, const void* data, std::size_t bytes) {
    Impl& s = *impl_;
    check_peer(dest, tag, s.size, "send", false);
    trace::Span trace_send(trace::Kind::send, dest, tag, bytes);
    const auto* in = static_cast<const std::byte*>(data);
    if (dest == s.rank) {
        s.to_self.push_back({tag, {in, in + bytes}});
        return;
    }
    MPI_Request request;
    MPI_Isend(data, mpi_count(bytes, "send"), MPI_BYTE, dest, tag, s.comm, &request);
    s.complete(request);
}

Status Transport::probe(int source, int tag) {
    Impl& s = *impl_;
    check_peer(source, tag, s.size, "probe", true);
    if (source == s.rank || source == any_source)
        for (const auto& m : s.to_self)
            if (tag == any_tag || m.tag == tag) return {s.rank, m.tag, m.payload.size()};
    if (source == s.rank) nothing_from_self("probe", s.rank, tag);
    MPI_Status status;
    const int from = source == any_source ? MPI_ANY_SOURCE : source;
    const int with = tag == any_tag ? MPI_ANY_TAG : tag;
    s.poll_until([&] {
        int found = 0;
        MPI_Iprobe(from, with, s.comm, &found, &status);
        return found != 0;
    });
    int count = 0;
    MPI_Get_count(&status, MPI_BYTE, &count);
    return {status.MPI_SOURCE, status.MPI_TAG, std::size_t(count)};
}

Status Transport::recv(int source, int tag, void* data, std::size_t capacity) {
    Impl& s = *impl_;
    check_peer(source, tag, s.size, "recv", true);
    trace::Span trace_recv(trace::Kind::recv, source, tag, capacity);
    if (source == s.rank || source == any_source) {
        auto mine = std::find_if(s.to_self.begin(), s.to_self.end(), [&](const Impl::Stashed& m) {
            return tag == any_tag || m.tag == tag;
        });
        if (mine != s.to_self.end()) {
            const Status status{s.rank, mine->tag, mine->payload.size()};
            if (status.bytes > capacity) too_small(status, capacity);
            if (status.bytes) std::memcpy(data, mine->payload.data(), status.bytes);
            s.to_self.erase(mine);
            return status;
        }
        if (source == s.rank) nothing_from_self("recv", s.rank, tag);
    }
    // Probe first, so that a message too large for the buffer stays for a later recv.
    const Status found = probe(source, tag);
    if (found.bytes > capacity) too_small(found, capacity);
    MPI_Request request;
    MPI_Irecv(data, int(found.bytes), MPI_BYTE, found.source, found.tag, s.comm, &request);
    s.complete(request);
    return found;
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

// One window per host: its first rank holds all the bytes, the others map them through
// MPI_Win_shared_query. The array starts on a page, as under the shm transport: osc/sm puts
// its own words before a window's data (Open MPI 4.1.4: 264 bytes into a page), so MPI's
// base is only 8-byte aligned, which splits cache lines under every vector load and
// streaming store and falls short of a T with a larger alignof. The window is one page
// larger and the array begins at the first page boundary in it: every rank maps the same
// pages, so that boundary is the same byte of the window on each. MPI does not promise
// zeroed memory, so each rank of the host zeroes its own share (see zero()) before the
// host's ranks meet.
std::pair<std::shared_ptr<void>, void*> Transport::shared(std::string_view name,
                                                          std::size_t bytes) {
    Impl& s = *impl_;
    // Every rank checks its call against rank 0's, as the shm transport does.
    struct Call {
        char name[128];
        std::uint64_t bytes;
    } mine{}, first{};
    std::snprintf(mine.name, sizeof mine.name, "%.*s", int(std::min<std::size_t>(name.size(), 127)),
                  name.data());
    mine.bytes = bytes;
    first = mine;
    MPI_Bcast(&first, sizeof first, MPI_BYTE, 0, s.comm);
    if (std::strcmp(first.name, mine.name) != 0 || first.bytes != mine.bytes)
        throw Error("collective shared(\"" + std::string(name) + "\", " + std::to_string(bytes) +
                    " bytes) on rank " + std::to_string(s.rank) +
                    " does not match rank 0's shared(\"" + first.name + "\", " +
                    std::to_string(first.bytes) +
                    " bytes): collective calls must come in the same order on every rank");
    const auto page = std::size_t(sysconf(_SC_PAGESIZE));
    if (bytes > std::size_t(std::numeric_limits<MPI_Aint>::max()) - page)
        throw Error("shared array '" + std::string(name) + "' of " + std::to_string(bytes) +
                    " bytes is too large for an MPI window");
    MPI_Win window = MPI_WIN_NULL;
    void* mine_base = nullptr;
    const MPI_Aint my_bytes = s.node.local_rank == 0 ? MPI_Aint(bytes + page) : 0;
    MPI_Win_allocate_shared(my_bytes, 1, MPI_INFO_NULL, s.host_comm, &mine_base, &window);
    s.shared_windows.push_back(window);
    MPI_Aint size = 0;
    int unit = 1;
    void* window_base = nullptr;
    MPI_Win_shared_query(window, 0, &size, &unit, &window_base);
    const auto at = reinterpret_cast<std::uintptr_t>(window_base);
    auto* base = reinterpret_cast<std::byte*>((at + page - 1) / page * page);
    const std::size_t ranks = s.node.ranks.size(), me = std::size_t(s.node.local_rank);
    const std::size_t lo = bytes * me / ranks, hi = bytes * (me + 1) / ranks;
    if (hi > lo) zero(base + lo, hi - lo);
    MPI_Barrier(s.host_comm);
    // The window is freed with the transport (MPI_Win_free is collective, and ranks drop
    // their last view of an array at different moments); the owner only keeps it alive.
    return {std::shared_ptr<void>(base, [](void*) {}), base};
}

// ---- Loop counters. When every rank is on one host, a word of the host segment that
// they all map, taken with a plain atomic compare-and-swap, as the shm transport does:
// through osc/sm's MPI_Compare_and_swap and flush a chunk costs ten times as much
// (bench_schedule: 0.55 us against 0.05). Across hosts, a word of rank 0's window,
// compare-and-swap and flush per op.

namespace {
// ScheduleCounter::slot's mark for "where is the host segment's std::atomic word".
constexpr std::size_t in_host_segment = std::numeric_limits<std::size_t>::max();
}  // namespace

ScheduleCounter Transport::schedule_counter(std::uint32_t generation) {
    if (impl_->schedule_window == MPI_WIN_NULL)
        return {&impl_->job->header().schedule[generation % schedule_slots].word, in_host_segment};
    return {&impl_->schedule_window, generation % schedule_window_words};
}

std::uint64_t ScheduleCounter::load() const {
    if (slot == in_host_segment)
        return static_cast<std::atomic<std::uint64_t>*>(where)->load(std::memory_order_relaxed);
    const MPI_Win window = *static_cast<MPI_Win*>(where);
    std::uint64_t value = 0;
    const std::uint64_t ignored = 0;  // MPI_NO_OP ignores it, but OpenMPI's osc/sm reads it
    MPI_Fetch_and_op(&ignored, &value, MPI_UINT64_T, 0, MPI_Aint(slot), MPI_NO_OP, window);
    MPI_Win_flush(0, window);
    return value;
}

bool ScheduleCounter::compare_exchange(std::uint64_t& expected, std::uint64_t desired) const {
    if (slot == in_host_segment)
        return static_cast<std::atomic<std::uint64_t>*>(where)->compare_exchange_weak(
            expected, desired, std::memory_order_relaxed);
    const MPI_Win window = *static_cast<MPI_Win*>(where);
    std::uint64_t held = 0;
    MPI_Compare_and_swap(&desired, &expected, &held, MPI_UINT64_T, 0, MPI_Aint(slot), window);
    MPI_Win_flush(0, window);
    const bool swapped = held == expected;
    expected = held;
    return swapped;
}

}  // namespace spmd::detail
