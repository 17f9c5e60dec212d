// The pass that builds a map's result vector (map.hpp): std::vector's range constructor
// writes element i from *it in order, and the iterator hands it the result of i from the
// block i is in. A free block the builder takes and computes right there (so a result the
// reader computes itself is written once, into its own vector, with no zero-fill and no
// copy); a block another rank took, it waits for and copies from the scratch array.
#pragma once
#include <cstddef>
#include <iterator>
#include <stdexcept>

#include "spmd/detail/map_blocks.hpp"

namespace spmd::detail {

template <class R, class F, class Body>
class MapBuilder {
public:
    // `share`: the other ranks read the results too, so computed ones also go to scratch.
    MapBuilder(MapBlocks& blocks, R* scratch, F& fn, Body& body, bool share)
        : blocks_(blocks), scratch_(scratch), fn_(fn), body_(body), share_(share) {}

    R at(std::size_t i) {
        if (i - begin_ >= length_) [[unlikely]]
            enter(i);
        if (!computing_) return scratch_[i];
        R value = fn_(i);
        if (share_) scratch_[i] = value;
        return value;
    }

    // After the last result: the block being computed is done.
    void close() {
        if (computing_) blocks_.finish(block_);
        computing_ = false;
    }

    class iterator {
    public:
        using iterator_category = std::random_access_iterator_tag;
        using value_type = R;
        using difference_type = std::ptrdiff_t;
        using pointer = void;
        using reference = R;  // made, not stored: read each element once, in order

        iterator() = default;
        iterator(MapBuilder* builder, std::size_t i) : builder_(builder), i_(i) {}
        R operator*() const { return builder_->at(i_); }
        R operator[](difference_type k) const { return builder_->at(i_ + std::size_t(k)); }
        iterator& operator++() { return ++i_, *this; }
        iterator operator++(int) { return {builder_, i_++}; }
        iterator& operator--() { return --i_, *this; }
        iterator operator--(int) { return {builder_, i_--}; }
        iterator& operator+=(difference_type k) { return i_ += std::size_t(k), *this; }
        iterator& operator-=(difference_type k) { return i_ -= std::size_t(k), *this; }
        friend iterator operator+(iterator it, difference_type k) { return it += k; }
        friend iterator operator+(difference_type k, iterator it) { return it += k; }
        friend iterator operator-(iterator it, difference_type k) { return it -= k; }
        friend difference_type operator-(const iterator& a, const iterator& b) {
            return difference_type(a.i_) - difference_type(b.i_);
        }
        friend bool operator==(const iterator& a, const iterator& b) { return a.i_ == b.i_; }
        friend auto operator<=>(const iterator& a, const iterator& b) { return a.i_ <=> b.i_; }

    private:
        MapBuilder* builder_ = nullptr;
        std::size_t i_ = 0;
    };
    iterator begin() { return {this, 0}; }
    iterator end() { return {this, blocks_.plan().n}; }

private:
    // i is the first index of the next block (results are read in order, once each).
    void enter(std::size_t i) {
        if (i != begin_ + length_) throw std::logic_error("World::map: results read out of order");
        close();
        const BlockPlan& plan = blocks_.plan();
        block_ = i / plan.size;
        computing_ = blocks_.claim(block_);
        if (!computing_) blocks_.await(block_, body_);
        begin_ = plan.begin(block_);
        length_ = plan.end(block_) - begin_;
    }

    MapBlocks& blocks_;
    R* scratch_;
    F& fn_;
    Body& body_;
    bool share_;
    bool computing_ = false;
    std::size_t block_ = 0;
    std::size_t begin_ = 0, length_ = 0;  // the indices of the current block
};

}  // namespace spmd::detail
