#include "options.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <boost/program_options.hpp>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>

#include "mpi_binary.hpp"
#include "spmd/detail/job.hpp"
#include "spmd/error.hpp"

namespace mprun {

namespace po = boost::program_options;
using spmd::UsageError;

namespace {

bool takes_value(const std::string& word) {
    for (const char* name :
         {"-n", "-np", "--np", "-x", "--output-filename", "--timeout", "--grace", "--bind-to",
          "--map-by", "-H", "--host", "--hostfile", "--machinefile", "--trace", "--trace-html"})
        if (word == name) return true;
    return false;
}

int parse_ranks(const std::string& text) {
    char* end = nullptr;
    errno = 0;
    const long value = std::strtol(text.c_str(), &end, 10);
    if (text.empty() || *end || errno || value < 1 || value > spmd::detail::max_ranks)
        throw UsageError("-n expects a number of ranks from 1 to " +
                         std::to_string(spmd::detail::max_ranks) + ", not '" + text + "'");
    return int(value);
}

double parse_seconds(const std::string& flag, const std::string& text, bool allow_zero) {
    char* end = nullptr;
    errno = 0;
    const double value = std::strtod(text.c_str(), &end);
    if (text.empty() || *end || errno || !(value > 0 || (allow_zero && value == 0)) || value > 1e9)
        throw UsageError(flag + " expects a positive number of seconds, not '" + text + "'");
    return value;
}

// Finds the program as execvp would, so that a bad one is refused before anything starts.
std::string resolve_program(const std::string& program) {
    // An empty name would otherwise resolve to the current directory, "is a directory".
    if (program.empty()) throw UsageError("the program name is empty ('')");
    auto check = [&](const std::string& path) -> std::string {
        struct stat st {};
        if (stat(path.c_str(), &st) != 0) return "";
        if (S_ISDIR(st.st_mode)) throw UsageError("cannot run '" + program + "': is a directory");
        if (access(path.c_str(), X_OK) != 0)
            throw UsageError("cannot run '" + program + "': not executable (" +
                             std::strerror(errno) + ")");
        return path;
    };
    if (program.find('/') != std::string::npos) {
        if (auto found = check(program); !found.empty()) return found;
        throw UsageError("cannot run '" + program + "': no such file");
    }
    const char* path_env = std::getenv("PATH");
    std::string path = path_env ? path_env : "/usr/local/bin:/usr/bin:/bin";
    std::size_t start = 0;
    for (;;) {
        const std::size_t colon = path.find(':', start);
        std::string dir = path.substr(start, colon - start);
        if (dir.empty()) dir = ".";
        if (auto found = check(dir + "/" + program); !found.empty()) return found;
        if (colon == std::string::npos) break;
        start = colon + 1;
    }
    // mpirun also runs a program of the current directory that PATH does not list.
    if (auto found = check("./" + program); !found.empty()) return found;
    throw UsageError("cannot run '" + program + "': not found in PATH or the current directory");
}

// The kernel runs ELF programs and scripts that start with "#!"; anything else fails in
// execv with ENOEXEC once per rank (a shell would run it with sh: mprun, like mpirun, does
// not). Refuse it here, once, with the way out. An unreadable file is left to execv.
void refuse_unrunnable(const std::string& program, const std::string& path) {
    char start[4] = {};
    std::FILE* file = std::fopen(path.c_str(), "rb");
    if (!file) return;
    const std::size_t got = std::fread(start, 1, sizeof start, file);
    std::fclose(file);
    if (got >= 2 && start[0] == '#' && start[1] == '!') return;
    if (got == 4 && std::memcmp(start,
                                "\x7f"
                                "ELF",
                                4) == 0)
        return;
    throw UsageError("cannot run '" + program +
                     "': neither an ELF program nor a script starting with #!; add a #! "
                     "line, or run it as: mprun ... sh " +
                     program);
}

// mpirun's spellings that name a policy: what mprun does for each, or a refusal.
bool bind_to_core(const std::string& policy) {
    if (policy == "none") return false;
    if (policy == "core") return true;
    throw UsageError("--bind-to expects core or none, not '" + policy + "'");
}
void check_map_by(const std::string& policy) {
    if (policy != "core" && policy != "slot")
        throw UsageError("--map-by expects core (or slot, the same on one machine), not '" +
                         policy + "'");
}

po::options_description describe() {
    po::options_description options("Options");
    // clang-format off
    options.add_options()
        ("np,n", po::value<std::string>(), "number of ranks, 1 to 1024 (default: one per core); -np N and -np4 also work")
        ("export,x", po::value<std::vector<std::string>>()->composing(), "pass NAME, or set NAME=VALUE, in every rank's environment")
        ("tag-output", "prefix each line a rank prints with [rank]")
        ("output-filename", po::value<std::string>(), "write rank r's output to DIR/rank.r/stdout and stderr")
        ("timeout", po::value<std::string>(), "stop the job after SECONDS and exit 124")
        ("grace", po::value<std::string>(), "seconds between SIGTERM and SIGKILL when stopping ranks (default 1)")
        ("bind-to", po::value<std::string>(), "core: pin rank r to the r-th core mprun may use (round-robin when oversubscribed); none: ranks float over all cores (the default)")
        ("map-by", po::value<std::string>(), "core (or slot): place rank r on the r-th core and bind it there, unless --bind-to none")
        ("report-bindings", "print each rank's core, or cores, on stderr")
        ("oversubscribe", "accepted as mpirun's; always true here: more ranks than cores is fine")
        ("host,H", po::value<std::vector<std::string>>(), "refused: mprun runs on this machine only (see the message)")
        ("hostfile", po::value<std::vector<std::string>>(), "refused, as --host")
        ("machinefile", po::value<std::vector<std::string>>(), "refused, as --host")
        ("trace", po::value<std::string>(), "record what every rank does; write it to FILE as Chrome trace JSON (Perfetto, chrome://tracing)")
        ("trace-html", po::value<std::string>(), "record as --trace does; write FILE as an HTML page with a timeline picture")
        ("cleanup", "remove shared memory left by launchers that were killed, then exit")
        ("version", "print the version and exit")
        ("help,h", "print this help and exit");
    // clang-format on
    return options;
}

}  // namespace

std::string help_text() {
    std::ostringstream out;
    out << "usage: mprun [options] [--] program [args...]\n\n"
           "Runs N copies (ranks) of program on this machine, joined by shared memory.\n"
           "Each rank sees SPMD_RANK, SPMD_SIZE and SPMD_JOB (and OMPI_COMM_WORLD_RANK/SIZE,\n"
           "PMI_RANK/SIZE). If a rank fails, the others are stopped and mprun exits with its "
           "code.\n"
           "mpirun's habits work: -np 4, -n4, --oversubscribe (always true here), --bind-to none\n"
           "(the default), a program in the current directory. Programs built against\n"
           "another MPI are refused: rebuild them with spmdcc, or use that MPI's mpirun.\n\n"
        << describe()
        << "\nExit codes: 0 when every rank exits 0; else the first failing rank's code (128 +\n"
           "signal if it was killed); 2 for bad usage; 123 for a deadlock (every live rank\n"
           "blocked waiting on another: mprun prints who waits for whom); 124 after --timeout.\n"
        << "\nExamples:\n"
           "  mprun -n 4 build/bin/hello_barrier\n"
           "  mprun -np 2 --tag-output sh -c 'echo rank $SPMD_RANK'\n"
           "  mprun -n 8 --timeout 60 -x OMP_NUM_THREADS=1 ./my_kernel --size 1000\n"
           "  mprun --cleanup\n";
    return out.str();
}

Options parse_options(int argc, char** argv) {
    // Split at the program: mprun's options come first, everything after is the program's.
    std::vector<std::string> ours;
    Options options;
    int i = 1;
    for (; i < argc; ++i) {
        std::string word = argv[i];
        if (word == "--") {
            ++i;
            break;
        }
        if (word.size() < 2 || word[0] != '-') break;
        if (word == "-np" || word.rfind("-np=", 0) == 0) word.insert(0, "-");  // not "-n p"
        // -np4 as mpirun reads it (Boost would take it for -n p4).
        if (word.size() > 3 && word.rfind("-np", 0) == 0 && std::isdigit((unsigned char)word[3]))
            word = "--np=" + word.substr(3);
        ours.push_back(word);
        if (takes_value(word)) {
            if (i + 1 >= argc) throw UsageError("option '" + word + "' needs a value");
            ours.push_back(argv[++i]);
        }
    }
    for (; i < argc; ++i) options.command.push_back(argv[i]);

    po::variables_map vm;
    try {
        po::store(po::command_line_parser(ours).options(describe()).run(), vm);
    } catch (const po::error& e) {
        // Boost 1.74's what() loops forever when a word holds one of its %placeholders%
        // (found by fuzz/fuzz_mprun_options): say the words ourselves then.
        std::string words;
        for (const auto& w : ours) words += (words.empty() ? "" : " ") + w;
        if (words.find('%') != std::string::npos)
            throw UsageError("cannot read the options '" + words + "' (see mprun --help)");
        throw UsageError(e.what());
    }
    options.help = vm.count("help");
    options.version = vm.count("version");
    options.cleanup = vm.count("cleanup");
    options.tag_output = vm.count("tag-output");
    options.report_bindings = vm.count("report-bindings");
    if (options.help || options.version || options.cleanup) return options;

    for (const char* flag : {"host", "hostfile", "machinefile"})
        if (vm.count(flag))
            throw UsageError(std::string(flag == std::string("host") ? "-H/--" : "--") + flag +
                             ": mprun runs ranks on this machine only; to run across machines, "
                             "build with a real MPI and start with its mpirun");
    if (vm.count("map-by")) {
        check_map_by(vm["map-by"].as<std::string>());
        options.bind_to_core = true;  // as mpirun: mapping by core binds to that core
    }
    if (vm.count("bind-to")) options.bind_to_core = bind_to_core(vm["bind-to"].as<std::string>());

    if (vm.count("np")) options.ranks = parse_ranks(vm["np"].as<std::string>());
    if (vm.count("export")) options.exports = vm["export"].as<std::vector<std::string>>();
    for (const auto& entry : options.exports)
        if (entry.empty() || entry[0] == '=')
            throw UsageError("-x expects NAME or NAME=VALUE, not '" + entry + "'");
    if (vm.count("timeout"))
        options.timeout_seconds =
            parse_seconds("--timeout", vm["timeout"].as<std::string>(), false);
    if (vm.count("grace"))
        options.grace_seconds = parse_seconds("--grace", vm["grace"].as<std::string>(), true);
    if (vm.count("output-filename")) {
        options.output_dir = vm["output-filename"].as<std::string>();
        if (options.output_dir.empty()) throw UsageError("--output-filename needs a directory");
    }
    for (auto [flag, path] :
         {std::pair{"trace", &options.trace_json}, {"trace-html", &options.trace_html}}) {
        if (vm.count(flag) && (*path = vm[flag].as<std::string>()).empty())
            throw UsageError(std::string("--") + flag + " needs a file name");
#ifdef SPMD_NO_TRACE
        if (vm.count(flag))
            throw UsageError(std::string("--") + flag +
                             ": this mprun was built with tracing compiled out (-DSPMD_TRACE=OFF)");
#endif
    }
    if (options.tag_output && !options.output_dir.empty())
        throw UsageError("--tag-output and --output-filename cannot be combined");
    if (options.command.empty())
        throw UsageError("no program to run (usage: mprun -n N program [args...]; see --help)");
    options.program_path = resolve_program(options.command[0]);
    refuse_unrunnable(options.command[0], options.program_path);
    refuse_real_mpi(options.command[0], options.program_path);
    return options;
}

}  // namespace mprun
