// One of mprun's own outputs (stdout or stderr) written without ever blocking: text is
// queued in pieces of whole lines and written as far as the reader takes it, so a reader
// that stalls cannot stop mprun from handling signals, deaths and --timeout. A piece is
// finished before the next one starts, so lines of different ranks never mix.
#pragma once
#include <cstddef>
#include <deque>
#include <functional>
#include <string>

namespace mprun {

class OutputSink {
public:
    explicit OutputSink(int fd);
    ~OutputSink();
    OutputSink(const OutputSink&) = delete;
    OutputSink& operator=(const OutputSink&) = delete;

    // Queues `text` (whole lines) on behalf of `owner` (any id; on_written reports it).
    void push(int owner, std::string text);
    // Writes what the reader takes now; never blocks. Returns true once nothing is queued.
    bool flush();
    // Drops what is queued (the reader stalled for too long); returns how many bytes.
    std::size_t drop();

    bool empty() const { return pieces_.empty(); }
    bool broken() const { return broken_; }  // the reader is gone (EPIPE)
    int fd() const { return fd_; }           // poll it for POLLOUT while !empty()
    std::size_t bytes_written() const { return bytes_written_; }  // so far, in all

    // Called with a piece's owner and size once the piece is written (or dropped).
    std::function<void(int owner, std::size_t bytes)> on_written;

private:
    struct Piece {
        int owner;
        std::string text;
    };
    enum class Mode { nonblocking, socket, polled };
    long write_some(const char* data, std::size_t n);

    int fd_;
    bool owns_fd_ = false;
    Mode mode_ = Mode::polled;
    std::size_t most_per_write_;
    bool broken_ = false;
    std::deque<Piece> pieces_;
    std::size_t written_ = 0;  // of the first piece
    std::size_t bytes_written_ = 0;
};

}  // namespace mprun
