// Datatypes: the predefined basic and pair types, and MPI_Type_contiguous/vector built
// from them. A type is a list of byte runs inside one element; sends of a strided type
// pack it into one contiguous buffer and receives unpack it.
#include <wchar.h>

#include <cstddef>
#include <cstring>

#include "state.hpp"

namespace spmd::mpi {

namespace {

void add_run(std::vector<Run>& runs, std::size_t offset, std::size_t length) {
    if (!length) return;
    if (!runs.empty() && runs.back().offset + runs.back().length == offset)
        runs.back().length += length;
    else
        runs.push_back({offset, length});
}

// A value-index pair as C lays it out in the user's memory, padding included.
template <class V>
struct CPair {
    V value;
    int index;
};

// The pair types are defined as structs of a value and an int (the standard's MINLOC and
// MAXLOC section), so their size counts the two members and their extent is the C
// struct's: MPI_DOUBLE_INT has size 12 and extent 16, as in other MPIs. Where C pads the
// struct, the type is strided and travels packed (reductions work on it packed: ops.hpp).
template <class V>
void set_pair_layout(Datatype& t) {
    t.extent = sizeof(CPair<V>);
    t.runs.clear();
    add_run(t.runs, 0, sizeof(V));
    add_run(t.runs, offsetof(CPair<V>, index), sizeof(int));
    t.contiguous = t.size == t.extent;
}

// Sizes of the predefined types, by handle.
std::size_t predefined_size(int handle) {
    switch (handle) {
        case MPI_CHAR:
            return sizeof(char);
        case MPI_SIGNED_CHAR:
            return sizeof(signed char);
        case MPI_UNSIGNED_CHAR:
            return sizeof(unsigned char);
        case MPI_BYTE:
            return 1;
        case MPI_WCHAR:
            return sizeof(wchar_t);
        case MPI_SHORT:
            return sizeof(short);
        case MPI_UNSIGNED_SHORT:
            return sizeof(unsigned short);
        case MPI_INT:
            return sizeof(int);
        case MPI_UNSIGNED:
            return sizeof(unsigned);
        case MPI_LONG:
            return sizeof(long);
        case MPI_UNSIGNED_LONG:
            return sizeof(unsigned long);
        case MPI_LONG_LONG_INT:
            return sizeof(long long);
        case MPI_UNSIGNED_LONG_LONG:
            return sizeof(unsigned long long);
        case MPI_FLOAT:
            return sizeof(float);
        case MPI_DOUBLE:
            return sizeof(double);
        case MPI_LONG_DOUBLE:
            return sizeof(long double);
        case MPI_C_BOOL:
            return sizeof(bool);
        case MPI_INT8_T:
            return 1;
        case MPI_INT16_T:
            return 2;
        case MPI_INT32_T:
            return 4;
        case MPI_INT64_T:
            return 8;
        case MPI_UINT8_T:
            return 1;
        case MPI_UINT16_T:
            return 2;
        case MPI_UINT32_T:
            return 4;
        case MPI_UINT64_T:
            return 8;
        case MPI_2INT:
            return sizeof(int) + sizeof(int);
        case MPI_FLOAT_INT:
            return sizeof(float) + sizeof(int);
        case MPI_DOUBLE_INT:
            return sizeof(double) + sizeof(int);
        case MPI_LONG_INT:
            return sizeof(long) + sizeof(int);
        case MPI_SHORT_INT:
            return sizeof(short) + sizeof(int);
        case MPI_LONG_DOUBLE_INT:
            return sizeof(long double) + sizeof(int);
        default:
            return 0;
    }
}

void set_pair_layout_of(int handle, Datatype& t) {
    switch (handle) {
        case MPI_2INT:
            return set_pair_layout<int>(t);
        case MPI_FLOAT_INT:
            return set_pair_layout<float>(t);
        case MPI_DOUBLE_INT:
            return set_pair_layout<double>(t);
        case MPI_LONG_INT:
            return set_pair_layout<long>(t);
        case MPI_SHORT_INT:
            return set_pair_layout<short>(t);
        case MPI_LONG_DOUBLE_INT:
            return set_pair_layout<long double>(t);
        default:
            return;  // a basic type: one run, its size
    }
}

constexpr int first_user_type = 64;

struct Types {
    std::vector<std::shared_ptr<const Datatype>> table;
    Types() {
        table.resize(first_user_type);
        for (int h = 1; h <= MPI_LONG_DOUBLE_INT; ++h) {
            auto t = std::make_shared<Datatype>();
            t->size = t->extent = predefined_size(h);
            t->runs = {{0, t->size}};
            t->basic = h;
            t->basics = 1;
            t->predefined = true;
            set_pair_layout_of(h, *t);
            table[std::size_t(h)] = t;
        }
    }
    MPI_Datatype add(std::shared_ptr<const Datatype> t) {
        for (std::size_t h = first_user_type; h < table.size(); ++h)
            if (!table[h]) {
                table[h] = std::move(t);
                return MPI_Datatype(h);
            }
        table.push_back(std::move(t));
        return MPI_Datatype(table.size() - 1);
    }
};

Types& types() {
    static Types t;
    return t;
}

// A type made of `blocks` blocks of `block` elements of old, block i starting `stride`
// old extents after block i - 1 (contiguous: one block).
std::shared_ptr<Datatype> strided(const Datatype& old, std::size_t blocks, std::size_t block,
                                  std::size_t stride) {
    auto t = std::make_shared<Datatype>();
    t->basic = old.basic;
    t->basics = old.basics * blocks * block;
    t->size = old.size * blocks * block;
    t->extent = blocks == 0 ? 0 : ((blocks - 1) * stride + block) * old.extent;
    for (std::size_t i = 0; i < blocks; ++i)
        for (std::size_t j = 0; j < block; ++j)
            for (const Run& r : old.runs)
                add_run(t->runs, (i * stride + j) * old.extent + r.offset, r.length);
    t->contiguous = t->runs.size() <= 1 && t->size == t->extent;
    t->committed = false;
    return t;
}

MPI_Datatype checked_handle(MPI_Datatype h) {
    datatype(h);
    return h;
}

}  // namespace

std::size_t basic_size(int basic) {
    return predefined_size(basic);
}

const std::shared_ptr<const Datatype>& datatype(MPI_Datatype handle) {
    auto& table = types().table;
    if (handle == MPI_DATATYPE_NULL) fail(MPI_ERR_TYPE, "the datatype is MPI_DATATYPE_NULL");
    if (handle < 0 || std::size_t(handle) >= table.size() || !table[std::size_t(handle)])
        fail(MPI_ERR_TYPE, "unknown datatype handle " + std::to_string(handle));
    return table[std::size_t(handle)];
}

void pack(const Datatype& type, std::size_t count, const void* from, std::byte* to) {
    const auto* in = static_cast<const std::byte*>(from);
    for (std::size_t i = 0; i < count; ++i)
        for (const Run& r : type.runs) {
            std::memcpy(to, in + i * type.extent + r.offset, r.length);
            to += r.length;
        }
}

void unpack(const Datatype& type, std::size_t count, const std::byte* from, std::size_t bytes,
            void* to) {
    auto* out = static_cast<std::byte*>(to);
    for (std::size_t i = 0; i < count && bytes; ++i)
        for (const Run& r : type.runs) {
            const std::size_t n = std::min(r.length, bytes);
            std::memcpy(out + i * type.extent + r.offset, from, n);
            from += n;
            bytes -= n;
            if (!bytes) return;
        }
}

}  // namespace spmd::mpi

