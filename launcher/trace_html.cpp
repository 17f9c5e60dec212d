// The trace as one self-contained HTML page (no scripts, no network): an inline SVG with
// one lane per rank. A lane is green where the rank works and orange where it waits
// (barrier rounds, receives, queue pops); arrows run from each send to its receive (blue)
// and from each barrier signal to the round that waited for it (purple), so a barrier's
// ceil(log2 N) rounds show as columns of arrows. Hovering a mark shows its details.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>

#include "trace_merge.hpp"

namespace mprun {

using spmd::detail::trace::Collective;
using spmd::detail::trace::Kind;

namespace {

constexpr double left = 70, right = 40, lane = 44, bar = 24, width = 1160;

std::string fmt(const char* format, double a, double b = 0, double c = 0, double d = 0) {
    char text[160];
    std::snprintf(text, sizeof text, format, a, b, c, d);
    return text;
}

std::string escaped(std::string_view text) {
    std::string out;
    for (const char c : text) {
        if (c == '<')
            out += "&lt;";
        else if (c == '>')
            out += "&gt;";
        else if (c == '&')
            out += "&amp;";
        else if (c == '"')
            out += "&quot;";
        else
            out += c;
    }
    return out;
}

bool waits(Kind kind) {
    return kind == Kind::barrier_round || kind == Kind::recv || kind == Kind::queue_pop ||
           kind == Kind::value_wait;
}

std::string describe(const Event& e) {
    auto n = [](auto v) { return std::to_string(v); };
    switch (e.kind) {
        case Kind::barrier:
            return "barrier " + n(e.a);
        case Kind::barrier_round:
            return "barrier " + n(e.a) + ", round " + n(e.detail) + ": signal rank " + n(e.peer) +
                   ", wait for rank " + n(e.peer2);
        case Kind::send:
            return "send to rank " + n(e.peer) + ", tag " + n(e.peer2) + ", " + n(e.a) + " bytes";
        case Kind::recv:
            return "recv from rank " + n(e.peer) + ", tag " + n(e.peer2) + ", " + n(e.a) + " bytes";
        case Kind::collective:
            return std::string(spmd::detail::trace::name_of(Collective(e.detail))) + ", " + n(e.a) +
                   " bytes";
        case Kind::chunk:
            return "loop chunk [" + n(e.a) + ", " + n(e.b) + ")";
        case Kind::queue_push:
            return "queue push";
        case Kind::queue_pop:
            return e.detail ? "queue pop (closed, drained)" : "queue pop";
        case Kind::value_wait:
            return "all_reduce: wait for rank " + n(e.peer) + "'s value, " + n(e.a) + " bytes";
        case Kind::shared_array:
            return "shared array '" + std::string(e.label, strnlen(e.label, sizeof e.label)) +
                   "', " + n(e.a) + " bytes";
    }
    return "";
}

// One timeline of [t0, t1] with its top edge at `at`; returns the height it took.
double write_panel(const MergedTrace& trace, std::ostream& out, std::uint64_t t0, std::uint64_t t1,
                   double at, const std::string& title) {
    const double span_ns = std::max<double>(1, double(t1 - t0));
    const double plot = width - left - right;
    auto x = [&](std::uint64_t ns) {
        return left + plot * std::clamp(double(std::int64_t(ns - t0)) / span_ns, 0.0, 1.0);
    };
    auto y = [&](int rank) { return at + 30 + lane * rank; };  // top of the rank's bar
    out << fmt("<text x=\"%g\" y=\"%g\" style=\"font-size:14px\">", left, at + 16) << escaped(title)
        << "</text>\n";
    for (int r = 0; r < trace.ranks; ++r) {
        const auto& events = trace.events[std::size_t(r)];
        out << fmt("<text x=\"8\" y=\"%g\">rank %g</text>\n", y(r) + bar * 0.7, r);
        out << fmt("<rect x=\"%g\" y=\"%g\" width=\"%g\" height=\"%g\" fill=\"#f2f2f2\"/>\n", left,
                   y(r), plot, bar);
        if (events.empty()) continue;
        std::uint64_t first = UINT64_MAX, last = 0;
        for (const Event& e : events) {
            first = std::min(first, e.begin_ns);
            last = std::max(last, e.end_ns);
        }
        out << fmt("<rect x=\"%g\" y=\"%g\" width=\"%g\" height=\"%g\" fill=\"#8fd18f\"/>\n",
                   x(first), y(r), std::max(1.0, x(last) - x(first)), bar);
        for (const Event& e : events) {
            if (e.end_ns < t0 || e.begin_ns > t1) continue;
            const double x0 = x(e.begin_ns), w = std::max(1.5, x(e.end_ns) - x0);
            std::string mark;
            if (waits(e.kind))
                mark = fmt("<rect x=\"%g\" y=\"%g\" width=\"%g\" height=\"%g\" fill=\"#f0a030\">",
                           x0, y(r) + 2, w, bar - 4);
            else if (e.kind == Kind::chunk || e.kind == Kind::shared_array)
                mark = fmt("<rect x=\"%g\" y=\"%g\" width=\"2\" height=\"%g\" fill=\"", x0,
                           y(r) - 4, bar + 8) +
                       (e.kind == Kind::chunk ? "#2e8b57" : "#555") + "\">";
            else if (e.kind == Kind::send || e.kind == Kind::collective)
                mark =
                    fmt("<rect x=\"%g\" y=\"%g\" width=\"%g\" height=\"%g\" fill=\"none\" "
                        "stroke=\"#1f5fbf\">",
                        x0, y(r) + 1, w, bar - 2);
            if (!mark.empty())
                out << mark << "<title>" << escaped(describe(e)) << "</title></rect>\n";
        }
    }
    for (const Flow& f : trace.flows) {
        const Event& from = trace.events[std::size_t(f.from_rank)][std::size_t(f.from_event)];
        const Event& to = trace.events[std::size_t(f.to_rank)][std::size_t(f.to_event)];
        if (to.end_ns < t0 || from.begin_ns > t1) continue;
        const bool message = f.kind == Flow::Kind::message;
        // From the sender's bar edge to the receiver's, whichever way round they lie.
        const double y0 = y(f.from_rank) + (f.to_rank >= f.from_rank ? bar : 0);
        const double y1 = y(f.to_rank) + (f.to_rank > f.from_rank    ? 0
                                          : f.to_rank == f.from_rank ? bar / 2
                                                                     : bar);
        out << fmt("<line x1=\"%g\" y1=\"%g\" x2=\"%g\" y2=\"%g\" ", x(from.begin_ns), y0,
                   x(to.end_ns), y1)
            << (message ? "stroke=\"#1f5fbf\" marker-end=\"url(#msg)\""
                        : "stroke=\"#8a2be2\" marker-end=\"url(#sig)\"")
            << " stroke-width=\"1.3\"><title>" << (message ? "message" : "barrier signal")
            << " rank " << f.from_rank << " &#8594; rank " << f.to_rank << "</title></line>\n";
    }
    // Time axis, in microseconds since the job's first event.
    const double axis = y(trace.ranks) - lane + bar + 10;
    out << fmt("<line x1=\"%g\" y1=\"%g\" x2=\"%g\" y2=\"%g\" stroke=\"#444\"/>\n", left, axis,
               left + plot, axis);
    for (int i = 0; i <= 4; ++i)
        out << fmt("<text x=\"%g\" y=\"%g\" text-anchor=\"middle\">%.1f us</text>\n",
                   left + plot * i / 4, axis + 16,
                   (double(t0 - trace.start_ns) + span_ns * i / 4) / 1e3);
    return axis + 30 - at;
}

}  // namespace

void write_html(const MergedTrace& trace, std::ostream& out) {
    // Ranks start at different moments (fork, exec, loading): a second panel begins where
    // the last rank recorded its first event, where barrier rounds line up visibly.
    std::uint64_t all_started = trace.start_ns;
    for (const auto& events : trace.events)
        if (!events.empty())
            all_started = std::max(
                all_started,
                std::min_element(events.begin(), events.end(), [](const Event& a, const Event& b) {
                    return a.begin_ns < b.begin_ns;
                })->begin_ns);
    const bool zoom =
        trace.end_ns > trace.start_ns &&
        double(all_started - trace.start_ns) > 0.2 * double(trace.end_ns - trace.start_ns);
    const double panel_height = 30 + lane * trace.ranks + 40;
    const double height = 60 + panel_height * (zoom ? 2 : 1) + 10;

    out << "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>mprun trace: "
        << trace.ranks << " ranks</title>\n<style>body{font-family:sans-serif;margin:8px;"
        << "background:#fff}svg text{font-size:12px;fill:#222}</style></head><body>\n";
    out << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width << "\" height=\"" << height
        << "\" viewBox=\"0 0 " << width << " " << height << "\">\n";
    out << "<defs>"
           "<marker id=\"msg\" markerWidth=\"8\" markerHeight=\"8\" refX=\"7\" refY=\"4\" "
           "orient=\"auto\">"
           "<path d=\"M0,0 L8,4 L0,8 z\" fill=\"#1f5fbf\"/></marker>"
           "<marker id=\"sig\" markerWidth=\"8\" markerHeight=\"8\" refX=\"7\" refY=\"4\" "
           "orient=\"auto\">"
           "<path d=\"M0,0 L8,4 L0,8 z\" fill=\"#8a2be2\"/></marker></defs>\n";
    const struct {
        const char* colour;
        const char* text;
    } legend[] = {{"#8fd18f", "working"},
                  {"#f0a030", "waiting"},
                  {"#1f5fbf", "message, send, collective"},
                  {"#8a2be2", "barrier signal"},
                  {"#2e8b57", "loop chunk"}};
    for (int i = 0; i < 5; ++i)
        out << fmt("<rect x=\"%g\" y=\"14\" width=\"14\" height=\"14\" fill=\"", left + i * 190.0)
            << legend[i].colour << "\"/>" << fmt("<text x=\"%g\" y=\"26\">", left + i * 190.0 + 20)
            << legend[i].text << "</text>\n";
    const std::string whole = "mprun trace: " + std::to_string(trace.ranks) + " ranks, " +
                              fmt("%.1f us", double(trace.end_ns - trace.start_ns) / 1e3);
    const double used = write_panel(trace, out, trace.start_ns, trace.end_ns, 40, whole);
    if (zoom)
        write_panel(trace, out, all_started, trace.end_ns, 40 + used,
                    "from the moment every rank is running");
    out << "</svg>\n</body></html>\n";
}

}  // namespace mprun
