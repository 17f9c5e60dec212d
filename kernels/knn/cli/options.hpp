// The knn command line: what to read (two .npy files or a random problem), what to
// compute (spmd::knn::Options) and where to write it. parse() throws spmd::UsageError
// with a one-line message for anything it cannot accept.
#pragma once
#include <cstdint>
#include <optional>
#include <string>

#include "spmd/knn/knn.hpp"

namespace knn_cli {

struct RandomProblem {
    std::size_t n = 0, d = 0, q = 0;
    std::uint64_t seed = 0;
};

struct CliOptions {
    bool help = false;
    std::string help_text;
    std::string data_path, queries_path;  // --data/--queries, or
    std::optional<RandomProblem> random;  // --random n,d,q --seed S
    std::string out_prefix;               // empty: print a summary instead
    spmd::knn::Options search;
};

CliOptions parse(int argc, char** argv);

}  // namespace knn_cli
