// Where the ranks' stdout and stderr go. By default ranks inherit mprun's own, so what
// a rank flushes appears at once. --tag-output reads each rank through pipes and writes
// whole lines prefixed "[r] " (mprun is single-threaded and writes a line in one piece,
// so lines of different ranks never mix). --output-filename writes DIR/rank.r/{stdout,stderr}.
#pragma once
#include <string>
#include <vector>

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

    void before_spawn(int rank);        // parent: make the rank's pipes
    void in_child(int rank);            // child: point fds 1 and 2 at the rank's output
    void after_spawn(int rank, spmd::detail::Supervisor& supervisor);  // parent
    void drain();                       // after the job: forward what is left in the pipes

private:
    struct Stream {
        int read_fd = -1;
        int write_fd = -1;
        int target_fd = 1;  // mprun's stdout or stderr
        std::string prefix;
        std::string pending;  // an incomplete last line
    };
    void forward(Stream& stream, bool until_eof);
    void close_stream(Stream& stream);

    bool tag_output_;
    std::string output_dir_;
    std::vector<Stream> streams_;  // 2 per rank: stdout, stderr
};

}  // namespace mprun
