#include "sink.hpp"

#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <limits>

namespace mprun {

OutputSink::OutputSink(int fd) : fd_(fd), most_per_write_(std::numeric_limits<std::size_t>::max()) {
    struct stat st {};
    if (fstat(fd, &st) != 0) {  // closed (mprun 2>&-): nothing can be written there
        broken_ = true;
        return;
    }
    if (S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode)) {
        // O_NONBLOCK on the inherited descriptor would leak to everyone who shares it (the
        // shell, the next command of a pipeline): open the same pipe or terminal anew.
        const std::string path = "/proc/self/fd/" + std::to_string(fd);
        const int own = open(path.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
        if (own >= 0) {
            fd_ = own;
            owns_fd_ = true;
            mode_ = Mode::nonblocking;
            return;
        }
        most_per_write_ = PIPE_BUF;  // a pipe with room takes this much without blocking
    } else if (S_ISSOCK(st.st_mode)) {
        mode_ = Mode::socket;
    } else if (S_ISREG(st.st_mode) || S_ISBLK(st.st_mode)) {
        mode_ = Mode::nonblocking;  // a file never makes a writer wait for a reader
    }
}

OutputSink::~OutputSink() {
    if (owns_fd_) close(fd_);
}

void OutputSink::push(int owner, std::string text) {
    if (text.empty()) return;
    if (broken_) {
        if (on_written) on_written(owner, text.size());
        return;
    }
    pieces_.push_back({owner, std::move(text)});
}

long OutputSink::write_some(const char* data, std::size_t n) {
    switch (mode_) {
        case Mode::nonblocking:
            return write(fd_, data, n);
        case Mode::socket:
            return send(fd_, data, n, MSG_DONTWAIT | MSG_NOSIGNAL);
        case Mode::polled: {
            pollfd ready{fd_, POLLOUT, 0};
            if (poll(&ready, 1, 0) == 1 && (ready.revents & POLLOUT))
                return write(fd_, data, std::min(n, most_per_write_));
            if (ready.revents & (POLLERR | POLLHUP | POLLNVAL))
                return write(fd_, data, 1);  // fails with the reason (EPIPE, EBADF)
            errno = EAGAIN;
            return -1;
        }
    }
    return -1;
}

bool OutputSink::flush() {
    while (!pieces_.empty()) {
        Piece& piece = pieces_.front();
        const long n = write_some(piece.text.data() + written_, piece.text.size() - written_);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return false;
        if (n <= 0) {  // the reader is gone: what it would have read is lost anyway
            broken_ = true;
            drop();
            return true;
        }
        written_ += std::size_t(n);
        bytes_written_ += std::size_t(n);
        if (written_ < piece.text.size()) continue;
        const Piece done = std::move(piece);
        pieces_.pop_front();
        written_ = 0;
        if (on_written) on_written(done.owner, done.text.size());
    }
    return true;
}

std::size_t OutputSink::drop() {
    std::size_t bytes = 0;
    while (!pieces_.empty()) {
        const Piece done = std::move(pieces_.front());
        pieces_.pop_front();
        bytes += done.text.size() - written_;
        written_ = 0;
        if (on_written) on_written(done.owner, done.text.size());
    }
    return bytes;
}

}  // namespace mprun
