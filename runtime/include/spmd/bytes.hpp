// spmd::bytes: values to bytes and back, for what crosses processes with a size known only
// at run time (World::map's string or vector results, a Pool's task arguments and results).
// A trivially copyable value goes as its bytes; std::string and std::vector<X> as a 64-bit
// count then their items; std::pair and std::tuple member by member.
//   auto b = spmd::bytes::encode(std::tuple{3, std::string("x")});
//   auto [n, s] = spmd::bytes::decode<std::tuple<int, std::string>>(b);
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "spmd/error.hpp"

namespace spmd::bytes {

template <class T>
struct is_vector : std::false_type {};
template <class T, class A>
struct is_vector<std::vector<T, A>> : std::true_type {};
template <class T>
struct is_tuple_like : std::false_type {};
template <class... T>
struct is_tuple_like<std::tuple<T...>> : std::true_type {};
template <class A, class B>
struct is_tuple_like<std::pair<A, B>> : std::true_type {};

template <class T>
constexpr bool encodable() {
    if constexpr (std::is_same_v<T, std::string>)
        return true;
    else if constexpr (is_vector<T>::value)
        return encodable<typename T::value_type>();
    else if constexpr (is_tuple_like<T>::value)
        return []<std::size_t... I>(std::index_sequence<I...>) {
            return (encodable<std::tuple_element_t<I, T>>() && ...);
        }
    (std::make_index_sequence<std::tuple_size_v<T>>{});
    else return std::is_trivially_copyable_v<T> && std::is_default_constructible_v<T>;
}

// What can cross: trivially copyable values, std::string, and vectors, pairs and tuples of
// encodable types. A pointer is trivially copyable but means nothing in another process.
template <class T>
concept Encodable = encodable<std::remove_cvref_t<T>>() &&
    !std::is_pointer_v<std::remove_cvref_t<T>>;

namespace detail {
// resize + memcpy rather than insert: GCC 12 warns falsely (-Wstringop-overflow) on
// inserting a pointer range into a vector that may be empty.
inline void put(std::vector<std::byte>& out, const void* data, std::size_t n) {
    const std::size_t at = out.size();
    out.resize(at + n);
    if (n) std::memcpy(out.data() + at, data, n);
}
}  // namespace detail

template <Encodable T>
void append(std::vector<std::byte>& out, const T& value) {
    if constexpr (std::is_same_v<T, std::string> || is_vector<T>::value) {
        const std::uint64_t count = value.size();
        append(out, count);
        using Item = typename T::value_type;
        if constexpr (std::is_trivially_copyable_v<Item>) {
            detail::put(out, value.data(), count * sizeof(Item));
        } else {
            for (const Item& item : value) append(out, item);
        }
    } else if constexpr (is_tuple_like<T>::value) {
        std::apply([&](const auto&... member) { (append(out, member), ...); }, value);
    } else {
        detail::put(out, &value, sizeof(T));
    }
}

// Reads values back in the order they were appended; running past the end is an
// spmd::Error (the bytes were not made from the type asked for).
class Reader {
public:
    explicit Reader(std::span<const std::byte> data) : data_(data) {}

    template <Encodable T>
    T read() {
        if constexpr (std::is_same_v<T, std::string> || is_vector<T>::value) {
            const auto count = read<std::uint64_t>();
            using Item = typename T::value_type;
            T value;
            if constexpr (std::is_trivially_copyable_v<Item>) {
                if (count > left() / sizeof(Item)) underrun();
                value.resize(count);
                const std::byte* from = take(count * sizeof(Item));
                if (count)
                    std::memcpy(value.data(), from, count * sizeof(Item));  // data() may be null
            } else {
                if (count > left()) underrun();  // each item takes a byte at least
                value.reserve(count);
                for (std::uint64_t i = 0; i < count; ++i) value.push_back(read<Item>());
            }
            return value;
        } else if constexpr (is_tuple_like<T>::value) {
            // Braced initialisation evaluates the reads left to right.
            return [&]<std::size_t... I>(std::index_sequence<I...>) {
                return T{read<std::tuple_element_t<I, T>>()...};
            }
            (std::make_index_sequence<std::tuple_size_v<T>>{});
        } else {
            T value;
            std::memcpy(&value, take(sizeof(T)), sizeof(T));
            return value;
        }
    }

    std::size_t left() const { return data_.size() - at_; }

private:
    const std::byte* take(std::size_t n) {
        if (n > left()) underrun();
        const std::byte* p = data_.data() + at_;
        at_ += n;
        return p;
    }
    [[noreturn]] static void underrun() {
        throw Error("bytes::decode: the data ends early: it was not encoded from this type");
    }

    std::span<const std::byte> data_;
    std::size_t at_ = 0;
};

template <Encodable T>
std::vector<std::byte> encode(const T& value) {
    std::vector<std::byte> out;
    append(out, value);
    return out;
}

// The whole of data must be one T.
template <Encodable T>
T decode(std::span<const std::byte> data) {
    Reader in(data);
    T value = in.template read<T>();
    if (in.left() != 0)
        throw Error("bytes::decode: " + std::to_string(in.left()) +
                    " bytes left over: the data was not encoded from this type");
    return value;
}

}  // namespace spmd::bytes
