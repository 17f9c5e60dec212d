// BestK: the k best (distance, index) pairs seen so far, as a nanoflann result set with
// buffers reused from query to query. Pairs are ordered by distance, then by index, so
// equal distances resolve to the lower index whatever order the tree visits points in.
#pragma once
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

namespace spmd::knn::detail {

class BestK {
public:
    // Only distances strictly below `bound` are kept (scipy's distance_upper_bound).
    BestK(std::size_t k, double bound) : k_(k), bound_(bound), dist_(k), index_(k) { reset(); }

    void reset() {
        count_ = 0;
        worst_ = bound_;
    }

    std::size_t size() const { return count_; }
    bool full() const { return count_ == k_; }
    double distance(std::size_t i) const { return dist_[i]; }
    std::uint32_t index(std::size_t i) const { return index_[i]; }

    // nanoflann offers a point only if its distance is below worstDist(), and visits a
    // cell only if its bound is at most worstDist(). Once full we answer one ulp above
    // the k-th distance, so a point tying with it still reaches addPoint and can win on
    // its index; the cost is a few extra cell visits at exactly that distance.
    double worstDist() const { return worst_; }

    bool addPoint(double dist, std::uint32_t index) {
        if (count_ == k_) {
            if (!before(dist, index, k_ - 1)) return true;
            --count_;  // the k-th pair drops out
        } else if (!(dist < bound_)) {
            return true;
        }
        std::size_t i = count_;
        for (; i > 0 && before(dist, index, i - 1); --i) {
            dist_[i] = dist_[i - 1];
            index_[i] = index_[i - 1];
        }
        dist_[i] = dist;
        index_[i] = index;
        if (++count_ == k_)
            worst_ = std::nextafter(dist_[k_ - 1], std::numeric_limits<double>::infinity());
        return true;  // keep searching
    }

private:
    bool before(double dist, std::uint32_t index, std::size_t i) const {
        return dist < dist_[i] || (dist == dist_[i] && index < index_[i]);
    }

    std::size_t k_;
    double bound_;
    double worst_ = 0.0;
    std::size_t count_ = 0;
    std::vector<double> dist_;
    std::vector<std::uint32_t> index_;
};

}  // namespace spmd::knn::detail
