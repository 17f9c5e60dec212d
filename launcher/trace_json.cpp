// The Chrome trace-event format (the "JSON Array/Object Format" that chrome://tracing and
// Perfetto open): one process per rank ("pid" = rank), a slice ("X") per call, an instant
// ("i") per loop chunk or shared array, and a flow ("s" then "f") per message or signal.
#include <cstdio>
#include <cstring>
#include <string>

#include "spmd/schedule.hpp"
#include "trace_merge.hpp"

namespace mprun {

using spmd::detail::trace::Collective;
using spmd::detail::trace::Kind;

namespace {

std::string quoted(std::string_view text) {
    std::string out = "\"";
    for (const char c : text) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (static_cast<unsigned char>(c) < 0x20) {
            char escaped[8];
            std::snprintf(escaped, sizeof escaped, "\\u%04x", c);
            out += escaped;
        } else {
            out += c;
        }
    }
    return out + "\"";
}

class Writer {
public:
    Writer(const MergedTrace& trace, std::ostream& out) : trace_(trace), out_(out) {}

    // Microseconds since the job's first event, to the nanosecond.
    std::string us(std::uint64_t ns) const {
        char text[32];
        std::snprintf(text, sizeof text, "%.3f", double(ns - trace_.start_ns) / 1e3);
        return text;
    }

    void begin_record() {
        out_ << (first_ ? "\n" : ",\n");
        first_ = false;
    }

    void event(int rank, const Event& e) {
        std::string name(spmd::detail::trace::name_of(e.kind)), cat, args;
        auto arg = [&](const char* key, const std::string& value) {
            args += (args.empty() ? "" : ",") + quoted(key) + ":" + value;
        };
        auto num = [](auto v) { return std::to_string(v); };
        bool instant = false;
        switch (e.kind) {
            case Kind::barrier:
                cat = "barrier";
                arg("epoch", num(e.a));
                break;
            case Kind::barrier_round:
                cat = "barrier";
                name = "round " + num(e.detail);
                arg("round", num(e.detail));
                arg("signal", num(e.peer));
                arg("wait", num(e.peer2));
                arg("epoch", num(e.a));
                break;
            case Kind::send:
                cat = "p2p";
                arg("to", num(e.peer));
                arg("tag", num(e.peer2));
                arg("bytes", num(e.a));
                break;
            case Kind::recv:
                cat = "p2p";
                arg("from", num(e.peer));
                arg("tag", num(e.peer2));
                arg("bytes", num(e.a));
                break;
            case Kind::collective:
                cat = "collective";
                name = spmd::detail::trace::name_of(Collective(e.detail));
                arg("root", num(e.peer));
                arg("bytes", num(e.a));
                break;
            case Kind::chunk:
                cat = "schedule";
                instant = true;
                arg("begin", num(e.a));
                arg("end", num(e.b));
                arg("schedule", quoted(spmd::to_string(spmd::Schedule(e.detail))));
                break;
            case Kind::queue_push:
            case Kind::queue_pop:
                cat = "queue";
                arg("bytes", num(e.a));
                if (e.kind == Kind::queue_pop) arg("drained", e.detail ? "true" : "false");
                break;
            case Kind::value_wait:
                cat = "collective";
                arg("from", num(e.peer));
                arg("bytes", num(e.a));
                break;
            case Kind::shared_array:
                cat = "memory";
                instant = true;
                arg("name", quoted(std::string_view(e.label, strnlen(e.label, sizeof e.label))));
                arg("bytes", num(e.a));
                break;
        }
        begin_record();
        out_ << "{\"name\":" << quoted(name) << ",\"cat\":\"" << cat << "\",\"pid\":" << rank
             << ",\"tid\":0,\"ts\":" << us(e.begin_ns);
        if (instant)
            out_ << ",\"ph\":\"i\",\"s\":\"t\"";
        else
            out_ << ",\"ph\":\"X\",\"dur\":" << us(trace_.start_ns + (e.end_ns - e.begin_ns));
        out_ << ",\"args\":{" << args << "}}";
    }

    void flow(int id, const Flow& f) {
        const Event& from = trace_.events[std::size_t(f.from_rank)][std::size_t(f.from_event)];
        const Event& to = trace_.events[std::size_t(f.to_rank)][std::size_t(f.to_event)];
        // 1 ns inside the receiving slice's end, so that viewers bind the arrow to that
        // slice ("bp":"e": the enclosing one) and not to whatever starts at the same moment.
        const std::uint64_t lands = to.end_ns > to.begin_ns ? to.end_ns - 1 : to.end_ns;
        const char* name = f.kind == Flow::Kind::message ? "message" : "signal";
        const char* cat = f.kind == Flow::Kind::message ? "p2p" : "barrier";
        begin_record();
        out_ << "{\"name\":\"" << name << "\",\"cat\":\"" << cat << "\",\"ph\":\"s\",\"id\":" << id
             << ",\"pid\":" << f.from_rank << ",\"tid\":0,\"ts\":" << us(from.begin_ns) << "}";
        begin_record();
        out_ << "{\"name\":\"" << name << "\",\"cat\":\"" << cat
             << "\",\"ph\":\"f\",\"bp\":\"e\",\"id\":" << id << ",\"pid\":" << f.to_rank
             << ",\"tid\":0,\"ts\":" << us(lands) << "}";
    }

    void write() {
        out_ << "{\"displayTimeUnit\":\"ns\",\"traceEvents\":[";
        for (int r = 0; r < trace_.ranks; ++r) {
            begin_record();
            out_ << "{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":" << r
                 << ",\"args\":{\"name\":\"rank " << r << "\"}}";
            begin_record();
            out_ << "{\"name\":\"process_sort_index\",\"ph\":\"M\",\"pid\":" << r
                 << ",\"args\":{\"sort_index\":" << r << "}}";
        }
        for (int r = 0; r < trace_.ranks; ++r)
            for (const Event& e : trace_.events[std::size_t(r)]) event(r, e);
        for (std::size_t i = 0; i < trace_.flows.size(); ++i) flow(int(i) + 1, trace_.flows[i]);
        out_ << "\n],\"otherData\":{\"ranks\":" << trace_.ranks << ",\"dropped\":[";
        for (int r = 0; r < trace_.ranks; ++r)
            out_ << (r ? "," : "") << trace_.dropped[std::size_t(r)];
        out_ << "]}}\n";
    }

private:
    const MergedTrace& trace_;
    std::ostream& out_;
    bool first_ = true;
};

}  // namespace

void write_chrome_json(const MergedTrace& trace, std::ostream& out) {
    Writer(trace, out).write();
}

}  // namespace mprun
