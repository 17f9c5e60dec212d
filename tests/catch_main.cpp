// The one main() every plain test executable shares: Catch2's session, as CATCH_CONFIG_MAIN
// would write it.
#include "catch_session.hpp"

int main(int argc, char* argv[]) {
    return test::run_catch_session(argc, argv);
}
