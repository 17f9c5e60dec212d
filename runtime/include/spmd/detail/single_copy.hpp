// Single copy of a large payload: a sender writes it straight into the buffer of a
// receiver that is blocked in a matching recv (Linux's process_vm_writev, "CMA"), instead
// of copying it into the pair ring for the receiver to copy out again; a larger payload
// is split, the receiver reading its second half (process_vm_readv) meanwhile. Used only
// when the receiver has published that it waits for this very message, so a sender never
// waits for a receiver that is busy elsewhere; any refusal (Yama, seccomp, a receiver
// gone) falls back to the ring.
#pragma once
#include <sys/types.h>

#include <cstddef>
#include <cstdint>

namespace spmd::detail {

// Payloads from this size on go straight into a posted receive buffer. Below it they take
// the pair ring: two copies, the second reading lines the other core wrote, which
// costs more than the system call from here on (README, "Large messages").
inline constexpr std::size_t single_copy_bytes = 16 << 10;

// From this size on the two ranks share that copy: the sender writes the first half
// while the receiver reads the second, so both cores copy at once (below it, the
// hand-shake between the halves costs more than the second core saves).
inline constexpr std::size_t split_copy_bytes = 32 << 10;

// Below this size a split waits for the receiver only while it is awake on a core (the
// sender waits for its half); from here on the halved copy outweighs a wake-up.
inline constexpr std::size_t split_crowded_bytes = 256 << 10;

// Lets the other ranks of the job (siblings under one launcher) write into this process
// where Yama's ptrace_scope = 1 asks for it; a no-op elsewhere.
void allow_single_copy_from_siblings();

// Writes `bytes` from `data` to `address` in process `pid`. False if it could not write
// them all: the caller sends the payload the other way. A refusal by the system (not
// permitted, not implemented) turns the single copy off for the rest of this process.
bool write_into(pid_t pid, std::uint64_t address, const void* data, std::size_t bytes);

// Reads `bytes` at `address` in process `pid` into `data` (the same single copy, pulled
// by the receiver); false, and the same refusal rule, as write_into.
bool read_from(pid_t pid, std::uint64_t address, void* data, std::size_t bytes);

// False once the single copy is refused in this process (SPMD_NO_SINGLE_COPY=1, or a
// refusal by the system): callers that must agree on a path with their peers publish it.
bool single_copy_available();

// For tests: payloads this process has delivered by single copy.
std::uint64_t single_copies();

}  // namespace spmd::detail
