// Point-to-point calls: argument checks, packing of strided types, and the request
// handles; the matching and progress are the engine's.
#include <cstring>

#include "state.hpp"

namespace spmd::mpi {

namespace {

std::vector<Request*>& request_table() {
    static std::vector<Request*> table(1, nullptr);  // handle 0 is MPI_REQUEST_NULL
    return table;
}

MPI_Request add_request(Request* r) {
    auto& table = request_table();
    for (std::size_t h = 1; h < table.size(); ++h)
        if (!table[h]) {
            table[h] = r;
            return MPI_Request(h);
        }
    table.push_back(r);
    return MPI_Request(table.size() - 1);
}

std::string out_of_range(const char* role, int rank, const Comm& c) {
    return std::string(role) + " rank " + std::to_string(rank) +
           " is out of range for a communicator of size " + std::to_string(c.size());
}

void check_count(int count) {
    if (count < 0) fail(MPI_ERR_COUNT, "count " + std::to_string(count) + " is negative");
}

void check_buffer(const void* buf, int count, const Datatype& t) {
    if (!buf && count > 0 && t.size > 0)
        fail(MPI_ERR_BUFFER, "the buffer is NULL but the count is " + std::to_string(count));
    if (!t.committed) fail(MPI_ERR_TYPE, "the datatype is not committed (MPI_Type_commit)");
}

// Fills a send request; the payload is the user's buffer, or a packed copy of it.
void prepare_send(Request& r, const void* buf, int count, MPI_Datatype type, int dest, int tag,
                  const Comm& c, bool sync) {
    check_count(count);
    const auto& t = datatype(type);
    check_buffer(buf, count, *t);
    if (dest == MPI_PROC_NULL) {
        r.proc_null = true;
        return;
    }
    if (dest < 0 || dest >= c.size()) fail(MPI_ERR_RANK, out_of_range("destination", dest, c));
    if (tag < 0 || tag > SPMD_MPI_TAG_MAX)
        fail(MPI_ERR_TAG, "tag " + std::to_string(tag) + " is not within 0.." +
                              std::to_string(SPMD_MPI_TAG_MAX));
    r.dest = c.world_of[std::size_t(dest)];
    r.rtag = runtime_tag(p2p_field(c), tag, sync);
    r.bytes = t->size * std::size_t(count);
    if (t->contiguous) {
        r.data = static_cast<const std::byte*>(buf);
    } else {
        r.staging.resize(r.bytes);
        pack(*t, std::size_t(count), buf, r.staging.data());
        r.data = r.staging.data();
    }
}

void prepare_recv(Request& r, void* buf, int count, MPI_Datatype type, int source, int tag,
                  const std::shared_ptr<Comm>& c) {
    check_count(count);
    const auto& t = datatype(type);
    check_buffer(buf, count, *t);
    r.kind = Request::Kind::recv;
    r.comm = c.get();
    if (source == MPI_PROC_NULL) {
        r.proc_null = true;
        return;
    }
    if (source != MPI_ANY_SOURCE && (source < 0 || source >= c->size()))
        fail(MPI_ERR_RANK, out_of_range("source", source, *c));
    if (tag != MPI_ANY_TAG && (tag < 0 || tag > SPMD_MPI_TAG_MAX))
        fail(MPI_ERR_TAG, "tag " + std::to_string(tag) + " is not within 0.." +
                              std::to_string(SPMD_MPI_TAG_MAX) + " or MPI_ANY_TAG");
    r.want_source = source == MPI_ANY_SOURCE ? MPI_ANY_SOURCE : c->world_of[std::size_t(source)];
    r.want_field = p2p_field(*c);
    r.want_tag = tag;
    r.capacity = t->size * std::size_t(count);
    if (t->contiguous) {
        r.buffer = static_cast<std::byte*>(buf);
    } else {
        r.staging.resize(r.capacity);
        r.buffer = r.staging.data();
        r.type = t;
        r.user_buffer = buf;
        r.count = std::size_t(count);
    }
}

void start(Request& r) {
    if (r.proc_null) {
        r.done = true;
        return;
    }
    if (r.kind == Request::Kind::send)
        engine().start_send(r);
    else
        engine().start_recv(r);
}

// The status of a completed request; its error, if any, is thrown after the status is set.
void report(const Request& r, MPI_Status* status) {
    if (status) {
        if (r.kind == Request::Kind::recv) {
            status->MPI_SOURCE =
                r.proc_null ? MPI_PROC_NULL : r.comm->rank_of[std::size_t(r.source)];
            status->MPI_TAG = r.proc_null ? MPI_ANY_TAG : r.tag;
            status->spmd_bytes = (long long)r.received;
        } else {
            status->spmd_bytes = 0;
        }
        status->MPI_ERROR = r.error;
    }
}

std::string truncation(const Request& r) {
    return "the message from rank " + std::to_string(r.comm->rank_of[std::size_t(r.source)]) +
           " with tag " + std::to_string(r.tag) + " does not fit the receive buffer of " +
           std::to_string(r.capacity) + " bytes";
}

// Waits for a blocking call's own request (not in the table).
void finish(Request& r, MPI_Status* status) {
    engine().wait(r);
    report(r, status);
    if (r.error == MPI_ERR_TRUNCATE) fail(MPI_ERR_TRUNCATE, truncation(r));
}

// Releases a completed handle after filling its status; returns its error and why.
int retire(MPI_Request* handle, MPI_Status* status, std::string& why) {
    Request* r = request_table()[std::size_t(*handle)];
    report(*r, status);
    request_table()[std::size_t(*handle)] = nullptr;
    *handle = MPI_REQUEST_NULL;
    const int error = r->error;
    if (error) why = truncation(*r);
    delete r;
    return error;
}

void retire_or_fail(MPI_Request* handle, MPI_Status* status) {
    std::string why;
    if (const int error = retire(handle, status, why)) fail(error, why);
}

void empty_status(MPI_Status* status) {
    if (status) {
        status->MPI_SOURCE = MPI_ANY_SOURCE;
        status->MPI_TAG = MPI_ANY_TAG;
        status->MPI_ERROR = MPI_SUCCESS;
        status->spmd_bytes = 0;
    }
}

// Completes every request of a Waitall/Testall whose requests are all done; the first
// error is reported once, as MPI_ERR_IN_STATUS, after every status is filled.
void retire_all(int count, MPI_Request requests[], MPI_Status statuses[]) {
    std::string why;
    for (int i = 0; i < count; ++i) {
        MPI_Status* st = statuses ? &statuses[i] : nullptr;
        if (request(requests[i]))
            retire(&requests[i], st, why);
        else
            empty_status(st);
    }
    if (!why.empty()) fail(MPI_ERR_IN_STATUS, why);
}

void check_handles(int count, const MPI_Request requests[]) {
    if (count < 0) fail(MPI_ERR_COUNT, "count " + std::to_string(count) + " is negative");
    for (int i = 0; i < count; ++i) request(requests[i]);
}

}  // namespace

Request* request(MPI_Request handle) {
    auto& table = request_table();
    if (handle == MPI_REQUEST_NULL) return nullptr;
    if (handle < 0 || std::size_t(handle) >= table.size() || !table[std::size_t(handle)])
        fail(MPI_ERR_REQUEST, "unknown request handle " + std::to_string(handle));
    return table[std::size_t(handle)];
}

}  // namespace spmd::mpi