using namespace spmd::mpi;

extern "C" {

int MPI_Type_size(MPI_Datatype type, int* size) {
    return call("MPI_Type_size", MPI_COMM_WORLD, [&] { *size = int(datatype(type)->size); });
}

int MPI_Type_contiguous(int count, MPI_Datatype oldtype, MPI_Datatype* newtype) {
    return call("MPI_Type_contiguous", MPI_COMM_WORLD, [&] {
        if (count < 0) fail(MPI_ERR_COUNT, "count " + std::to_string(count) + " is negative");
        const auto old = datatype(oldtype);
        *newtype = types().add(strided(*old, 1, std::size_t(count), 1));
    });
}

int MPI_Type_vector(int count, int blocklength, int stride, MPI_Datatype oldtype,
                    MPI_Datatype* newtype) {
    return call("MPI_Type_vector", MPI_COMM_WORLD, [&] {
        if (count < 0) fail(MPI_ERR_COUNT, "count " + std::to_string(count) + " is negative");
        if (blocklength < 0)
            fail(MPI_ERR_ARG, "block length " + std::to_string(blocklength) + " is negative");
        if (stride < 0)
            fail(MPI_ERR_ARG, "stride " + std::to_string(stride) +
                                  " is negative (negative strides are not supported)");
        const auto old = datatype(oldtype);
        *newtype = types().add(
            strided(*old, std::size_t(count), std::size_t(blocklength), std::size_t(stride)));
    });
}

int MPI_Type_commit(MPI_Datatype* type) {
    return call("MPI_Type_commit", MPI_COMM_WORLD, [&] {
        auto t = datatype(*type);
        if (!t->predefined) const_cast<Datatype&>(*t).committed = true;
    });
}

int MPI_Type_free(MPI_Datatype* type) {
    return call("MPI_Type_free", MPI_COMM_WORLD, [&] {
        if (datatype(*type)->predefined)
            fail(MPI_ERR_TYPE, "a predefined datatype cannot be freed");
        types().table[std::size_t(*type)].reset();  // pending operations hold their own copy
        *type = MPI_DATATYPE_NULL;
    });
}

int MPI_Get_count(const MPI_Status* status, MPI_Datatype type, int* count) {
    return call("MPI_Get_count", MPI_COMM_WORLD, [&] {
        const std::size_t size = datatype(checked_handle(type))->size;
        const auto bytes = std::size_t(status->spmd_bytes);
        if (size == 0)
            *count = 0;
        else
            *count = bytes % size ? MPI_UNDEFINED : int(bytes / size);
    });
}

}  // extern "C"
