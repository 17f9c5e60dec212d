// Point-to-point messages between ranks, as MPI's send/recv: World::send(dest, tag, data)
// and World::recv(source, tag, data), with spmd::any_source and spmd::any_tag. Messages
// from one rank with one tag arrive in the order they were sent; any size is fine.
#pragma once
#include <cstddef>

namespace spmd {

inline constexpr int any_source = -1;
inline constexpr int any_tag = -1;

// What recv and probe report about the message they matched.
struct Status {
    int source = -1;
    int tag = -1;
    std::size_t bytes = 0;
    template <class T>
    std::size_t count() const {
        return bytes / sizeof(T);
    }
};

}  // namespace spmd
