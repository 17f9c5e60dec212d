#include "spmd/detail/deadlock.hpp"

#include <algorithm>
#include <cstdio>
#include <map>

namespace spmd::detail {

namespace {
std::string waits(int rank, const PublishedWait& wait) {
    return "rank " + std::to_string(rank) + " waits in " + describe_wait(wait);
}

// Follows "waits for rank p" edges among the blocked ranks; the first cycle found,
// starting at its lowest rank, or empty.
std::vector<int> find_cycle(const std::map<int, PublishedWait>& blocked) {
    std::map<int, int> state;  // 1: on the current path, 2: done
    for (const auto& [start, unused] : blocked) {
        std::vector<int> path;
        int at = start;
        while (blocked.count(at) && state[at] == 0) {
            state[at] = 1;
            path.push_back(at);
            at = blocked.at(at).peer;
        }
        if (blocked.count(at) && state[at] == 1) {
            auto from = std::find(path.begin(), path.end(), at);
            std::vector<int> cycle(from, path.end());
            std::rotate(cycle.begin(), std::min_element(cycle.begin(), cycle.end()), cycle.end());
            return cycle;
        }
        for (int r : path) state[r] = 2;
    }
    return {};
}
}  // namespace

std::optional<std::string> DeadlockDetector::check(const std::vector<int>& live, long now) {
    std::vector<PublishedWait> current;
    for (int r : live) {
        current.push_back(read_wait(job_.report(r).wait));
        if (!current.back().blocked || current.back().timed) {
            first_seen_ = -1;  // someone runs, or will wake by itself
            return std::nullopt;
        }
    }
    auto same_waits = [&] {
        if (ranks_ != live) return false;
        for (std::size_t i = 0; i < current.size(); ++i)
            if (current[i].seq != first_[i].seq) return false;
        return true;
    };
    if (first_seen_ < 0 || !same_waits()) {
        ranks_ = live;
        first_ = current;
        first_seen_ = now;
        return std::nullopt;
    }
    if (now - first_seen_ < after_ns_ || live.empty()) return std::nullopt;
    // Two more checks: the second began after every rank was blocked.
    for (std::size_t i = 0; i < current.size(); ++i)
        if (current[i].checks < first_[i].checks + 2) return std::nullopt;

    std::map<int, PublishedWait> blocked;
    for (std::size_t i = 0; i < live.size(); ++i) blocked[live[i]] = current[i];
    std::vector<int> cycle = find_cycle(blocked);
    if (cycle.empty()) cycle = live;
    std::string report;
    for (int r : cycle) report += (report.empty() ? "" : "; ") + waits(r, blocked.at(r));
    return report;
}

std::string where_is(const JobSegment& job, int rank, long now) {
    const PublishedWait wait = read_wait(job.report(rank).wait);
    if (!wait.blocked) return "rank " + std::to_string(rank) + " is running, not in a wait";
    char seconds[32];
    std::snprintf(seconds, sizeof seconds, "%.1f", double(now - wait.since_ns) * 1e-9);
    return waits(rank, wait) + ", for " + seconds + " s";
}

}  // namespace spmd::detail
