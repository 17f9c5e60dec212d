// The split copy of a large pulled send: the receiver offers the sender the head of its
// receive buffer (the inbox's PullSplit slot) and reads the tail itself; a sender waiting
// in MPI claims the head by atomic and writes it with process_vm_writev, so both cores
// copy. An offer nobody claimed by the time the tail is read is taken back and the head
// read too, so a sender busy elsewhere never holds its receiver.
#pragma once
#include <sys/types.h>

#include <cstddef>
#include <cstdint>

#include "spmd/detail/job.hpp"

namespace spmd::mpi {

// From this size on a pulled payload is split: at 64 KiB the second core already saves
// more than the hand-shake costs (windowed bandwidth 12-15 GB/s against 9-14 unsplit);
// at 32 KiB, where pulls start, each half is barely more than a system call's worth.
inline constexpr std::size_t split_pull_bytes = 64 << 10;

// The receiver's side: reads `bytes` at `address` in rank `source` (process `sender`)
// into `target`, offering the head to that rank as pulled send `id`. True if all of it
// arrived; false (nothing usable) if the single copy was refused or the sender is gone.
// Throws spmd::Aborted if the job fails while it waits for the sender's head.
bool read_split(detail::JobSegment& job, int me, int source, pid_t sender, std::uint64_t id,
                std::uint64_t address, std::byte* target, std::size_t bytes);

// An offer from `dest` to this rank (`me`) that is still open: its pulled send's id and
// the head's bytes; false if none.
bool split_offered(detail::JobSegment& job, int me, int dest, std::uint64_t& id,
                   std::uint64_t& head);

// The sender's side: claims dest's open offer to `me` for send `id` and writes its head
// from `data` (the send's buffer). Does nothing if the receiver took the offer back first.
void write_split_head(detail::JobSegment& job, int me, int dest, std::uint64_t id,
                      const std::byte* data);

}  // namespace spmd::mpi
