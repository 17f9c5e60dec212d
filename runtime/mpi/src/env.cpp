// The environment: MPI_Init attaches the process's World (a world of size 1 without
// mprun) and the engine; errors go to the communicator's handler; MPI_Abort ends the job
// with the caller's code.
#include <errno.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

#include "state.hpp"

namespace spmd::mpi {

// Never destroyed: a program that returns without MPI_Finalize leaves its World open,
// so mprun reports the rank instead of taking it for a clean exit.
State& state() {
    static State* s = new State;
    return *s;
}

void require_initialized() {
    if (!state().initialized) fail(MPI_ERR_OTHER, "called before MPI_Init");
    if (state().finalized) fail(MPI_ERR_OTHER, "called after MPI_Finalize");
}

World& world() {
    return *state().world;
}
Engine& engine() {
    return *state().engine;
}

// A peer failed and the job is stopping: mprun reports the peer; this rank goes quietly.
void aborted_by_peer() {
    std::fflush(nullptr);
    _exit(1);
}

int handle_failure(const char* name, MPI_Comm handler_comm, int code, const std::string& what) {
    MPI_Errhandler handler = MPI_ERRORS_ARE_FATAL;
    if (state().initialized && !state().finalized) {
        const Comm* c = find_comm(handler_comm);
        if (!c) c = find_comm(MPI_COMM_WORLD);
        if (c) handler = c->errhandler;
    }
    if (handler == MPI_ERRORS_RETURN) return code;
    const std::string line = std::string(name) + ": " + what;
    if (state().world && !state().finalized) world().abort(line);  // one line, by mprun
    std::fflush(nullptr);
    std::fprintf(stderr, "%s: %s\n", program_invocation_short_name, line.c_str());
    _exit(1);
}

}  // namespace spmd::mpi

using namespace spmd::mpi;

