// Where each rank may run: with `--bind-to core` (or `--map-by core`) rank r is pinned to
// the r-th core mprun itself may use, round-robin when there are more ranks than cores;
// otherwise ranks float over all of them, as the kernel schedules them.
#pragma once
#include <string>
#include <vector>

namespace mprun {

// The cores (CPU numbers) this process may run on, in increasing order.
std::vector<int> allowed_cores();

// Core of each rank, or -1 for "not bound". Empty `cores` means "not bound" for all.
std::vector<int> plan_bindings(bool bind, int ranks, const std::vector<int>& cores);

// In the rank's child, before exec: pins the calling process to `core` (no-op for -1).
// Returns false, with errno set, if the kernel refused.
bool apply_binding(int core);

// apply_binding, or say why not on stderr and _exit(1): a rank that asked for a core and
// did not get it must not run unpinned without a word.
void bind_or_exit(int rank, int core);

// One line for --report-bindings, e.g. "rank 2 (pid 4711) bound to core 0" or
// "rank 2 (pid 4711) not bound: cores 0-1".
std::string describe_binding(int rank, int pid, int core, const std::vector<int>& cores);

// "0-3,6" for {0, 1, 2, 3, 6}, as /proc/<pid>/status writes Cpus_allowed_list.
std::string core_list(const std::vector<int>& cores);

}  // namespace mprun