using namespace spmd::mpi;

extern "C" {

int MPI_Send(const void* buf, int count, MPI_Datatype type, int dest, int tag, MPI_Comm c) {
    return call("MPI_Send", c, [&] {
        const auto& to = comm(c);
        Request r;
        prepare_send(r, buf, count, type, dest, tag, *to, false);
        start(r);
        engine().wait(r);
    });
}

int MPI_Ssend(const void* buf, int count, MPI_Datatype type, int dest, int tag, MPI_Comm c) {
    return call("MPI_Ssend", c, [&] {
        const auto& to = comm(c);
        Request r;
        prepare_send(r, buf, count, type, dest, tag, *to, true);
        if (r.proc_null) return;
        const std::uint64_t acks = engine().acks_from(r.dest);
        start(r);
        engine().wait(r);
        engine().wait_for([&] { return engine().acks_from(r.dest) > acks; });
    });
}

int MPI_Recv(void* buf, int count, MPI_Datatype type, int source, int tag, MPI_Comm c,
             MPI_Status* status) {
    return call("MPI_Recv", c, [&] {
        Request r;
        prepare_recv(r, buf, count, type, source, tag, comm(c));
        start(r);
        finish(r, status);
    });
}

int MPI_Sendrecv(const void* sendbuf, int sendcount, MPI_Datatype sendtype, int dest, int sendtag,
                 void* recvbuf, int recvcount, MPI_Datatype recvtype, int source, int recvtag,
                 MPI_Comm c, MPI_Status* status) {
    return call("MPI_Sendrecv", c, [&] {
        const auto& on = comm(c);
        Request s, r;
        prepare_send(s, sendbuf, sendcount, sendtype, dest, sendtag, *on, false);
        prepare_recv(r, recvbuf, recvcount, recvtype, source, recvtag, on);
        start(r);
        start(s);
        engine().wait_for([&] { return r.done && s.done; });
        finish(r, status);
    });
}

int MPI_Isend(const void* buf, int count, MPI_Datatype type, int dest, int tag, MPI_Comm c,
              MPI_Request* request) {
    return call("MPI_Isend", c, [&] {
        const auto& to = comm(c);
        auto r = std::make_unique<Request>();
        prepare_send(*r, buf, count, type, dest, tag, *to, false);
        start(*r);
        *request = add_request(r.release());
    });
}

int MPI_Irecv(void* buf, int count, MPI_Datatype type, int source, int tag, MPI_Comm c,
              MPI_Request* request) {
    return call("MPI_Irecv", c, [&] {
        auto r = std::make_unique<Request>();
        prepare_recv(*r, buf, count, type, source, tag, comm(c));
        r->keep_comm = comm(c);
        start(*r);
        *request = add_request(r.release());
    });
}

int MPI_Wait(MPI_Request* handle, MPI_Status* status) {
    return call("MPI_Wait", MPI_COMM_WORLD, [&] {
        require_initialized();
        Request* r = request(*handle);
        if (!r) return empty_status(status);
        engine().wait(*r);
        retire_or_fail(handle, status);
    });
}

int MPI_Waitall(int count, MPI_Request requests[], MPI_Status statuses[]) {
    return call("MPI_Waitall", MPI_COMM_WORLD, [&] {
        require_initialized();
        check_handles(count, requests);
        engine().wait_for([&] {
            for (int i = 0; i < count; ++i)
                if (Request* r = request(requests[i]); r && !r->done) return false;
            return true;
        });
        retire_all(count, requests, statuses);
    });
}

int MPI_Waitany(int count, MPI_Request requests[], int* index, MPI_Status* status) {
    return call("MPI_Waitany", MPI_COMM_WORLD, [&] {
        require_initialized();
        check_handles(count, requests);
        *index = MPI_UNDEFINED;
        bool any = false;
        for (int i = 0; i < count; ++i) any = any || requests[i] != MPI_REQUEST_NULL;
        if (!any) return empty_status(status);
        engine().wait_for([&] {
            for (int i = 0; i < count; ++i)
                if (Request* r = request(requests[i]); r && r->done) {
                    *index = i;
                    return true;
                }
            return false;
        });
        retire_or_fail(&requests[*index], status);
    });
}

int MPI_Test(MPI_Request* handle, int* flag, MPI_Status* status) {
    return call("MPI_Test", MPI_COMM_WORLD, [&] {
        require_initialized();
        Request* r = request(*handle);
        *flag = 1;
        if (!r) return empty_status(status);
        engine().progress();
        *flag = r->done;
        if (r->done) retire_or_fail(handle, status);
    });
}

int MPI_Testall(int count, MPI_Request requests[], int* flag, MPI_Status statuses[]) {
    return call("MPI_Testall", MPI_COMM_WORLD, [&] {
        require_initialized();
        check_handles(count, requests);
        engine().progress();
        *flag = 1;
        for (int i = 0; i < count; ++i)
            if (Request* r = request(requests[i]); r && !r->done) *flag = 0;
        if (!*flag) return;
        retire_all(count, requests, statuses);
    });
}

int MPI_Request_free(MPI_Request* handle) {
    return call("MPI_Request_free", MPI_COMM_WORLD, [&] {
        require_initialized();
        Request* r = request(*handle);
        if (!r) fail(MPI_ERR_REQUEST, "the request is MPI_REQUEST_NULL");
        request_table()[std::size_t(*handle)] = nullptr;
        *handle = MPI_REQUEST_NULL;
        if (r->done)
            delete r;
        else
            r->freed = true;  // the engine deletes it once done
    });
}

static void probe(int source, int tag, MPI_Comm c, int* flag, MPI_Status* status, bool block) {
    const auto& on = comm(c);
    if (source == MPI_PROC_NULL) {
        *flag = 1;
        if (status) {
            status->MPI_SOURCE = MPI_PROC_NULL;
            status->MPI_TAG = MPI_ANY_TAG;
            status->MPI_ERROR = MPI_SUCCESS;
            status->spmd_bytes = 0;
        }
        return;
    }
    if (source != MPI_ANY_SOURCE && (source < 0 || source >= on->size()))
        fail(MPI_ERR_RANK, out_of_range("source", source, *on));
    if (tag != MPI_ANY_TAG && (tag < 0 || tag > SPMD_MPI_TAG_MAX))
        fail(MPI_ERR_TAG, "tag " + std::to_string(tag) + " is not within 0.." +
                              std::to_string(SPMD_MPI_TAG_MAX) + " or MPI_ANY_TAG");
    const int want = source == MPI_ANY_SOURCE ? MPI_ANY_SOURCE : on->world_of[std::size_t(source)];
    int found_source = 0, found_tag = 0;
    std::size_t bytes = 0;
    auto look = [&] {
        return engine().find_unexpected(want, p2p_field(*on), tag, found_source, found_tag, bytes);
    };
    engine().progress();
    *flag = look();
    if (!*flag && block) {
        engine().wait_for(look);
        *flag = 1;
    }
    if (*flag && status) {
        status->MPI_SOURCE = on->rank_of[std::size_t(found_source)];
        status->MPI_TAG = found_tag;
        status->MPI_ERROR = MPI_SUCCESS;
        status->spmd_bytes = (long long)bytes;
    }
}

int MPI_Probe(int source, int tag, MPI_Comm c, MPI_Status* status) {
    int flag = 0;
    return call("MPI_Probe", c, [&] { probe(source, tag, c, &flag, status, true); });
}

int MPI_Iprobe(int source, int tag, MPI_Comm c, int* flag, MPI_Status* status) {
    return call("MPI_Iprobe", c, [&] { probe(source, tag, c, flag, status, false); });
}

}  // extern "C"
