// How much memory the machine can still give, for kernels that check a problem fits before
// they allocate it: with Linux's overcommit an allocation that is too large succeeds, and the
// OOM killer later ends a rank with SIGKILL, which says nothing about the cause.
#pragma once

namespace spmd {

// Bytes of RAM a new allocation can get: MemAvailable, which counts the page cache the
// kernel would drop for us (free pages alone do not).
double available_memory();

// Bytes free for shared arrays: the smaller of the above and what /dev/shm's file system
// has left (it may be sized below RAM, e.g. in containers).
double available_shared_memory();

}  // namespace spmd
