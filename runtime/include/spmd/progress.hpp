// spmd::Progress: how far a long loop over all ranks has come, as one line on stderr that
// rank 0 redraws in place ("knn: 45% of 20000 queries, 5210 queries/s, 2 s left"), at most
// every 0.2 s, from about a second into the run; finish() ends it with a newline. Every
// rank counts what it has done with add(), which costs an addition and a compare: counts
// reach a shared counter in batches of about 1/1000 of a rank's share (rank 0's batches
// are sized to take 10-50 ms). SPMD_PROGRESS_AFTER=S moves the first line to S seconds.
//
//   spmd::Progress progress(world, "knn", q, "queries", choice);  // a spmd::ShowProgress
//   for (spmd::Range r : world.schedule(q))
//       for (std::size_t i = r.begin; i < r.end; ++i) { answer(i); progress.add(1); }
//   world.barrier();
//   progress.finish();
//
// The counter is a shared array. Where one is shared by the ranks of a host only (a job
// over several hosts), rank 0 sees the count of its own host's ranks and scales it by
// size / ranks-on-its-host: right when the hosts go at the same pace, close otherwise.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "spmd/shared_array.hpp"

namespace spmd {

class World;

// --progress / --no-progress / neither (the kernels' command lines).
enum class ShowProgress { automatic, always, never };

// The choice of the two flags; both at once is a UsageError.
ShowProgress progress_choice(bool progress_flag, bool no_progress_flag);

// always and never as they say; automatic: when the user's stderr is a terminal. Under
// mprun that is mprun's own stderr (it tells its ranks in SPMD_STDERR_TTY, since with
// --tag-output a rank writes into a pipe); without mprun, this process's stderr.
bool progress_wanted(ShowProgress choice);

class Progress {
public:
    // Collective when progress_wanted(choice): every rank passes the same arguments, and
    // progress_wanted gives every rank of a job the same answer. `total` units in all.
    Progress(World& world, std::string_view label, std::size_t total, std::string_view unit,
             ShowProgress choice);
    ~Progress();  // ends a line left open (an exception on its way out)
    Progress(const Progress&) = delete;
    Progress& operator=(const Progress&) = delete;

    // This rank has done `units` more.
    void add(std::size_t units) {
        pending_ += units;
        if (pending_ >= batch_) publish();
    }
    // After the loop (and the barrier that ends it): rank 0's last line, "100% of ... in
    // T s", if it drew any line before; with ShowProgress::always, whatever the run's length.
    void finish();

private:
    void publish();
    void draw(std::uint64_t done, double now, bool last);

    bool rank0_ = false;  // and shown: rank 0 draws
    bool always_ = false;
    double after_ = 1;  // seconds into the run before the first line
    std::uint64_t pending_ = 0;
    std::uint64_t batch_ = UINT64_MAX;  // never publishes when not shown
    std::uint64_t total_ = 0;
    int size_ = 1;
    SharedArray<std::uint64_t> counter_;  // [0] units done, [1] ranks sharing the counter
    std::string label_, unit_;
    double start_ = 0, last_draw_ = 0, last_publish_ = 0;
    std::size_t widest_ = 0;  // of the lines drawn, for blanking a longer one's tail
    bool open_ = false;       // a line is on the screen without its newline
};

}  // namespace spmd
