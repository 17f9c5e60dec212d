// Reduction operations: the predefined ones (ops.hpp) and user functions from
// MPI_Op_create, applied element by element as right = left op right.
#include "ops.hpp"

#include <cstring>
#include <vector>

#include "state.hpp"

namespace spmd::mpi {

namespace {

struct UserOp {
    MPI_User_function* fn;
    bool commute;
};
constexpr int first_user_op = 32;
std::vector<UserOp>& user_ops() {
    static std::vector<UserOp> table;
    return table;
}
const UserOp* find_user(MPI_Op op) {
    const auto i = std::size_t(op - first_user_op);
    if (op < first_user_op || i >= user_ops().size() || !user_ops()[i].fn) return nullptr;
    return &user_ops()[i];
}

const char* op_name(MPI_Op op) {
    static const char* const names[] = {
        "MPI_OP_NULL", "MPI_MAX", "MPI_MIN",  "MPI_SUM",  "MPI_PROD",   "MPI_LAND",  "MPI_BAND",
        "MPI_LOR",     "MPI_BOR", "MPI_LXOR", "MPI_BXOR", "MPI_MAXLOC", "MPI_MINLOC"};
    return op >= 0 && op <= MPI_MINLOC ? names[op] : "a user operation";
}

}  // namespace

bool is_builtin(MPI_Op op) {
    return op >= MPI_MAX && op <= MPI_MINLOC;
}

bool commutative(MPI_Op op) {
    const UserOp* u = find_user(op);
    return u ? u->commute : true;
}

void check_op(MPI_Op op, const Datatype& type) {
    if (find_user(op)) {
        // A user function is handed the data in the type's own layout; strided types
        // travel packed, so they are left out, but for the padded pair types (combine).
        if (!type.contiguous && !type.predefined)
            fail(MPI_ERR_TYPE, "user operations on strided datatypes are not supported");
        return;
    }
    if (!is_builtin(op)) fail(MPI_ERR_OP, "unknown operation handle " + std::to_string(op));
    if (!ops::with_builtin(type.basic, op, [&]<class T>(auto) {}))
        fail(MPI_ERR_OP, std::string(op_name(op)) + " is not defined on this datatype");
}

void combine(MPI_Op op, int basic, MPI_Datatype type, const void* left, void* right,
             std::size_t basics, std::size_t count) {
    if (const UserOp* u = find_user(op)) {
        int len = int(count);
        const Datatype& t = *datatype(type);
        if (t.contiguous) return u->fn(const_cast<void*>(left), right, &len, &type);
        // A padded pair type (MPI_DOUBLE_INT): the function sees C's struct layout.
        std::vector<std::byte> l(count * t.extent), r(count * t.extent);
        unpack(t, count, static_cast<const std::byte*>(left), count * t.size, l.data());
        unpack(t, count, static_cast<const std::byte*>(right), count * t.size, r.data());
        u->fn(l.data(), r.data(), &len, &type);
        pack(t, count, r.data(), static_cast<std::byte*>(right));
        return;
    }
    ops::with_builtin(basic, op, [&]<class T>(auto fn) {
        const auto* a = static_cast<const T*>(left);
        auto* b = static_cast<T*>(right);
        for (std::size_t i = 0; i < basics; ++i) b[i] = fn(a[i], b[i]);
    });
}

}  // namespace spmd::mpi

using namespace spmd::mpi;

extern "C" {

int MPI_Op_create(MPI_User_function* user_fn, int commute, MPI_Op* op) {
    return call("MPI_Op_create", MPI_COMM_WORLD, [&] {
        if (!user_fn) fail(MPI_ERR_ARG, "the user function is NULL");
        auto& table = user_ops();
        std::size_t i = 0;
        while (i < table.size() && table[i].fn) ++i;
        if (i == table.size()) table.push_back({});
        table[i] = {user_fn, commute != 0};
        *op = MPI_Op(first_user_op + int(i));
    });
}

int MPI_Op_free(MPI_Op* op) {
    return call("MPI_Op_free", MPI_COMM_WORLD, [&] {
        if (is_builtin(*op)) fail(MPI_ERR_OP, "a predefined operation cannot be freed");
        if (!find_user(*op)) fail(MPI_ERR_OP, "unknown operation handle " + std::to_string(*op));
        user_ops()[std::size_t(*op - first_user_op)] = {};
        *op = MPI_OP_NULL;
    });
}

}  // extern "C"
