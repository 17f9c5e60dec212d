// Collective operations on spans of trivially copyable values, as MPI's: broadcast,
// reduce, all_reduce, gather, all_gather, scatter, and max_loc/min_loc. Every rank calls
// them in the same order with the same counts. They move data through scratch memory in
// the job's segment: a rank writes its part, a barrier, then ranks read what they need.
// all_reduce of long arrays is a reduce-scatter then an all-gather, so each rank reduces
// 1/N of the elements; of up to 56 bytes, it goes through the ranks' barrier-flag lines
// with no barrier (docs/design.md, "The barrier"). The combining order is always rank
// 0, 1, ..., N-1, so every rank gets bitwise the same result. User functions must be
// associative.
#pragma once
#include <cstddef>
#include <functional>
#include <type_traits>

namespace spmd {

enum class Op { sum, prod, min, max };

// A value and where it lives: the rank, and (for spans) the index in that rank's span.
template <class T>
struct Located {
    T value{};
    int rank = 0;
    std::size_t index = 0;
};

namespace detail {
// acc[i] = fn(acc[i], in[i]) for i < count, fn being a const F*.
using Combine = void (*)(void* acc, const void* in, std::size_t count, const void* fn);

template <class T, class F>
void combine_with(void* acc, const void* in, std::size_t count, const void* fn) {
    auto* a = static_cast<T*>(acc);
    const auto* b = static_cast<const T*>(in);
    const F& f = *static_cast<const F*>(fn);
    for (std::size_t i = 0; i < count; ++i) a[i] = f(a[i], b[i]);
}

struct Min {
    template <class T>
    T operator()(const T& a, const T& b) const {
        return b < a ? b : a;
    }
};
struct Max {
    template <class T>
    T operator()(const T& a, const T& b) const {
        return a < b ? b : a;
    }
};

// Calls visit(function object) for one of the built-in operations.
template <class T, class Visit>
decltype(auto) with_op(Op op, Visit&& visit) {
    switch (op) {
        case Op::sum:
            return visit(std::plus<T>{});
        case Op::prod:
            return visit(std::multiplies<T>{});
        case Op::min:
            return visit(Min{});
        case Op::max:
            break;
    }
    return visit(Max{});
}
}  // namespace detail

}  // namespace spmd
