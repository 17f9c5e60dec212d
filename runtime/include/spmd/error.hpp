// The exceptions of the spmd library. Everything the library throws derives from
// spmd::Error, so a CLI can catch one type at main and print its message on one line.
#pragma once
#include <stdexcept>
#include <string>

namespace spmd {

// Base of every error the library reports.
class Error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Bad input from the user: flags, files, sizes. CLIs exit 2 on it.
class UsageError : public Error {
public:
    using Error::Error;
};

// The job is being torn down (a peer died or called abort): every blocking call throws
// this instead of waiting for a peer that will never come.
class Aborted : public Error {
public:
    using Error::Error;
};

// A blocking call waits for ranks that have exited, so it can never end. The message
// names both: "rank 0 waits in barrier for rank 1, which exited with code 0".
class PeerExited : public Error {
public:
    using Error::Error;
};

}  // namespace spmd
