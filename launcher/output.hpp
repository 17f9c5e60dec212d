// Where the ranks' stdout and stderr go. By default ranks inherit mprun's own, so what
// a rank flushes appears at once. --tag-output reads each rank through pipes and writes
// whole lines prefixed "[r] " (lines of different ranks never mix); a line that a '\r'
// ends (a progress line redrawn in place) goes out at once, as on a terminal. --output-filename
// writes DIR/rank.r/{stdout,stderr}. mprun's own messages go through the same router.
//
// Nothing here blocks mprun: output is forwarded through non-blocking sinks with a
// bounded buffer per rank stream. When the reader stalls, the router stops reading the
// streams whose buffer is full, so those ranks block on their own pipes (as they would
// writing to mprun's stdout directly) while mprun keeps handling signals and deaths.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "sink.hpp"

namespace spmd::detail {
class Supervisor;
}

namespace mprun {

class OutputRouter {
public:
    OutputRouter(bool tag_output, std::string output_dir, int ranks);
    ~OutputRouter();
    OutputRouter(const OutputRouter&) = delete;
    OutputRouter& operator=(const OutputRouter&) = delete;

    void before_spawn(int rank);  // parent: make the rank's pipes
    void in_child(int rank);      // child: point fds 1 and 2 at the rank's output
    void after_spawn(int rank, spmd::detail::Supervisor& supervisor);  // parent
    // A line of mprun's own for its stderr, queued behind the ranks' stderr lines.
    void message(const std::string& line);
    // After the job: forward what is left in the pipes and write what is queued, as long
    // as the reader takes some within `patience_seconds` each time; then drop the rest
    // (said on stderr if stderr still works). A signal on `signals` stops waiting at once.
    void finish(double patience_seconds, int signals);

private:
    struct Stream {
        int read_fd = -1;
        int write_fd = -1;
        int sink = 0;  // 0: mprun's stdout, 1: its stderr
        std::string prefix;
        std::string pending;     // an incomplete last line
        bool after_cr = false;   // the last piece forwarded ended with a lone '\r'
        std::size_t queued = 0;  // bytes in the sink, not yet written
        bool watched = false;
    };
    void forward(Stream& stream, bool after_job);
    void watch_stream(Stream& stream);
    void unwatch_stream(Stream& stream);
    void flush_sink(int which);
    void written(int owner, std::size_t bytes);
    void close_stream(Stream& stream);

    bool tag_output_;
    std::string output_dir_;
    std::vector<Stream> streams_;  // 2 per rank: stdout, stderr
    std::unique_ptr<OutputSink> sinks_[2];
    bool sink_watched_[2] = {false, false};
    spmd::detail::Supervisor* supervisor_ = nullptr;
};

}  // namespace mprun
