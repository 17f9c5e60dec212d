// mprun: start N ranks of a program on this machine, joined by one shared-memory job
// segment; report the first rank that fails, stop the rest, and leave nothing behind.
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include "binding.hpp"
#include "options.hpp"
#include "output.hpp"
#include "spmd/detail/job.hpp"
#include "spmd/detail/segment.hpp"
#include "spmd/detail/supervisor.hpp"
#include "spmd/detail/wait.hpp"
#include "spmd/error.hpp"
#include "trace_files.hpp"
#include "watchdog.hpp"

namespace {

using spmd::detail::Supervisor;

// While a job runs, mprun's messages queue behind the ranks' output: never blocking.
mprun::OutputRouter* active_output = nullptr;

void say(const std::string& line) {
    const std::string text = "mprun: " + line + "\n";
    if (active_output) return active_output->message(text);
    [[maybe_unused]] auto ignored = write(2, text.data(), text.size());
}

struct ActiveOutput {
    explicit ActiveOutput(mprun::OutputRouter& output) { active_output = &output; }
    ~ActiveOutput() { active_output = nullptr; }
};

// Enough descriptors for 2 pipes and a pidfd per rank; ranks get the old limit back.
rlimit raise_fd_limit() {
    rlimit old{};
    getrlimit(RLIMIT_NOFILE, &old);
    rlimit raised = old;
    raised.rlim_cur = old.rlim_max;
    setrlimit(RLIMIT_NOFILE, &raised);
    return old;
}

// stderr_tty: whether mprun's stderr is a terminal, which a rank writing into a pipe
// (--tag-output) cannot see itself; it decides whether the kernels show progress.
[[noreturn]] void exec_rank(const mprun::Options& options, int rank, int size,
                            const std::string& job, const rlimit& fd_limit, bool stderr_tty) {
    const std::string r = std::to_string(rank), n = std::to_string(size);
    for (const auto& [name, value] : {std::pair{"SPMD_JOB", job},
                                      {"SPMD_RANK", r},
                                      {"SPMD_SIZE", n},
                                      {"SPMD_STDERR_TTY", std::string(stderr_tty ? "1" : "0")},
                                      {"OMPI_COMM_WORLD_RANK", r},
                                      {"OMPI_COMM_WORLD_SIZE", n},
                                      {"OMPI_COMM_WORLD_LOCAL_RANK", r},
                                      {"OMPI_COMM_WORLD_LOCAL_SIZE", n},
                                      {"PMI_RANK", r},
                                      {"PMI_SIZE", n}})
        setenv(name, value.c_str(), 1);
    for (const auto& entry : options.exports) {
        const auto eq = entry.find('=');
        if (eq != std::string::npos)
            setenv(entry.substr(0, eq).c_str(), entry.substr(eq + 1).c_str(), 1);
    }
    // stdin goes to rank 0 as with mpirun, unless it is a terminal: a rank leads its own
    // process group, and reading the terminal from there would stop it (SIGTTIN).
    if (rank != 0 || isatty(0)) {
        const int null = open("/dev/null", O_RDONLY);
        dup2(null, 0);
        close(null);
    }
    setrlimit(RLIMIT_NOFILE, &fd_limit);
    std::vector<char*> argv;
    for (const auto& word : options.command) argv.push_back(const_cast<char*>(word.c_str()));
    argv.push_back(nullptr);
    execv(options.program_path.c_str(), argv.data());
    const std::string message = "mprun: rank " + r + " cannot run '" + options.command[0] +
                                "': " + std::strerror(errno) + "\n";
    [[maybe_unused]] auto ignored = write(2, message.data(), message.size());
    _exit(127);
}

int run_job(const mprun::Options& options) {
    const int size = options.ranks > 0 ? options.ranks : spmd::detail::usable_cores();
    for (const auto& entry : options.exports)
        if (entry.find('=') == std::string::npos && !std::getenv(entry.c_str()))
            say("warning: -x " + entry + ": not set in mprun's environment");
    const rlimit fd_limit = raise_fd_limit();

    // Signals arrive through a signalfd in the supervisor's poll loop: no handlers,
    // no threads (PR_SET_PDEATHSIG fires when the forking *thread* exits).
    signal(SIGPIPE, SIG_IGN);
    // An inherited "ignore" would discard these before the signalfd sees them (bash
    // starts background jobs with SIGINT ignored); SIGHUP's is kept, for nohup.
    for (int sig : {SIGINT, SIGTERM, SIGQUIT}) signal(sig, SIG_DFL);
    sigset_t handled;
    sigemptyset(&handled);
    for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT}) sigaddset(&handled, sig);
    sigprocmask(SIG_BLOCK, &handled, nullptr);
    const int signals = signalfd(-1, &handled, SFD_CLOEXEC | SFD_NONBLOCK);
    if (signals < 0) throw spmd::Error(std::string("signalfd: ") + std::strerror(errno));

    const std::string job_name = spmd::detail::new_segment_name();
    mprun::Watchdog watchdog(job_name);
    auto job = spmd::detail::JobSegment::create(size, job_name);
    const spmd::detail::RemoveNamesAtExit remove_names{*job};

    mprun::OutputRouter output(options.tag_output, options.output_dir, size);
    const ActiveOutput messages_through{output};
    std::unique_ptr<mprun::TraceFiles> trace;
    if (!options.trace_json.empty() || !options.trace_html.empty())
        trace = std::make_unique<mprun::TraceFiles>(options.trace_json, options.trace_html, size);
    Supervisor supervisor(job, options.grace_seconds);
    int exit_code = 0;
    supervisor.on_failure = [&](const spmd::detail::Failure& failure) {
        if (exit_code != 0) return;  // already stopping for a signal or the timeout
        exit_code = failure.exit_code;
        if (!failure.line.empty()) {  // the rank's own reason, once; its peers stay quiet
            const std::string text = failure.line + "\n";
            [[maybe_unused]] auto ignored = write(2, text.data(), text.size());
            return;
        }
        // A deadlock's report is the whole line: its cycle is already ";"-separated.
        say(spmd::detail::describe(failure) +
            (size > 1 && failure.rank >= 0 ? "; stopping the other ranks" : ""));
    };
    supervisor.detect_deadlocks();
    int interrupts = 0;
    supervisor.watch(signals, [&] {
        signalfd_siginfo info{};
        while (read(signals, &info, sizeof info) == ssize_t(sizeof info)) {
            const int sig = int(info.ssi_signo);
            if (++interrupts == 1) {
                if (exit_code == 0) exit_code = 128 + sig;
                say("received " + spmd::detail::signal_name(sig) + ", stopping " +
                    std::to_string(supervisor.live()) + " rank(s)");
                supervisor.stop(false, sig == SIGQUIT ? SIGTERM : sig);
            } else {
                say("received " + spmd::detail::signal_name(sig) + " again, killing the ranks");
                supervisor.stop(true);
            }
        }
    });
    if (options.timeout_seconds > 0)
        supervisor.at_deadline(
            spmd::detail::monotonic_ns() + long(options.timeout_seconds * 1e9), [&] {
                if (exit_code == 0) exit_code = 124;
                char seconds[32];
                std::snprintf(seconds, sizeof seconds, "%g", options.timeout_seconds);
                say(std::string("timed out after ") + seconds + " s; stopping " +
                    std::to_string(supervisor.live()) + " rank(s)");
                const long now = spmd::detail::monotonic_ns();
                for (int rank : supervisor.live_ranks())
                    say(spmd::detail::where_is(*job, rank, now));
                supervisor.stop();
            });

    const bool stderr_tty = options.output_dir.empty() && isatty(2) == 1;
    const std::vector<int> cores = mprun::allowed_cores();
    const std::vector<int> binding = mprun::plan_bindings(options.bind_to_core, size, cores);
    for (int rank = 0; rank < size; ++rank) {
        output.before_spawn(rank);
        const pid_t pid = supervisor.spawn(rank, [&] {
            output.in_child(rank);
            mprun::bind_or_exit(rank, binding[std::size_t(rank)]);
            mprun::TraceFiles::export_to_rank(trace.get());
            exec_rank(options, rank, size, job_name, fd_limit, stderr_tty);
        });
        watchdog.guard(pid);
        if (options.report_bindings)
            say(mprun::describe_binding(rank, pid, binding[std::size_t(rank)], cores));
        output.after_spawn(rank, supervisor);
    }
    supervisor.run();
    output.finish(options.grace_seconds, signals);
    for (const auto& later : supervisor.later_failures()) say(spmd::detail::describe(later));
    if (trace && !trace->write() && exit_code == 0) exit_code = 1;
    return exit_code;
}

}  // namespace

int main(int argc, char** argv) {
    mprun::Options options;
    try {
        options = mprun::parse_options(argc, argv);
    } catch (const spmd::Error& e) {
        say(e.what());
        return 2;
    }
    if (options.help) {
        std::fputs(mprun::help_text().c_str(), stdout);
        return 0;
    }
    if (options.version) {
        std::printf("mprun (spmd) %s\n", SPMD_VERSION);
        return 0;
    }
    if (options.cleanup) {
        const int removed = spmd::detail::sweep_stale_segments();
        std::printf("mprun: removed %d stale shared-memory segment(s)\n", removed);
        return 0;
    }
    try {
        spmd::detail::sweep_stale_segments();  // what killed launchers left behind
        return run_job(options);
    } catch (const spmd::UsageError& e) {
        say(e.what());
        return 2;
    } catch (const std::exception& e) {
        say(e.what());
        return 1;
    }
}
