// MPI matching over the runtime's messenger. Receives are matched in posting order and
// messages in arrival order, as MPI requires; a message that finds a posted receive with
// room goes straight into the user's buffer, any other waits in the unexpected list with
// its own copy. A large payload (pull_bytes on) is not copied by its sender at all: the
// receiver reads it from the sender's memory (a single copy, read_from) into the receive
// that takes it, or into a buffer of its own once it waits long, and answers, which
// completes the send. Nothing here blocks: progress() moves every
// pending transfer as far as it can (sends whose destination inbox is full, bulk payloads through
// the pair rings in both directions), and every blocking MPI call waits through wait_for(), which
// calls it. So a ring of MPI_Isend + MPI_Recv, or of MPI_Sendrecv, never deadlocks: a rank waiting
// for its receive also drains its peers' sends to it.
#include <algorithm>
#include <cstring>

#include "split.hpp"
#include "spmd/detail/messenger.hpp"
#include "spmd/detail/single_copy.hpp"
#include "state.hpp"

namespace spmd::mpi {

namespace {
// Sends from this size on are pulled by their receivers. Below it the pair ring's two
// overlapped copies cost less than the answer's round trip.
constexpr std::size_t pull_bytes = 32 << 10;
// The tags of answer_field messages.
constexpr int answer_pulled = 0, answer_stream = 1;
// A pulled message that no receive took for this long is read into a buffer of its own,
// so that a rank polling (MPI_Test, MPI_Iprobe) for something else does not hold its
// sender; as long as the wait policy's yielding before a sleep.
constexpr long settle_after_ns = 500'000;

int field_of(int rtag) {
    return rtag >> (tag_bits + 1);
}
int user_tag(int rtag) {
    return rtag & ((1 << tag_bits) - 1);
}
bool is_sync(int rtag) {
    return (rtag >> tag_bits) & 1;
}
bool matches(const Request& r, int source, int rtag) {
    return field_of(rtag) == r.want_field &&
           (r.want_source == MPI_ANY_SOURCE || r.want_source == source) &&
           (r.want_tag == MPI_ANY_TAG || r.want_tag == user_tag(rtag));
}
}  // namespace

Engine::Engine(World& world)
    : world_(world),
      messenger_(std::make_unique<detail::Messenger>(world.job(), world.rank())),
      outbox_(std::size_t(world.size())),
      inflows_(std::size_t(world.size())),
      acks_(std::size_t(world.size())),
      notices_(std::size_t(world.size())),
      to_stream_(std::size_t(world.size())),
      no_pull_(std::size_t(world.size())) {}

Engine::~Engine() = default;

void Engine::start_send(Request& r) {
    r.kind = Request::Kind::send;
    if (r.dest == world_.rank()) return deliver_self(r);
    auto& queue = outbox_[std::size_t(r.dest)];
    using Way = Request::Way;
    r.way = !detail::Messenger::is_bulk(r.bytes)                      ? Way::cell
            : r.bytes >= pull_bytes && !no_pull_[std::size_t(r.dest)] ? Way::pull
                                                                      : Way::ring;
    // Fast path: nothing queued before it and the inbox has room for the envelope.
    if (queue.empty() && r.way == Way::cell &&
        messenger_->try_post(r.dest, r.rtag, r.data, r.bytes))
        return complete_send(r);
    queue.push_back(&r);
    ++pending_sends_;
    advance_sends(r.dest);
}

// Sends to one destination are posted in order. A send through the pair ring is
// streamed only once every send before it is done, and before the next envelope is
// posted, so the receiver drains the ring in envelope order. A pulled send stays in the
// queue, posted, until its receiver answers (answered()); later envelopes may pass it.
// Pulled sends the receiver asked to stream after all go through the ring in the order
// of its answers (to_stream_), the order in which it expects them.
void Engine::advance_sends(int dest) {
    using Way = Request::Way;
    auto& queue = outbox_[std::size_t(dest)];
    auto& streams = to_stream_[std::size_t(dest)];
    if (answers_awaited_) help_split(dest);
    while (!streams.empty()) {
        Request& r = *streams.front();
        r.streamed = messenger_->try_stream_out(dest, r.data, r.bytes, r.streamed);
        if (r.streamed < r.bytes) return;
        streams.pop_front();
        queue.erase(std::find(queue.begin(), queue.end(), &r));
        --pending_sends_;
        complete_send(r);
    }
    for (auto it = queue.begin(); it != queue.end();) {
        Request& r = **it;
        if (r.way == Way::ring && it != queue.begin()) return;
        if (!r.posted) {
            if (!post(dest, r)) return;
            r.posted = true;
            if (r.way == Way::pull) ++answers_awaited_;
        }
        if (r.way == Way::pull) {
            ++it;
            continue;
        }
        if (r.way == Way::ring) {
            r.streamed = messenger_->try_stream_out(dest, r.data, r.bytes, r.streamed);
            if (r.streamed < r.bytes) return;
        }
        it = queue.erase(it);
        --pending_sends_;
        complete_send(r);
    }
}

// Writes the head of a pulled send whose receiver offers it (split.hpp), so that both
// cores copy; the receiver then answers as for any pulled send.
void Engine::help_split(int dest) {
    std::uint64_t id = 0, head = 0;
    if (!split_offered(world_.job(), world_.rank(), dest, id, head)) return;
    for (const Request* r : outbox_[std::size_t(dest)])
        if (r->way == Request::Way::pull && r->posted && r->pull_id == id) {
            if (head <= r->bytes) write_split_head(world_.job(), world_.rank(), dest, id, r->data);
            return;
        }
}

bool Engine::post(int dest, Request& r) {
    if (r.way != Request::Way::pull) return messenger_->try_post(dest, r.rtag, r.data, r.bytes);
    r.pull_id = next_pull_id_;
    if (!messenger_->try_post_pull(dest, r.rtag, r.data, r.bytes, r.pull_id)) return false;
    ++next_pull_id_;
    return true;
}

// Acknowledgements and answers: empty but for an id, posted in order and never behind a
// data send (which may itself wait for an answer from that rank).
void Engine::send_notice(int dest, int rtag, std::uint64_t id) {
    notices_[std::size_t(dest)].push_back({rtag, id});
    ++pending_notices_;
    advance_notices(dest);
}

void Engine::advance_notices(int dest) {
    auto& queue = notices_[std::size_t(dest)];
    while (!queue.empty() && messenger_->try_post(dest, queue.front().rtag, &queue.front().id,
                                                  sizeof(std::uint64_t))) {
        queue.pop_front();
        --pending_notices_;
    }
}

// The receiver answered pulled send `id`: it read the payload, or it could not and wants
// it through the ring, as it will want every later one.
void Engine::answered(int dest, std::uint64_t id, bool pulled) {
    auto& queue = outbox_[std::size_t(dest)];
    auto it = std::find_if(queue.begin(), queue.end(), [&](const Request* r) {
        return r->way == Request::Way::pull && r->posted && r->pull_id == id;
    });
    if (it == queue.end()) return;  // no such send waits: a peer's bug, not ours to crash on
    Request& r = **it;
    --answers_awaited_;
    last_answer_ns_ = detail::monotonic_ns();
    if (pulled) {
        queue.erase(it);
        --pending_sends_;
        complete_send(r);
    } else {
        to_stream_[std::size_t(dest)].push_back(&r);
        no_pull_[std::size_t(dest)] = true;
        for (Request* later : queue)
            if (later->way == Request::Way::pull && !later->posted) later->way = Request::Way::ring;
    }
    advance_sends(dest);
}

// The receiver's half of a pulled send: reads the payload straight from the sender's
// memory (which stays valid until this answer arrives), a large one split with the
// sender if it comes to help, and answers.
bool Engine::pull(int source, std::uint64_t address, std::uint64_t id, std::byte* target,
                  std::size_t bytes) {
    const pid_t sender = world_.job().report(source).live_pid();
    const bool pulled =
        bytes >= split_pull_bytes
            ? read_split(world_.job(), world_.rank(), source, sender, id, address, target, bytes)
            : detail::read_from(sender, address, target, bytes);
    send_notice(source, runtime_tag(answer_field, pulled ? answer_pulled : answer_stream), id);
    return pulled;
}

// Pulls a deferred arrival's payload into r's buffer (it fits) or, without r, into a
// buffer of its own; if the sender streams it instead, it arrives there through the ring.
void Engine::fetch(Arrival& a, Request* r) {
    a.deferred = false;
    if (!r) a.payload = std::make_unique_for_overwrite<std::byte[]>(a.bytes);
    std::byte* target = r ? r->buffer : a.payload.get();
    if (pull(a.source, a.address, a.id, target, a.bytes)) {
        a.complete = true;
        return;
    }
    inflows_[std::size_t(a.source)].push_back({target, a.bytes, 0, nullptr, &a});
    ++pending_inflows_;
}

void Engine::settle_deferred() {
    if (deferred_)
        for (auto& a : unexpected_)
            if (a.deferred) {
                fetch(a, nullptr);
                --deferred_;
            }
}

void Engine::complete_send(Request& r) {
    r.done = true;
    if (r.freed) delete &r;
}

// A send to oneself: matched at once against the posted receives, or kept as a copy.
void Engine::deliver_self(Request& send) {
    const int me = world_.rank();
    Arrival a{me, send.rtag, send.bytes, std::make_unique_for_overwrite<std::byte[]>(send.bytes)};
    a.complete = true;
    if (send.bytes) std::memcpy(a.payload.get(), send.data, send.bytes);
    complete_send(send);
    for (auto it = posted_.begin(); it != posted_.end(); ++it)
        if (matches(**it, me, a.rtag)) {
            Request& r = **it;
            posted_.erase(it);
            unexpected_.push_back(std::move(a));
            return match(r, unexpected_.back());
        }
    unexpected_.push_back(std::move(a));
}

void Engine::start_recv(Request& r) {
    r.kind = Request::Kind::recv;
    for (auto& a : unexpected_)
        if (!a.claimed && matches(r, a.source, a.rtag)) return match(r, a);
    posted_.push_back(&r);
}

// Receive r takes arrival a (already in unexpected_): now if its data is all here,
// else once it is.
void Engine::match(Request& r, Arrival& a) {
    a.claimed = &r;
    r.source = a.source;
    r.tag = user_tag(a.rtag);
    if (is_sync(a.rtag)) send_ack(a.source);
    if (a.deferred) {
        fetch(a, a.bytes <= r.capacity ? &r : nullptr);
        --deferred_;
    }
    if (a.complete) finish_arrival(a);
}

void Engine::finish_arrival(Arrival& a) {
    Request& r = *a.claimed;
    r.received = std::min(a.bytes, r.capacity);
    if (a.bytes > r.capacity) r.error = MPI_ERR_TRUNCATE;
    if (r.received && a.payload) std::memcpy(r.buffer, a.payload.get(), r.received);
    for (auto it = unexpected_.begin(); it != unexpected_.end(); ++it)
        if (&*it == &a) {
            unexpected_.erase(it);
            break;
        }
    complete_recv(r);
}

void Engine::complete_recv(Request& r) {
    if (r.type && !r.type->contiguous)
        unpack(*r.type, r.count, r.staging.data(), r.received, r.user_buffer);
    r.done = true;
    if (r.freed) delete &r;
}

void Engine::send_ack(int dest) {
    if (dest == world_.rank()) {
        ++acks_[std::size_t(dest)];
        return;
    }
    send_notice(dest, runtime_tag(ack_field, 0), 0);
}

// Takes every envelope that has arrived: to the first posted receive it matches (straight
// into its buffer when it fits), or to the unexpected list.
void Engine::arrive() {
    while (const detail::MessageCell* cell = messenger_->try_peek()) {
        const int source = cell->source, rtag = cell->tag;
        const std::size_t bytes = cell->size;
        const std::uint32_t how = cell->bulk;
        const bool bulk = how != 0;
        if (field_of(rtag) == ack_field) {
            std::uint64_t unused;  // notices carry an id
            messenger_->take(&unused);
            ++acks_[std::size_t(source)];
            continue;
        }
        if (field_of(rtag) == answer_field) {
            std::uint64_t id = 0;
            messenger_->take(&id);
            answered(source, id, user_tag(rtag) == answer_pulled);
            continue;
        }
        std::uint64_t pulled_from[2] = {};  // a pulled payload's address and id
        if (how == detail::MessageCell::pull)
            std::memcpy(pulled_from, cell->payload, sizeof pulled_from);
        // A pulled payload is read into `target` now (the envelope is taken first); if it
        // cannot be, its sender streams it through the ring, as a bulk one.
        auto pulled = [&](std::byte* target) {
            return how == detail::MessageCell::pull &&
                   pull(source, pulled_from[0], pulled_from[1], target, bytes);
        };
        Request* r = nullptr;
        for (auto it = posted_.begin(); it != posted_.end(); ++it)
            if (matches(**it, source, rtag)) {
                r = *it;
                posted_.erase(it);
                break;
            }
        if (r && bytes <= r->capacity) {
            r->source = source;
            r->tag = user_tag(rtag);
            r->received = bytes;
            if (is_sync(rtag)) send_ack(source);
            messenger_->take(bulk ? nullptr : r->buffer);
            if (!bulk || pulled(r->buffer)) {
                complete_recv(*r);
            } else {
                inflows_[std::size_t(source)].push_back({r->buffer, bytes, 0, r, nullptr});
                ++pending_inflows_;
            }
            continue;
        }
        // A pulled payload no receive wants yet is read once one does, straight into its
        // buffer, or once this rank waits (settle_deferred): two ranks that both send
        // first and receive after must not wait for each other.
        if (how == detail::MessageCell::pull && !r) {
            messenger_->take(nullptr);
            unexpected_.push_back({source, rtag, bytes, nullptr});
            Arrival& a = unexpected_.back();
            a.deferred = true;
            a.address = pulled_from[0];
            a.id = pulled_from[1];
            if (deferred_++ == 0) deferred_since_ = detail::monotonic_ns();
            continue;
        }
        unexpected_.push_back(
            {source, rtag, bytes, std::make_unique_for_overwrite<std::byte[]>(bytes)});
        Arrival& a = unexpected_.back();
        a.complete = !bulk;
        messenger_->take(bulk ? nullptr : a.payload.get());
        if (pulled(a.payload.get())) {
            a.complete = true;
        } else if (bulk) {
            inflows_[std::size_t(source)].push_back({a.payload.get(), bytes, 0, nullptr, &a});
            ++pending_inflows_;
        }
        if (r) match(*r, a);  // too long for r: r completes with MPI_ERR_TRUNCATE
    }
}

void Engine::advance_inflows(int source) {
    auto& queue = inflows_[std::size_t(source)];
    while (!queue.empty()) {
        Inflow& f = queue.front();
        f.done = messenger_->try_stream_in(source, f.target, f.bytes, f.done);
        if (f.done < f.bytes) return;
        Request* r = f.request;
        Arrival* a = f.arrival;
        queue.pop_front();
        --pending_inflows_;
        if (r) complete_recv(*r);
        if (a) {
            a->complete = true;
            if (a->claimed) finish_arrival(*a);
        }
    }
}

void Engine::progress() {
    if (deferred_ && detail::monotonic_ns() - deferred_since_ > settle_after_ns) settle_deferred();
    if (pending_notices_)
        for (int d = 0; d < int(notices_.size()); ++d)
            if (!notices_[std::size_t(d)].empty()) advance_notices(d);
    if (pending_sends_)
        for (int d = 0; d < int(outbox_.size()); ++d)
            if (!outbox_[std::size_t(d)].empty()) advance_sends(d);
    arrive();
    if (pending_inflows_)
        for (int s = 0; s < int(inflows_.size()); ++s)
            if (!inflows_[std::size_t(s)].empty()) advance_inflows(s);
}

bool Engine::find_unexpected(int source, int field, int tag, int& found_source, int& found_tag,
                             std::size_t& bytes) {
    Request probe;
    probe.want_source = source;
    probe.want_field = field;
    probe.want_tag = tag;
    for (const auto& a : unexpected_)
        if (!a.claimed && matches(probe, a.source, a.rtag)) {
            found_source = a.source;
            found_tag = user_tag(a.rtag);
            bytes = a.bytes;
            return true;
        }
    return false;
}

}  // namespace spmd::mpi