extern "C" {

int MPI_Init_thread(int* argc, char*** argv, int required, int* provided) {
    return call("MPI_Init", MPI_COMM_WORLD, [&] {
        State& s = state();
        if (s.initialized) fail(MPI_ERR_OTHER, "MPI is already initialised");
        if (s.finalized) fail(MPI_ERR_OTHER, "MPI cannot be initialised again after MPI_Finalize");
        (void)argc;
        (void)argv;
        s.world = std::make_unique<spmd::World>();
        s.engine = std::make_unique<Engine>(*s.world);
        // A rank in a world collective keeps its sends and receives moving, so that a
        // peer blocked in a receive from it (or a send to it) is never stuck behind it.
        Engine* engine = s.engine.get();
        // It is in no receive either: large messages waiting for one are pulled now.
        s.world->set_progress_hook([engine] {
            engine->progress();
            engine->settle_deferred();
        });
        s.initialized = true;
        make_predefined_comms();
        if (provided)
            *provided = required > MPI_THREAD_FUNNELED ? MPI_THREAD_FUNNELED
                        : required < MPI_THREAD_SINGLE ? MPI_THREAD_SINGLE
                                                       : required;
    });
}

int MPI_Init(int* argc, char*** argv) {
    return MPI_Init_thread(argc, argv, MPI_THREAD_SINGLE, nullptr);
}

int MPI_Finalize(void) {
    return call("MPI_Finalize", MPI_COMM_WORLD, [&] {
        require_initialized();
        State& s = state();
        // Sends the program let go of (MPI_Request_free) still have to reach their peers.
        engine().wait_for([&] { return !engine().pending_sends(); });
        world().barrier();
        s.world->set_progress_hook(nullptr);
        free_all_comms();
        s.finalized = true;
        s.engine.reset();
        s.world.reset();
    });
}

int MPI_Initialized(int* flag) {
    *flag = state().initialized;
    return MPI_SUCCESS;
}

int MPI_Finalized(int* flag) {
    *flag = state().finalized;
    return MPI_SUCCESS;
}

// Ends the job with `errorcode` as mprun's exit code: the launcher reports a rank's
// recorded abort with the exit code the rank died with. Exiting before any peer sees
// an abort flag keeps this rank the first failure, so its code is the job's.
int MPI_Abort(MPI_Comm comm, int errorcode) {
    (void)comm;
    std::fflush(nullptr);
    const std::string message = "MPI_Abort with error code " + std::to_string(errorcode);
    State& s = state();
    if (s.world && !s.finalized && std::getenv("SPMD_JOB"))
        s.world->job().record_failure(s.world->rank(), spmd::detail::FailureKind::abort, message);
    else
        std::fprintf(stderr, "%s: %s\n", program_invocation_short_name, message.c_str());
    _exit(errorcode & 0xff);
}

double MPI_Wtime(void) {
    timespec t{};
    clock_gettime(CLOCK_MONOTONIC, &t);
    return double(t.tv_sec) + 1e-9 * double(t.tv_nsec);
}

double MPI_Wtick(void) {
    timespec t{};
    clock_getres(CLOCK_MONOTONIC, &t);
    return double(t.tv_sec) + 1e-9 * double(t.tv_nsec);
}

int MPI_Get_processor_name(char* name, int* resultlen) {
    char host[MPI_MAX_PROCESSOR_NAME] = {};
    if (gethostname(host, sizeof host - 1) != 0) std::strcpy(host, "localhost");
    std::strcpy(name, host);
    *resultlen = int(std::strlen(name));
    return MPI_SUCCESS;
}

int MPI_Get_version(int* version, int* subversion) {
    *version = MPI_VERSION;
    *subversion = MPI_SUBVERSION;
    return MPI_SUCCESS;
}

int MPI_Get_library_version(char* version, int* resultlen) {
    const char* text = "mprun spmd_mpi (MPI 3.1 subset over libspmd)";
    std::strcpy(version, text);
    *resultlen = int(std::strlen(text));
    return MPI_SUCCESS;
}

int MPI_Error_class(int errorcode, int* errorclass) {
    if (errorcode < MPI_SUCCESS || errorcode > MPI_ERR_LASTCODE)
        return handle_failure("MPI_Error_class", MPI_COMM_WORLD, MPI_ERR_ARG,
                              "unknown error code " + std::to_string(errorcode));
    *errorclass = errorcode;
    return MPI_SUCCESS;
}

int MPI_Error_string(int errorcode, char* string, int* resultlen) {
    static const char* const text[] = {
        "MPI_SUCCESS: no error",
        "MPI_ERR_BUFFER: invalid buffer pointer",
        "MPI_ERR_COUNT: invalid count argument",
        "MPI_ERR_TYPE: invalid datatype",
        "MPI_ERR_TAG: invalid tag",
        "MPI_ERR_COMM: invalid communicator",
        "MPI_ERR_RANK: invalid rank",
        "MPI_ERR_REQUEST: invalid request",
        "MPI_ERR_ROOT: invalid root",
        "MPI_ERR_GROUP: invalid group",
        "MPI_ERR_OP: invalid reduce operation",
        "MPI_ERR_TOPOLOGY: invalid communicator topology",
        "MPI_ERR_DIMS: invalid dimension argument",
        "MPI_ERR_ARG: invalid argument of some other kind",
        "MPI_ERR_UNKNOWN: unknown error",
        "MPI_ERR_TRUNCATE: message truncated",
        "MPI_ERR_OTHER: known error not in this list",
        "MPI_ERR_INTERN: internal error",
        "MPI_ERR_IN_STATUS: error code is in status",
        "MPI_ERR_PENDING: pending request",
    };
    if (errorcode < MPI_SUCCESS || errorcode > MPI_ERR_LASTCODE)
        return handle_failure("MPI_Error_string", MPI_COMM_WORLD, MPI_ERR_ARG,
                              "unknown error code " + std::to_string(errorcode));
    std::snprintf(string, MPI_MAX_ERROR_STRING, "%s", text[errorcode]);
    *resultlen = int(std::strlen(string));
    return MPI_SUCCESS;
}

}  // extern "C"
