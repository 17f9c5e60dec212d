#include "output.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "spmd/detail/supervisor.hpp"
#include "spmd/detail/wait.hpp"
#include "spmd/error.hpp"

namespace mprun {

namespace {

constexpr std::size_t longest_line = 1 << 16;  // a longer line is cut, each piece tagged
// What a rank stream may have waiting for the reader before mprun stops reading it.
constexpr std::size_t stream_buffer = 1 << 16;
constexpr int own_messages = -1;  // the owner of mprun's own lines in a sink

void make_directory(const std::string& path) {
    if (mkdir(path.c_str(), 0755) != 0 && errno != EEXIST)
        throw spmd::UsageError("--output-filename: cannot create '" + path +
                               "': " + std::strerror(errno));
    struct stat st {};
    if (stat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
        throw spmd::UsageError("--output-filename: '" + path + "' is not a directory");
}

std::string rank_dir(const std::string& dir, int rank) {
    return dir + "/rank." + std::to_string(rank);
}

}  // namespace

OutputRouter::OutputRouter(bool tag_output, std::string output_dir, int ranks)
    : tag_output_(tag_output), output_dir_(std::move(output_dir)) {
    if (!output_dir_.empty()) {
        // Made before any rank starts, so a bad directory stops the job before it begins.
        for (std::size_t slash = output_dir_.find('/', 1); slash != std::string::npos;
             slash = output_dir_.find('/', slash + 1))
            make_directory(output_dir_.substr(0, slash));
        make_directory(output_dir_);
        for (int r = 0; r < ranks; ++r) make_directory(rank_dir(output_dir_, r));
    }
    if (tag_output_) {
        streams_.resize(std::size_t(2 * ranks));
        sinks_[0] = std::make_unique<OutputSink>(1);
    }
    sinks_[1] = std::make_unique<OutputSink>(2);  // mprun's own messages at least
    for (int which : {0, 1})
        if (sinks_[which])
            sinks_[which]->on_written = [this](int owner, std::size_t bytes) {
                written(owner, bytes);
            };
}

OutputRouter::~OutputRouter() {
    for (Stream& s : streams_) close_stream(s);
}

void OutputRouter::before_spawn(int rank) {
    if (!tag_output_) return;
    for (int which = 0; which < 2; ++which) {
        Stream& s = streams_[std::size_t(2 * rank + which)];
        int fds[2];
        if (pipe2(fds, O_CLOEXEC) != 0)
            throw spmd::Error(std::string("cannot make an output pipe: ") + std::strerror(errno));
        s.read_fd = fds[0];
        s.write_fd = fds[1];
        s.sink = which;
        s.prefix = "[" + std::to_string(rank) + "] ";
        fcntl(s.read_fd, F_SETFL, fcntl(s.read_fd, F_GETFL) | O_NONBLOCK);
    }
}

void OutputRouter::in_child(int rank) {
    if (tag_output_) {
        dup2(streams_[std::size_t(2 * rank)].write_fd, 1);
        dup2(streams_[std::size_t(2 * rank + 1)].write_fd, 2);
    } else if (!output_dir_.empty()) {
        const std::string dir = rank_dir(output_dir_, rank);
        for (int fd : {1, 2}) {
            const std::string path = dir + (fd == 1 ? "/stdout" : "/stderr");
            const int file = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
            if (file < 0) {
                const std::string message =
                    "mprun: cannot open '" + path + "': " + std::strerror(errno) + "\n";
                [[maybe_unused]] auto ignored = write(2, message.data(), message.size());
                _exit(127);
            }
            dup2(file, fd);
            close(file);
        }
    }
}

void OutputRouter::after_spawn(int rank, spmd::detail::Supervisor& supervisor) {
    supervisor_ = &supervisor;
    if (!tag_output_) return;
    for (int which = 0; which < 2; ++which) {
        Stream& s = streams_[std::size_t(2 * rank + which)];
        close(s.write_fd);  // the rank holds the only write end now: EOF when it is gone
        s.write_fd = -1;
        watch_stream(s);
    }
}

void OutputRouter::message(const std::string& line) {
    sinks_[1]->push(own_messages, line);
    flush_sink(1);
}

void OutputRouter::watch_stream(Stream& s) {
    if (!supervisor_ || s.watched || s.read_fd < 0) return;
    supervisor_->watch(s.read_fd, [this, &s] { forward(s, false); });
    s.watched = true;
}

void OutputRouter::unwatch_stream(Stream& s) {
    if (!s.watched || !supervisor_) return;
    supervisor_->unwatch(s.read_fd);
    s.watched = false;
}

void OutputRouter::forward(Stream& s, bool after_job) {
    char buffer[1 << 16];
    std::string lines;
    bool eof = false;
    // One read per wake-up keeps the ranks' streams fair; after the job, what the pipe
    // holds (a grandchild may still be writing: stop at "no more now" and at a bound).
    for (std::size_t taken = 0; taken < stream_buffer;) {
        const ssize_t n = read(s.read_fd, buffer, sizeof buffer);
        if (n < 0 && errno == EINTR) continue;
        if (n == 0 || (n < 0 && errno != EAGAIN)) eof = true;
        if (n <= 0) break;
        taken += std::size_t(n);
        s.pending.append(buffer, std::size_t(n));
        std::size_t start = 0;
        for (std::size_t end; (end = s.pending.find_first_of("\r\n", start)) != std::string::npos;
             start = end + 1) {
            if (s.pending[end] == '\r' && end + 1 < s.pending.size() && s.pending[end + 1] == '\n')
                ++end;  // "\r\n" ends one line
            if (s.after_cr && end == start && s.pending[end] == '\n')
                lines += "\n";  // the '\n' of a "\r\n" that two reads split
            else
                lines += s.prefix + s.pending.substr(start, end + 1 - start);
            s.after_cr = s.pending[end] == '\r';
        }
        s.pending.erase(0, start);
        if (s.pending.size() >= longest_line) {
            lines += s.prefix + s.pending + "\n";
            s.pending.clear();
            s.after_cr = false;
        }
        if (!after_job) break;
    }
    if ((eof || after_job) && !s.pending.empty()) {
        lines += s.prefix + s.pending + "\n";
        s.pending.clear();
    }
    s.queued += lines.size();
    sinks_[s.sink]->push(int(&s - streams_.data()), std::move(lines));
    if (eof || after_job) {
        close_stream(s);
    } else if (s.queued >= stream_buffer) {
        unwatch_stream(s);  // the reader is behind: let the rank wait on its own pipe
    }
    flush_sink(s.sink);
}

void OutputRouter::written(int owner, std::size_t bytes) {
    if (owner == own_messages) return;
    Stream& s = streams_[std::size_t(owner)];
    s.queued -= bytes;
    if (s.queued < stream_buffer) watch_stream(s);
}

void OutputRouter::flush_sink(int which) {
    OutputSink& sink = *sinks_[which];
    const bool was_broken = sink.broken();
    sink.flush();
    if (sink.broken() && !was_broken) {
        // The reader is gone: ranks writing there get EPIPE (or die of SIGPIPE), as they
        // would writing to it directly.
        for (Stream& s : streams_)
            if (s.sink == which) close_stream(s);
    }
    const bool want = !sink.empty();
    if (!supervisor_ || want == sink_watched_[which]) return;
    if (want)
        supervisor_->watch(
            sink.fd(), [this, which] { flush_sink(which); }, POLLOUT);
    else
        supervisor_->unwatch(sink.fd());
    sink_watched_[which] = want;
}

void OutputRouter::finish(double patience_seconds, int signals) {
    for (Stream& s : streams_)
        if (s.read_fd >= 0) forward(s, true);
    if (supervisor_) {
        for (int which : {0, 1})
            if (sink_watched_[which]) supervisor_->unwatch(sinks_[which]->fd());
        supervisor_ = nullptr;  // its loop is over: wait here instead
    }
    const long patience_ns = long(patience_seconds * 1e9);
    long deadline = spmd::detail::monotonic_ns() + patience_ns;
    for (;;) {
        std::vector<pollfd> fds{{signals, POLLIN, 0}};
        for (int which : {0, 1})
            if (sinks_[which] && !sinks_[which]->empty())
                fds.push_back({sinks_[which]->fd(), POLLOUT, 0});
        const long left = deadline - spmd::detail::monotonic_ns();
        if (fds.size() == 1 || left <= 0) break;
        if (poll(fds.data(), fds.size(), int(left / 1000000 + 1)) < 0 && errno != EINTR) break;
        if (fds[0].revents) break;  // a signal: the user wants mprun to end now
        for (int which : {0, 1}) {
            if (!sinks_[which] || sinks_[which]->empty()) continue;
            const std::size_t before = sinks_[which]->bytes_written();
            flush_sink(which);
            if (sinks_[which]->bytes_written() != before)
                deadline = spmd::detail::monotonic_ns() + patience_ns;  // slow, not stalled
        }
    }
    std::size_t dropped = 0;
    for (int which : {0, 1})
        if (sinks_[which]) dropped += sinks_[which]->drop();
    if (dropped > 0) {
        char seconds[32];
        std::snprintf(seconds, sizeof seconds, "%g", patience_seconds);
        sinks_[1]->push(own_messages, "mprun: dropped " + std::to_string(dropped) +
                                          " bytes of output the reader did not take in " + seconds +
                                          " s\n");
        sinks_[1]->flush();  // once: if stderr is the stalled reader, it is lost too
        sinks_[1]->drop();
    }
}

void OutputRouter::close_stream(Stream& s) {
    if (s.watched) unwatch_stream(s);
    if (s.read_fd >= 0) close(s.read_fd);
    if (s.write_fd >= 0) close(s.write_fd);
    s.read_fd = s.write_fd = -1;
}

}  // namespace mprun
