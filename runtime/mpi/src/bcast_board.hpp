// The broadcast board: broadcasts on MPI_COMM_WORLD through a few slots of memory the
// ranks share, each flagged by a sequence number, as OpenMPI's coll/sm does. The root
// needs no other rank to be running: it writes and goes on, and each other rank copies
// the value out as soon as it looks, without a barrier or a message per rank. A large
// value goes through in slot-sized chunks, the others copying one out while the root
// writes the next; with more ranks than cores, all but its first chunk goes by World's
// broadcast (scratch memory and one barrier), which needs fewer hand-overs. A large
// value with no more ranks than cores goes by single copy from root's buffer.
#pragma once
#include <cstddef>

namespace spmd::mpi {

struct Members;

// True if this job's world can use the board (its ranks share memory).
bool board_usable();

// Collective on MPI_COMM_WORLD: root's `bytes` at data reach every rank's data.
// Throws MPI_ERR_TRUNCATE if a rank's byte count differs from root's. `everyone` (the
// world's collective messages) carries the value to a rank that cannot read root's memory.
void board_bcast(void* data, std::size_t bytes, int root, const Members& everyone);

}  // namespace spmd::mpi
