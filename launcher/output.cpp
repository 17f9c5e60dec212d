#include "output.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "spmd/detail/supervisor.hpp"
#include "spmd/error.hpp"

namespace mprun {

namespace {

constexpr std::size_t longest_line = 1 << 16;  // a longer line is cut, each piece tagged

void write_all(int fd, const std::string& text) {
    std::size_t done = 0;
    while (done < text.size()) {
        const ssize_t n = write(fd, text.data() + done, text.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;  // the reader went away: drop the output, keep the job going
        done += std::size_t(n);
    }
}

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
    if (tag_output_) streams_.resize(std::size_t(2 * ranks));
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
        s.target_fd = which == 0 ? 1 : 2;
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
                const std::string message = "mprun: cannot open '" + path + "': " +
                                            std::strerror(errno) + "\n";
                write_all(2, message);
                _exit(127);
            }
            dup2(file, fd);
            close(file);
        }
    }
}

void OutputRouter::after_spawn(int rank, spmd::detail::Supervisor& supervisor) {
    if (!tag_output_) return;
    for (int which = 0; which < 2; ++which) {
        Stream& s = streams_[std::size_t(2 * rank + which)];
        close(s.write_fd);  // the rank holds the only write end now: EOF when it is gone
        s.write_fd = -1;
        supervisor.watch(s.read_fd, [this, &s, &supervisor] {
            const int fd = s.read_fd;
            forward(s, false);
            if (s.read_fd < 0) supervisor.unwatch(fd);
        });
    }
}

void OutputRouter::drain() {
    for (Stream& s : streams_)
        if (s.read_fd >= 0) forward(s, true);
}

void OutputRouter::forward(Stream& s, bool until_eof) {
    char buffer[1 << 16];
    std::string lines;
    bool eof = false;
    for (;;) {
        const ssize_t n = read(s.read_fd, buffer, sizeof buffer);
        if (n < 0 && errno == EINTR) continue;
        if (n == 0 || (n < 0 && errno != EAGAIN)) eof = true;
        if (n <= 0) break;
        s.pending.append(buffer, std::size_t(n));
        std::size_t start = 0;
        for (std::size_t nl; (nl = s.pending.find('\n', start)) != std::string::npos;
             start = nl + 1)
            lines += s.prefix + s.pending.substr(start, nl + 1 - start);
        s.pending.erase(0, start);
        if (s.pending.size() >= longest_line) {
            lines += s.prefix + s.pending + "\n";
            s.pending.clear();
        }
        if (!until_eof) break;  // one read per wake-up keeps the ranks' streams fair
    }
    // After the job, data may remain though a grandchild still holds the pipe: stop at
    // "no more data now" (EAGAIN) as well as at EOF.
    if (eof || until_eof) {
        if (!s.pending.empty()) lines += s.prefix + s.pending + "\n";
        s.pending.clear();
        write_all(s.target_fd, lines);
        close_stream(s);
        return;
    }
    write_all(s.target_fd, lines);
}

void OutputRouter::close_stream(Stream& s) {
    if (s.read_fd >= 0) close(s.read_fd);
    if (s.write_fd >= 0) close(s.write_fd);
    s.read_fd = s.write_fd = -1;
}

}  // namespace mprun
