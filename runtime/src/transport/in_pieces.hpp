// in_pieces: the one loop both transports' collectives move large buffers with, a piece
// at a time, so that no single step exceeds what a scratch area or an MPI count holds.
#pragma once
#include <algorithm>
#include <cstddef>

namespace spmd::detail {

// Calls step(done, n) for consecutive pieces [done, done + n) of [0, total), each at
// most `piece` long; at least once, so that every rank meets the barriers even when
// there is nothing to move.
template <class Step>
void in_pieces(std::size_t total, std::size_t piece, Step&& step) {
    piece = std::max<std::size_t>(piece, 1);  // a zero piece would never finish
    std::size_t done = 0;
    do {
        const std::size_t n = std::min(piece, total - done);
        step(done, n);
        done += n;
    } while (done < total);
}

}  // namespace spmd::detail
