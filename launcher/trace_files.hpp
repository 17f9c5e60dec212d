// mprun --trace FILE.json / --trace-html FILE.html: makes the ranks' trace buffer before
// the job (its descriptor reaches each rank as SPMD_TRACE), and after the job, whether it
// succeeded or not, merges the ranks' events into the files asked for.
#pragma once
#include <fstream>
#include <memory>
#include <string>

#include "spmd/detail/trace.hpp"

namespace mprun {

class TraceFiles {
public:
    // Opens the files now, so that a path that cannot be written is refused before the
    // job starts (spmd::UsageError).
    TraceFiles(const std::string& json_path, const std::string& html_path, int ranks);

    // For the child about to exec a rank: SPMD_TRACE names the buffer, or is unset when
    // not tracing (so that one inherited from mprun's own environment means nothing).
    static void export_to_rank(const TraceFiles* trace);
    // Writes the files; returns false (after saying why on stderr) if one fails.
    bool write();

private:
    std::string json_path_, html_path_;
    std::ofstream json_, html_;
    spmd::detail::trace::Buffer buffer_;
};

}  // namespace mprun
