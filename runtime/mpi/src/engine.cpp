// MPI matching over the runtime's messenger. Receives are matched in posting order and
// messages in arrival order, as MPI requires; a message that finds a posted receive with
// room goes straight into the user's buffer, any other waits in the unexpected list with
// its own copy. Nothing here blocks: progress() moves every pending transfer as far as
// it can (sends whose destination inbox is full, bulk payloads through the pair rings in
// both directions), and every blocking MPI call waits through wait_for(), which calls
// it. So a ring of MPI_Isend + MPI_Recv, or of MPI_Sendrecv, never deadlocks: a rank
// waiting for its receive also drains its peers' sends to it.
#include <cstring>

#include "spmd/detail/messenger.hpp"
#include "state.hpp"

namespace spmd::mpi {

namespace {
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
      acks_(std::size_t(world.size())) {}

Engine::~Engine() = default;

void Engine::start_send(Request& r) {
    r.kind = Request::Kind::send;
    if (r.dest == world_.rank()) return deliver_self(r);
    auto& queue = outbox_[std::size_t(r.dest)];
    // Fast path: nothing queued before it and the inbox has room for the envelope.
    if (queue.empty() && !detail::Messenger::is_bulk(r.bytes) &&
        messenger_->try_post(r.dest, r.rtag, r.data, r.bytes))
        return complete_send(r);
    queue.push_back(&r);
    ++pending_sends_;
    advance_sends(r.dest);
}

// Sends to one destination go out in order; a bulk payload is streamed before the next
// envelope is posted, so the receiver drains the pair ring in envelope order.
void Engine::advance_sends(int dest) {
    auto& queue = outbox_[std::size_t(dest)];
    while (!queue.empty()) {
        Request& r = *queue.front();
        if (!r.posted) {
            if (!messenger_->try_post(dest, r.rtag, r.data, r.bytes)) return;
            r.posted = true;
        }
        if (detail::Messenger::is_bulk(r.bytes)) {
            r.streamed = messenger_->try_stream_out(dest, r.data, r.bytes, r.streamed);
            if (r.streamed < r.bytes) return;
        }
        queue.pop_front();
        --pending_sends_;
        complete_send(r);
    }
}

void Engine::complete_send(Request& r) {
    r.done = true;
    if (r.freed) delete &r;
}

// A send to oneself: matched at once against the posted receives, or kept as a copy.
void Engine::deliver_self(Request& send) {
    const int me = world_.rank();
    Arrival a{me, send.rtag, send.bytes, {}, true, nullptr};
    a.payload.assign(send.data, send.data + send.bytes);
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
    if (a.complete) finish_arrival(a);
}

void Engine::finish_arrival(Arrival& a) {
    Request& r = *a.claimed;
    r.received = std::min(a.bytes, r.capacity);
    if (a.bytes > r.capacity) r.error = MPI_ERR_TRUNCATE;
    if (r.received) std::memcpy(r.buffer, a.payload.data(), r.received);
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
    auto* ack = new Request;
    ack->dest = dest;
    ack->rtag = runtime_tag(ack_field, 0);
    ack->freed = true;
    start_send(*ack);
}

// Takes every envelope that has arrived: to the first posted receive it matches (straight
// into its buffer when it fits), or to the unexpected list.
void Engine::arrive() {
    while (const detail::MessageCell* cell = messenger_->try_peek()) {
        const int source = cell->source, rtag = cell->tag;
        const std::size_t bytes = cell->size;
        const bool bulk = cell->bulk != 0;
        if (field_of(rtag) == ack_field) {
            messenger_->take(nullptr);
            ++acks_[std::size_t(source)];
            continue;
        }
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
            if (!bulk) {
                messenger_->take(r->buffer);
                complete_recv(*r);
            } else {
                messenger_->take(nullptr);
                inflows_[std::size_t(source)].push_back({r->buffer, bytes, 0, r, nullptr});
                ++pending_inflows_;
            }
            continue;
        }
        unexpected_.push_back({source, rtag, bytes, std::vector<std::byte>(bytes), !bulk, nullptr});
        Arrival& a = unexpected_.back();
        messenger_->take(bulk ? nullptr : a.payload.data());
        if (bulk) {
            inflows_[std::size_t(source)].push_back({a.payload.data(), bytes, 0, nullptr, &a});
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
