#include "spmd/cli.hpp"

#include <cstdio>
#include <exception>
#include <optional>
#include <string>

namespace spmd {

int run_cli(std::string_view program, int argc, char** argv,
            const std::function<int(World&)>& body) {
    std::optional<World> world;
    try {
        world.emplace(argc, argv);
    } catch (const std::exception& e) {  // no job to report through: say it here
        std::fprintf(stderr, "%.*s: %s\n", int(program.size()), program.data(), e.what());
        return 1;
    }
    std::string what;
    int code = 1;
    try {
        return body(*world);
    } catch (const Aborted&) {
        return 1;  // a peer failed first: its line is the one the user sees
    } catch (const UsageError& e) {
        what = e.what();
        code = 2;
    } catch (const std::exception& e) {
        what = e.what();
    } catch (...) {
        what = "an exception not derived from std::exception";
    }
    // The body's stack is unwound by now (temporary outputs removed); fail() ends the process.
    world->fail(std::string(program) + ": " + what, code);
}

}  // namespace spmd
