// Releasing finished work in input order (-k/--keep-order, --map's imap) or as it finishes
// (--map --unordered, imap_unordered). Used by the main job's engine and by the --map pool.
#pragma once
#include <cstddef>
#include <map>
#include <optional>
#include <utility>

namespace poolrun::core {

/// Holds finished items numbered 1, 2, 3, ... by seq until they may go out. Ordered (GNU
/// parallel's --keep-order, Python's Pool.imap): an item is released once it and every smaller seq
/// have finished. Unordered (imap_unordered): any held item is released at once, smallest seq
/// first. Each item is released exactly once. T is what a finished item carries (its output). Not
/// thread-safe.
template <typename T>
class ReleaseOrder {
 public:
  explicit ReleaseOrder(bool ordered) : ordered_(ordered) {}

  /// Records that item `seq` finished with `value`. Each seq at most once.
  void finish(std::size_t seq, T value) { held_.emplace(seq, std::move(value)); }

  /// The next item that may be released now, taken out of the holder, or nullopt. Ordered: only the
  /// item numbered next_seq(); unordered: any held item (smallest seq first).
  std::optional<std::pair<std::size_t, T>> release() {
    if (held_.empty()) return std::nullopt;
    auto it = held_.begin();
    if (ordered_ && it->first != next_) return std::nullopt;
    return take(it);
  }

  /// The held item with the smallest seq, even when an earlier one has not finished, or nullopt
  /// when none is held. For the end of a run that stopped early: what finished still goes out, in
  /// order, past the gaps of what never will.
  std::optional<std::pair<std::size_t, T>> release_first() {
    if (held_.empty()) return std::nullopt;
    return take(held_.begin());
  }

  /// Ordered: the seq that must finish before anything more is released.
  std::size_t next_seq() const { return next_; }

  /// Items finished and not yet released.
  std::size_t held() const { return held_.size(); }

 private:
  std::optional<std::pair<std::size_t, T>> take(typename std::map<std::size_t, T>::iterator it) {
    std::pair<std::size_t, T> out(it->first, std::move(it->second));
    held_.erase(it);
    if (ordered_ && out.first >= next_) next_ = out.first + 1;
    return out;
  }

  bool ordered_;
  std::size_t next_ = 1;
  std::map<std::size_t, T> held_;
};

}  // namespace poolrun::core
