// Named POSIX shared-memory segments (Boost.Interprocess), the storage of a job.
// Names carry their creator's pid and start time, "spmd-<pid>-<start>-<random>[.k]",
// so a segment whose creator died (SIGKILL leaves no chance to clean up) is recognised
// and removed by the next run or `mprun --cleanup`.
#pragma once
#include <cstddef>
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

// A fresh unguessable name owned by this process.
std::string new_segment_name();

// Creates name exclusively (O_EXCL, mode 0600) with `bytes` zeroed bytes and maps it.
// Refuses early, with a clear spmd::Error, a size that /dev/shm cannot hold.
std::shared_ptr<Mapping> create_segment(const std::string& name, std::size_t bytes);
std::shared_ptr<Mapping> open_segment(const std::string& name);
// Removes the name; false if it did not exist.
bool remove_segment(const std::string& name);
// Removes `prefix` and every "<prefix>.*": all segments of one job.
int remove_segments_with_prefix(const std::string& prefix);
// Removes the segments whose creating process is gone; returns how many.
int sweep_stale_segments();

}  // namespace spmd::detail
