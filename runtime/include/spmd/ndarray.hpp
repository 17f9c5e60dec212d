// spmd::NdArray<T>: a shared array with a shape, in C order (the last index varies
// fastest), as numpy's default. Made collectively by World::shared<T>(name, {rows, cols});
// a(i, j) indexes, a.row(i) is the i-th sub-array along the first axis as a span, and
// spmd::npy::save / load_into take the shape from the array.
//   auto d = world.shared<double>("D", {n, n});
//   for (std::size_t j = 0; j < n; ++j) d(i, j) = dist(i, j);
//   if (world.rank() == 0) spmd::npy::save("D.npy", d);
#pragma once
#include <cstddef>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include "spmd/error.hpp"
#include "spmd/npy.hpp"
#include "spmd/shared_array.hpp"

namespace spmd {

// The number of items of a shape; an spmd::Error naming `what` if it overflows.
inline std::size_t shape_count(const std::vector<std::size_t>& shape, const std::string& what) {
    std::size_t count = 1;
    for (std::size_t extent : shape) {
        if (extent != 0 && count > std::numeric_limits<std::size_t>::max() / extent)
            throw Error(what + ": the shape's item count overflows");
        count *= extent;
    }
    return count;
}

template <class T>
class NdArray {
public:
    NdArray() = default;
    NdArray(SharedArray<T> items, std::vector<std::size_t> shape)
        : items_(std::move(items)), shape_(std::move(shape)), strides_(shape_.size(), 1) {
        for (std::size_t k = shape_.size(); k-- > 1;) strides_[k - 1] = strides_[k] * shape_[k];
    }

    const std::vector<std::size_t>& shape() const { return shape_; }
    // In items, not bytes (numpy's strides are bytes: multiply by sizeof(T)).
    const std::vector<std::size_t>& strides() const { return strides_; }
    std::size_t ndim() const { return shape_.size(); }
    std::size_t size() const { return items_.size(); }
    T* data() const { return items_.data(); }
    std::span<T> span() const { return items_.span(); }
    T* begin() const { return items_.begin(); }
    T* end() const { return items_.end(); }
    const SharedArray<T>& flat() const { return items_; }

    // Unchecked, as a raw array: one index per axis.
    template <class... I>
    T& operator()(I... index) const {
        std::size_t at = 0, k = 0;
        ((at += std::size_t(index) * strides_[k++]), ...);
        return items_.data()[at];
    }
    // Checked: the index count and every index against the shape, else spmd::Error.
    template <class... I>
    T& at(I... index) const {
        if (sizeof...(I) != shape_.size())
            throw Error("NdArray::at: " + std::to_string(sizeof...(I)) +
                        " indices for an array of " + std::to_string(shape_.size()) +
                        " dimensions");
        std::size_t k = 0;
        auto check = [&](std::size_t i) {
            if (i >= shape_[k])
                throw Error("NdArray::at: index " + std::to_string(i) +
                            " is out of range for axis " + std::to_string(k) + " of extent " +
                            std::to_string(shape_[k]));
            ++k;
        };
        (check(std::size_t(index)), ...);
        return (*this)(index...);
    }
    // The i-th sub-array along the first axis, flattened in C order (a row of a matrix).
    std::span<T> row(std::size_t i) const {
        const std::size_t n = shape_.empty() ? 1 : strides_[0];
        return {items_.data() + i * n, n};
    }

private:
    SharedArray<T> items_;
    std::vector<std::size_t> shape_;
    std::vector<std::size_t> strides_;
};

namespace npy {
// Writes the array with its own shape.
template <class T>
void save(const std::string& path, const NdArray<T>& array) {
    save(path, std::span<const T>(array.data(), array.size()), array.shape());
}
// Reads `path` into the array, widening like load_as; the file's shape must be the array's.
template <class T>
void load_into(const std::string& path, const NdArray<T>& array) {
    const Header header = read_header(path);
    if (header.shape != array.shape()) {
        auto text = [](const std::vector<std::size_t>& shape) {
            std::string s = "(";
            for (std::size_t k = 0; k < shape.size(); ++k)
                s += (k ? ", " : "") + std::to_string(shape[k]);
            return s + (shape.size() == 1 ? ",)" : ")");
        };
        throw FormatError(path + ": shape " + text(header.shape) + " does not match the array's " +
                          text(array.shape()));
    }
    load_into(path, header, array.span());
}
}  // namespace npy

}  // namespace spmd
