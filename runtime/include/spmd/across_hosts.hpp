// Completing a shared array across hosts. A World::shared array is a host's (node.hpp):
// when every rank writes its own pieces of one, the ranks of a host see only their host's
// pieces. share_pieces() gives every host every piece; gather_pieces() gives them to one
// root. Both are collectives that end in a barrier, so a loop that filled its pieces and
// then called world.barrier() calls one of these instead:
//
//   std::vector<spmd::Range> mine;                     // element ranges this rank wrote
//   for (spmd::Range r : world.schedule(n)) { fill(r); mine.push_back(r); }
//   spmd::share_pieces(world, array.span(), mine);     // every rank now sees all of it
//
// On one host (mprun) each is just that barrier. Across hosts, the rounds go host by host:
// in round h every rank off host h sends its pieces (their ranges, then their elements) to
// one rank of host h, which writes them into its host's copy. A rank sends only while no
// rank waits on it to receive, so large (rendezvous) messages cannot deadlock.
#pragma once
#include <cstddef>
#include <span>
#include <vector>

#include "spmd/schedule.hpp"
#include "spmd/world.hpp"

namespace spmd {

namespace detail {

inline constexpr int pieces_tag = 32001;

// The host index of every world rank.
inline std::vector<int> host_of_ranks(World& world) {
    std::vector<int> host(std::size_t(world.size()));
    const int mine = world.node().index;
    world.all_gather(std::span<const int>(&mine, 1), std::span<int>(host));
    return host;
}

// One round: every rank off host `to_host` sends its pieces to `receiver` (a rank of it).
template <Payload T>
void send_pieces_to(World& world, std::span<T> array, std::span<const Range> mine,
                    const std::vector<int>& host, int to_host, int receiver) {
    const int me = world.rank();
    if (host[std::size_t(me)] != to_host) {
        std::vector<T> packed;
        for (Range r : mine)
            packed.insert(packed.end(), array.begin() + r.begin, array.begin() + r.end);
        world.send(receiver, pieces_tag, mine);
        world.send(receiver, pieces_tag, packed);
        return;
    }
    if (me != receiver) return;
    for (int from = 0; from < world.size(); ++from) {
        if (host[std::size_t(from)] == to_host) continue;
        const auto ranges = world.recv_vector<Range>(from, pieces_tag);
        const auto packed = world.recv_vector<T>(from, pieces_tag);
        std::size_t at = 0;
        for (Range r : ranges) {
            if (r.end > array.size() || r.end < r.begin || packed.size() - at < r.size())
                throw Error("share_pieces: rank " + std::to_string(from) +
                            " sent a piece outside the array");
            std::copy(packed.begin() + std::ptrdiff_t(at),
                      packed.begin() + std::ptrdiff_t(at + r.size()),
                      array.begin() + std::ptrdiff_t(r.begin));
            at += r.size();
        }
    }
}

}  // namespace detail

// Collective. `mine`: the element ranges of `array` this rank wrote (disjoint across ranks).
// On return every rank of every host sees every rank's pieces in its host's array.
template <Payload T>
void share_pieces(World& world, std::span<T> array, std::span<const Range> mine) {
    if (world.node().count > 1) {
        const std::vector<int> host = detail::host_of_ranks(world);
        for (int h = 0; h < world.node().count; ++h) {
            int first = 0;  // host h's lowest rank receives for it
            while (host[std::size_t(first)] != h) ++first;
            detail::send_pieces_to(world, array, mine, host, h, first);
        }
    }
    world.barrier();
}

// Collective. As share_pieces, but only `root` (and the ranks of its host) is sure to see
// every piece; the other hosts' arrays hold their own ranks' pieces.
template <Payload T>
void gather_pieces(World& world, std::span<T> array, std::span<const Range> mine, int root = 0) {
    if (world.node().count > 1) {
        const std::vector<int> host = detail::host_of_ranks(world);
        detail::send_pieces_to(world, array, mine, host, host[std::size_t(root)], root);
    }
    world.barrier();
}

}  // namespace spmd
