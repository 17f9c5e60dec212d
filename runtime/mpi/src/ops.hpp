// The predefined reduction operations as function objects over C types, and a dispatcher
// from (basic datatype, op) to them: shared by the element loops of ops.cpp and by the
// fast path that hands MPI_COMM_WORLD's reductions to World's collectives.
#pragma once
#include <wchar.h>

#include <cstdint>

#include "mpi.h"

namespace spmd::mpi::ops {

// A value-index pair as it travels and is reduced: packed, without C's padding (an
// MPI_DOUBLE_INT is 12 bytes, its type's size; datatype.cpp packs and unpacks it).
template <class V>
struct __attribute__((packed)) Pair {
    V value;
    int index;
};
static_assert(sizeof(Pair<double>) == sizeof(double) + sizeof(int));

struct Sum {
    template <class T>
    T operator()(T a, T b) const {
        return T(a + b);
    }
};
struct Prod {
    template <class T>
    T operator()(T a, T b) const {
        return T(a * b);
    }
};
struct Min {
    template <class T>
    T operator()(T a, T b) const {
        return b < a ? b : a;
    }
};
struct Max {
    template <class T>
    T operator()(T a, T b) const {
        return a < b ? b : a;
    }
};
struct Land {
    template <class T>
    T operator()(T a, T b) const {
        return T(a && b);
    }
};
struct Lor {
    template <class T>
    T operator()(T a, T b) const {
        return T(a || b);
    }
};
struct Lxor {
    template <class T>
    T operator()(T a, T b) const {
        return T(!a != !b);
    }
};
struct Band {
    template <class T>
    T operator()(T a, T b) const {
        return T(a & b);
    }
};
struct Bor {
    template <class T>
    T operator()(T a, T b) const {
        return T(a | b);
    }
};
struct Bxor {
    template <class T>
    T operator()(T a, T b) const {
        return T(a ^ b);
    }
};
// a is the lower ranks' value: on equal values the lower index wins.
struct MaxLoc {
    template <class P>
    P operator()(P a, P b) const {
        if (a.value != b.value) return a.value < b.value ? b : a;
        return b.index < a.index ? b : a;
    }
};
struct MinLoc {
    template <class P>
    P operator()(P a, P b) const {
        if (a.value != b.value) return b.value < a.value ? b : a;
        return b.index < a.index ? b : a;
    }
};

enum class Kind { integer, floating, boolean, byte, pair };

// Calls visit.template operator()<T>(fn) for the C type T of `basic` and the function
// object of `op`; returns false if MPI does not define op on that type.
template <class T, class Visit>
bool visit_op(Kind kind, MPI_Op op, Visit& visit) {
    const bool arithmetic = kind == Kind::integer || kind == Kind::floating;
    const bool logical = kind == Kind::integer || kind == Kind::boolean;
    const bool bitwise = kind == Kind::integer || kind == Kind::byte;
    if constexpr (requires(T a) { a.index; }) {
        if (op == MPI_MAXLOC) return visit.template operator()<T>(MaxLoc{}), true;
        if (op == MPI_MINLOC) return visit.template operator()<T>(MinLoc{}), true;
        return false;
    } else {
        switch (op) {
            case MPI_SUM:
                if (arithmetic) return visit.template operator()<T>(Sum{}), true;
                break;
            case MPI_PROD:
                if (arithmetic) return visit.template operator()<T>(Prod{}), true;
                break;
            case MPI_MIN:
                if (arithmetic) return visit.template operator()<T>(Min{}), true;
                break;
            case MPI_MAX:
                if (arithmetic) return visit.template operator()<T>(Max{}), true;
                break;
            case MPI_LAND:
                if (logical) return visit.template operator()<T>(Land{}), true;
                break;
            case MPI_LOR:
                if (logical) return visit.template operator()<T>(Lor{}), true;
                break;
            case MPI_LXOR:
                if (logical) return visit.template operator()<T>(Lxor{}), true;
                break;
            case MPI_BAND:
                if constexpr (requires(T a) { a& a; })
                    if (bitwise) return visit.template operator()<T>(Band{}), true;
                break;
            case MPI_BOR:
                if constexpr (requires(T a) { a | a; })
                    if (bitwise) return visit.template operator()<T>(Bor{}), true;
                break;
            case MPI_BXOR:
                if constexpr (requires(T a) { a ^ a; })
                    if (bitwise) return visit.template operator()<T>(Bxor{}), true;
                break;
            default:
                break;
        }
        return false;
    }
}

template <class Visit>
bool with_builtin(int basic, MPI_Op op, Visit&& visit) {
    switch (basic) {
        case MPI_CHAR:
            return visit_op<char>(Kind::integer, op, visit);
        case MPI_SIGNED_CHAR:
            return visit_op<signed char>(Kind::integer, op, visit);
        case MPI_UNSIGNED_CHAR:
            return visit_op<unsigned char>(Kind::integer, op, visit);
        case MPI_BYTE:
            return visit_op<unsigned char>(Kind::byte, op, visit);
        case MPI_WCHAR:
            return visit_op<wchar_t>(Kind::integer, op, visit);
        case MPI_SHORT:
            return visit_op<short>(Kind::integer, op, visit);
        case MPI_UNSIGNED_SHORT:
            return visit_op<unsigned short>(Kind::integer, op, visit);
        case MPI_INT:
            return visit_op<int>(Kind::integer, op, visit);
        case MPI_UNSIGNED:
            return visit_op<unsigned>(Kind::integer, op, visit);
        case MPI_LONG:
            return visit_op<long>(Kind::integer, op, visit);
        case MPI_UNSIGNED_LONG:
            return visit_op<unsigned long>(Kind::integer, op, visit);
        case MPI_LONG_LONG_INT:
            return visit_op<long long>(Kind::integer, op, visit);
        case MPI_UNSIGNED_LONG_LONG:
            return visit_op<unsigned long long>(Kind::integer, op, visit);
        case MPI_FLOAT:
            return visit_op<float>(Kind::floating, op, visit);
        case MPI_DOUBLE:
            return visit_op<double>(Kind::floating, op, visit);
        case MPI_LONG_DOUBLE:
            return visit_op<long double>(Kind::floating, op, visit);
        case MPI_C_BOOL:
            return visit_op<bool>(Kind::boolean, op, visit);
        case MPI_INT8_T:
            return visit_op<std::int8_t>(Kind::integer, op, visit);
        case MPI_INT16_T:
            return visit_op<std::int16_t>(Kind::integer, op, visit);
        case MPI_INT32_T:
            return visit_op<std::int32_t>(Kind::integer, op, visit);
        case MPI_INT64_T:
            return visit_op<std::int64_t>(Kind::integer, op, visit);
        case MPI_UINT8_T:
            return visit_op<std::uint8_t>(Kind::integer, op, visit);
        case MPI_UINT16_T:
            return visit_op<std::uint16_t>(Kind::integer, op, visit);
        case MPI_UINT32_T:
            return visit_op<std::uint32_t>(Kind::integer, op, visit);
        case MPI_UINT64_T:
            return visit_op<std::uint64_t>(Kind::integer, op, visit);
        case MPI_2INT:
            return visit_op<Pair<int>>(Kind::pair, op, visit);
        case MPI_FLOAT_INT:
            return visit_op<Pair<float>>(Kind::pair, op, visit);
        case MPI_DOUBLE_INT:
            return visit_op<Pair<double>>(Kind::pair, op, visit);
        case MPI_LONG_INT:
            return visit_op<Pair<long>>(Kind::pair, op, visit);
        case MPI_SHORT_INT:
            return visit_op<Pair<short>>(Kind::pair, op, visit);
        case MPI_LONG_DOUBLE_INT:
            return visit_op<Pair<long double>>(Kind::pair, op, visit);
        default:
            return false;
    }
}

}  // namespace spmd::mpi::ops
