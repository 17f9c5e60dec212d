// One rank's side of point-to-point messaging. Envelopes (and payloads up to
// MessageCell::inline_capacity) go through the receiver's inbox in the control segment.
// Larger payloads follow through a ring of chunks in a segment owned by the pair
// (sender, receiver), made by the sender on first use, so that the copy in and the copy
// out overlap. Messages that arrive before a matching recv wait in a private list.
#pragma once
#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <vector>

#include "spmd/detail/job.hpp"
#include "spmd/message.hpp"

namespace spmd::detail {

// The tag of the runtime's own messages (a collective's): users' tags are >= 0, and
// any_tag never matches it.
constexpr int collective_tag = -2;

class Messenger {
public:
    Messenger(JobSegment& job, int rank);
    ~Messenger();
    // `call` is what a blocked rank publishes; a collective passes its own, and may use
    // collective_tag.
    void send(int dest, int tag, const void* data, std::size_t bytes,
              WaitCall call = WaitCall::send);
    Status recv(int source, int tag, void* data, std::size_t capacity,
                WaitCall call = WaitCall::recv);
    Status probe(int source, int tag);

    // Nonblocking pieces for a layer that matches messages itself (the MPI API): none of
    // these waits, so the caller can make progress on many transfers from one wait loop.
    // A send is posted (its envelope claimed and filled) and, if its payload is bulk,
    // streamed out chunk by chunk; the receiver peeks at the next envelope, takes it, and
    // streams a bulk payload in. Bulk payloads between one pair travel in posting order.
    static bool is_bulk(std::size_t bytes) { return bytes > MessageCell::inline_capacity; }
    // False if dest's inbox has no free cell now.
    [[nodiscard]] bool try_post(int dest, int tag, const void* data, std::size_t bytes);
    // Copies what the ring has room for; returns the bytes of the payload moved so far.
    [[nodiscard]] std::size_t try_stream_out(int dest, const void* data, std::size_t bytes,
                                             std::size_t done);
    // Posts an envelope of bulk kind MessageCell::pull: the payload stays at `data` (valid
    // until the receiver answers) for the receiver to read with read_from; its inline
    // payload is the address and the caller's `id`. The pair ring is made too, for a
    // receiver that cannot read it and asks for it through the ring.
    [[nodiscard]] bool try_post_pull(int dest, int tag, const void* data, std::size_t bytes,
                                     std::uint64_t id);
    // The next envelope of this rank's inbox, or nullptr if none has arrived.
    [[nodiscard]] const MessageCell* try_peek();
    // Frees the peeked envelope's cell, first copying an inline payload to `out`.
    void take(void* out);
    [[nodiscard]] std::size_t try_stream_in(int source, void* data, std::size_t bytes,
                                            std::size_t done);

private:
    struct Stashed {
        Status status;
        std::vector<std::byte> payload;
    };
    struct PairRing;
    PairRing& outgoing(int dest);
    PairRing& incoming(int source);
    pid_t posted_receiver(int dest, const Inbox& inbox, std::uint64_t ticket, int tag,
                          std::size_t bytes) const;
    // Whether dest's owner has posted a recv for `ticket`, after a short wait for a receiver
    // that is likely on its way into one.
    bool await_post(const Inbox& inbox, std::uint64_t ticket) const;
    static constexpr long post_wait_ns = 1000;
    // Claims dest's next inbox cell if it is free now and fills it: kind `how`, with
    // `inline_bytes` of `inline_data` as its inline payload.
    bool try_post_envelope(int dest, int tag, std::size_t bytes, std::uint32_t how,
                           const void* inline_data, std::size_t inline_bytes);
    // The two sides of a split copy (MessageCell::split) of the message with `ticket`.
    void push_split(const WaitFor& what, std::uint64_t ticket, pid_t receiver,
                    std::uint64_t address, const std::byte* data, std::size_t bytes);
    void pull_split(const WaitFor& what, std::uint64_t ticket, const MessageCell& cell,
                    std::byte* data);
    void stream_out(const WaitFor& what, const std::byte* data, std::size_t bytes);
    void stream_in(const WaitFor& what, std::byte* data, std::size_t bytes);
    // Waits for the next envelope (for `call` from source with tag, as published while
    // blocked); returns it, still occupying its cell.
    MessageCell& next_envelope(WaitCall call, int source, int tag);
    // Frees the cell of the envelope just read, for senders: lazily (see hand_back).
    void release();
    // Hands the read cells back to senders: stores their free turns and wakes a sender
    // asleep on a full inbox. Done after this rank's next post (behind the fence the post
    // pays anyway), before any wait (owed_before_waiting), or once max_owed cells wait,
    // so a rank answering a message does not first stall on the cell's cache line.
    void hand_back();
    static constexpr std::uint64_t max_owed = 4;
    // Whether dest's cell for `ticket` is free, from dest's `released` as last read (read
    // again only when that no longer tells).
    bool known_free(int dest, const Inbox& inbox, std::uint64_t ticket);
    Stashed& stash(MessageCell& cell, WaitCall call);
    std::deque<Stashed>::iterator find_stashed(int source, int tag);

    JobSegment& job_;
    int rank_;
    std::uint64_t next_ticket_ = 0;             // of this rank's own inbox
    std::uint64_t handed_back_ = 0;             // cells of tickets below it are free for senders
    std::vector<std::uint64_t> released_seen_;  // per destination: its inbox's `released`
    std::deque<Stashed> unexpected_;
    std::map<int, std::unique_ptr<PairRing>> out_rings_, in_rings_;
};

}  // namespace spmd::detail
