#include "trace_files.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <iostream>

#include "spmd/error.hpp"
#include "trace_merge.hpp"

namespace mprun {

namespace {
// Per rank: 8 MiB of address space at 64 bytes an event; pages are touched only as a
// rank records, so an idle rank costs next to nothing.
constexpr std::uint64_t events_per_rank = 1 << 17;

void open_for_writing(std::ofstream& file, const std::string& path, const char* flag) {
    if (path.empty()) return;
    file.open(path, std::ios::out | std::ios::trunc);
    if (!file)
        throw spmd::UsageError(std::string(flag) + ": cannot write '" + path +
                               "': " + std::strerror(errno));
}
}  // namespace

TraceFiles::TraceFiles(const std::string& json_path, const std::string& html_path, int ranks)
    : json_path_(json_path), html_path_(html_path), buffer_(ranks, events_per_rank) {
    open_for_writing(json_, json_path_, "--trace");
    open_for_writing(html_, html_path_, "--trace-html");
}

void TraceFiles::export_to_rank(const TraceFiles* trace) {
    if (trace)
        setenv("SPMD_TRACE", std::to_string(trace->buffer_.fd()).c_str(), 1);
    else
        unsetenv("SPMD_TRACE");
}

bool TraceFiles::write() {
    const MergedTrace trace = merge(buffer_);
    for (int r = 0; r < trace.ranks; ++r)
        if (trace.dropped[std::size_t(r)])
            std::cerr << "mprun: trace: rank " << r << " recorded only its first "
                      << events_per_rank << " events (" << trace.dropped[std::size_t(r)]
                      << " more were dropped)\n";
    bool ok = true;
    auto finish = [&](std::ofstream& file, const std::string& path, auto&& writer) {
        if (path.empty()) return;
        writer(trace, file);
        file.close();
        if (!file) {
            std::cerr << "mprun: cannot write trace '" << path << "'\n";
            ok = false;
        }
    };
    finish(json_, json_path_, write_chrome_json);
    finish(html_, html_path_, write_html);
    return ok;
}

}  // namespace mprun
