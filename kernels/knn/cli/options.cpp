#include "options.hpp"

#include <boost/program_options.hpp>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <sstream>
#include <vector>

#include "spmd/error.hpp"

namespace po = boost::program_options;
using spmd::UsageError;

namespace knn_cli {

namespace {

// Whole numbers are read as text: program_options would turn "-3" into a huge unsigned.
std::size_t whole_number(const std::string& text, const std::string& what, std::size_t low) {
    char* end = nullptr;
    errno = 0;
    const unsigned long long v = std::strtoull(text.c_str(), &end, 10);
    if (text.empty() || text[0] == '-' || text[0] == '+' || *end || errno || v < low)
        throw UsageError(what + " must be a whole number >= " + std::to_string(low) + ", not '" +
                         text + "'");
    return std::size_t(v);
}

double real_number(const std::string& text, const std::string& what) {
    char* end = nullptr;
    const double v = std::strtod(text.c_str(), &end);
    if (text.empty() || *end) throw UsageError(what + " must be a number, not '" + text + "'");
    return v;
}

RandomProblem parse_random(const std::string& text, const std::string& seed) {
    std::vector<std::string> parts;
    std::stringstream in(text);
    for (std::string part; std::getline(in, part, ',');) parts.push_back(part);
    if (parts.size() != 3 || text.back() == ',')
        throw UsageError("--random takes n,d,q (three whole numbers), not '" + text + "'");
    RandomProblem p;
    p.n = whole_number(parts[0], "--random n", 0);
    p.d = whole_number(parts[1], "--random d", 0);
    p.q = whole_number(parts[2], "--random q", 0);
    p.seed = whole_number(seed, "--seed", 0);
    return p;
}

}  // namespace

CliOptions parse(int argc, char** argv) {
    std::string k = "1", metric = "l2", max_distance = "inf", leafsize = "10", schedule = "guided",
                chunk = "0", build = "split", random, seed = "0";
    CliOptions o;
    po::options_description desc(
        "knn: exact k nearest neighbours of every query among the data points (as scipy's\n"
        "cKDTree.query), shared out over the ranks of `mprun -n N knn ...`.\n"
        "Usage: knn (--data X.npy --queries Q.npy | --random n,d,q [--seed S]) [options]\n"
        "Options");
    // clang-format off
    desc.add_options()
        ("help,h", "print this help")
        ("data", po::value(&o.data_path),
         "data points: n x d .npy of any float or integer dtype, C or Fortran order (read as "
         "float64); a 1-D array of n values is n points with d = 1")
        ("queries", po::value(&o.queries_path), "query points: q x d .npy")
        ("random", po::value(&random), "instead of files: n data and q query points, uniform in [0,1)^d")
        ("seed", po::value(&seed), "seed for --random (default 0); same points for any rank count")
        (",k", po::value(&k), "neighbours per query (default 1)")
        ("metric", po::value(&metric), "l2 (default) or l1")
        ("max-distance", po::value(&max_distance),
         "keep only neighbours closer than this; missing ones get index n and distance inf")
        ("leafsize", po::value(&leafsize), "kd-tree leaf size (default 10)")
        ("schedule", po::value(&schedule), "static, dynamic or guided (default): how queries are shared")
        ("chunk", po::value(&chunk), "schedule chunk size (default 0: the schedule's own)")
        ("index-build", po::value(&build), "split (default) or each-rank: how every rank gets the tree")
        ("out", po::value(&o.out_prefix), "write PREFIX_dist.npy (float64) and PREFIX_idx.npy (int64)")
        ("progress", "show a progress line on stderr even when it is not a terminal")
        ("no-progress", "never show the progress line (default: shown on a terminal)");
    // clang-format on
    po::variables_map vm;
    try {
        po::store(po::command_line_parser(argc, argv).options(desc).run(), vm);
        po::notify(vm);
    } catch (const po::error& e) {
        throw UsageError(std::string(e.what()) + " (see knn --help)");
    }
    if (vm.count("help")) {
        std::ostringstream text;
        text << desc;
        o.help = true;
        o.help_text = text.str();
        return o;
    }

    const bool files = vm.count("data") || vm.count("queries");
    if (files && vm.count("random"))
        throw UsageError("give either --data/--queries or --random, not both");
    if (vm.count("seed") && !vm.count("random")) throw UsageError("--seed goes with --random");
    if (vm.count("random")) {
        o.random = parse_random(random, seed);
    } else if (!vm.count("data") || !vm.count("queries")) {
        throw UsageError(
            "give --data X.npy and --queries Q.npy, or --random n,d,q (see knn --help)");
    }
    if (vm.count("out") && o.out_prefix.empty()) throw UsageError("--out needs a non-empty prefix");

    auto& s = o.search;
    s.k = whole_number(k, "k", 1);
    s.metric = spmd::knn::parse_metric(metric);
    s.max_distance = real_number(max_distance, "max-distance");
    if (!(s.max_distance >= 0))
        throw UsageError("max-distance must be >= 0, not '" + max_distance + "'");
    s.leafsize = whole_number(leafsize, "leafsize", 1);
    s.schedule = spmd::parse_schedule(schedule);
    s.chunk = whole_number(chunk, "chunk", 0);
    s.progress = spmd::progress_choice(vm.count("progress"), vm.count("no-progress"));
    if (build == "split")
        s.build = spmd::knn::IndexBuild::split;
    else if (build == "each-rank")
        s.build = spmd::knn::IndexBuild::each_rank;
    else
        throw UsageError("--index-build must be split or each-rank, not '" + build + "'");
    return o;
}

}  // namespace knn_cli
