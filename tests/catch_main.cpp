// The one main() every test executable shares (built once as an object library).
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
