// The shm transport's state: a rank of a job segment on this host (see transport.hpp).
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "spmd/detail/job.hpp"
#include "spmd/detail/messenger.hpp"
#include "spmd/detail/transport.hpp"

namespace spmd::detail {

struct Transport::Impl {
    std::shared_ptr<JobSegment> job;
    int rank = 0;
    int size = 1;
    bool under_launcher = false;  // mprun or spmd::launch reports this rank's failures
    std::uint32_t barrier_epoch = 0;
    std::uint32_t value_epoch = 0;  // calls of value_all_reduce
    std::uint64_t collective_count = 0;
    std::unique_ptr<Messenger> messenger_;
    std::function<void()> progress_hook;
    int single_copy_state = 0;  // reductions by single copy: 0 untried, 1 work, -1 refused
    std::vector<std::byte> single_copy_chunks;  // their accumulator and the peer's chunk

    Messenger& messenger() {
        if (!messenger_) messenger_ = std::make_unique<Messenger>(*job, rank);
        return *messenger_;
    }
    int next_scratch_half() { return int(collective_count++ & 1); }
    void barrier(WaitCall call);
    void gather_release_barrier(WaitCall call, std::uint32_t epoch);
    void signal_flag(BarrierFlag& flag, std::uint32_t epoch);
    void wait_flag(BarrierFlag& flag, std::uint32_t epoch, WaitCall call, int from);
    void broadcast(void* data, std::size_t bytes, int root);
    void reduce(const void* in, void* out, std::size_t count, std::size_t elem, Combine combine,
                const void* fn, int root);
    // all_reduce through the value flags; false (nothing done) if the value is too large.
    bool value_all_reduce(const std::byte* in, std::byte* out, std::size_t count, std::size_t elem,
                          Combine combine, const void* fn);
    void reduce_by_messages(const std::byte* in, std::byte* out, std::size_t count,
                            std::size_t elem, Combine combine, const void* fn, int root);
    // False, having moved no data, where the call is to take the scratch path instead.
    bool reduce_by_single_copy(const std::byte* in, std::byte* out, std::size_t count,
                               std::size_t elem, Combine combine, const void* fn, int root);
    void gather(const void* in, void* out, std::size_t bytes, int root);
    void scatter(const void* in, void* out, std::size_t bytes, int root);
};

}  // namespace spmd::detail
