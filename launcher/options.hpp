// mprun's command line: `mprun [options] [--] program [args...]`. Parsing stops at the
// first word that is not one of mprun's options, so the program's own options (and
// `sh -c ...`) reach it untouched; `-np N` is accepted as MPI users type it.
#pragma once
#include <string>
#include <vector>

namespace mprun {

struct Options {
    int ranks = 0;                     // 0: one per usable core, as mpirun does
    std::vector<std::string> exports;  // -x NAME or NAME=VALUE
    bool tag_output = false;
    std::string output_dir;              // --output-filename DIR
    double timeout_seconds = 0;          // 0: none
    double grace_seconds = 1.0;          // SIGTERM to SIGKILL
    bool bind_to_core = false;           // --bind-to core, or --map-by core alone
    bool report_bindings = false;        // one line per rank on stderr
    std::string trace_json, trace_html;  // --trace FILE, --trace-html FILE
    bool cleanup = false, help = false, version = false;
    std::vector<std::string> command;  // program and its arguments
    std::string program_path;          // the program as found on PATH (or in .)
};

// Throws spmd::UsageError with a one-line message on any bad input, including a program
// built against a real MPI. Reads the program's file, changes nothing.
Options parse_options(int argc, char** argv);
std::string help_text();

}  // namespace mprun
