// libFuzzer target: the item splitter and column splitter. The first byte picks the delimiter
// spec; the rest is fed in pieces whose sizes come from the data itself. The items joined with
// the delimiter must give back the input (minus a final delimiter).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "core/errors.h"
#include "core/input/split.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  static const char* specs[] = {"\\n", "\\0", "\\r\\n", ",", "ab", "\\t", "\\x41", "aa"};
  std::string delim = poolrun::core::parse_delimiter(specs[data[0] % 8]);
  std::string input(reinterpret_cast<const char*>(data) + 1, size - 1);
  poolrun::core::ItemSplitter sp(delim);
  std::string joined, item;
  bool first = true;
  std::size_t pos = 0, step = 1 + (data[0] >> 3);
  while (pos < input.size()) {
    std::size_t n = std::min(step, input.size() - pos);
    sp.feed(std::string_view(input).substr(pos, n));
    pos += n;
    step = step * 3 % 17 + 1;
    while (sp.next(item)) {
      if (!first) joined += delim;
      joined += item;
      first = false;
    }
  }
  bool last = sp.finish(item);
  if (last) {
    if (!first) joined += delim;
    joined += item;
  } else if (!first) {
    joined += delim;  // the input ended with a delimiter
  }
  if (joined != input) std::abort();
  try {
    poolrun::core::ColumnSplitter cols(input.size() > 3 ? input.substr(0, 3) : "\\t");
    (void)cols.split(input);
  } catch (const poolrun::UsageError&) {
  }
  return 0;
}
