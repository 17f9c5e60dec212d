// Named POSIX shared-memory segments (Boost.Interprocess), the storage of a job.
// Every name is "spmd-<pid>-<start>-<random>": the pid and start time of the process that
// owns the job (so that a segment whose owner died, which SIGKILL leaves no chance to
// clean up, is recognised and removed by the next run or `mprun --cleanup`), and 64
// random bits drawn by the segment's creator, so that no other user can guess a job's
// next segment and create it first.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace spmd::detail {

// One mapping of a segment; the mapping outlives the name (names are unlinked early).
class Mapping {
public:
    virtual ~Mapping() = default;
    virtual void* address() const = 0;
    virtual std::size_t size() const = 0;
};

// A fresh random key, never 0.
std::uint64_t new_segment_key();
// A fresh unguessable name owned by this process (a new job's control segment).
std::string new_segment_name();
// The name of the segment `key` of the job `job_name`: same owner, its own random part.
std::string segment_name(const std::string& job_name, std::uint64_t key);

// Creates name exclusively (O_EXCL, mode 0600) with `bytes` zeroed bytes and maps it.
// Refuses early, with a clear spmd::Error, a size that /dev/shm cannot hold.
std::shared_ptr<Mapping> create_segment(const std::string& name, std::size_t bytes);
std::shared_ptr<Mapping> open_segment(const std::string& name);
// Removes the name; false if it did not exist.
bool remove_segment(const std::string& name);
// Removes every segment whose owner is the owner of `job_name` (for a launcher that
// died: everything it owned is stale).
int remove_segments_of_owner(const std::string& job_name);
// Removes the segments whose creating process is gone; returns how many.
int sweep_stale_segments();

}  // namespace spmd::detail
