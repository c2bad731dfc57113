// Tests of core/run/release_order.h: in-order release (-k, --map's imap), release as finished
// (--map --unordered), and the end-of-run release past gaps.
#include <catch2/catch.hpp>
#include <memory>
#include <string>

#include "core/run/release_order.h"

using poolrun::core::ReleaseOrder;

TEST_CASE("ReleaseOrder releases in input order, or as items finish", "[run]") {
  ReleaseOrder<std::string> ordered(true);
  ordered.finish(2, "b");
  ordered.finish(3, "c");
  REQUIRE_FALSE(ordered.release());  // 1 has not finished
  REQUIRE(ordered.held() == 2);
  ordered.finish(1, "a");
  std::string got;
  while (auto r = ordered.release()) got += r->second;
  REQUIRE(got == "abc");
  REQUIRE(ordered.next_seq() == 4);
  REQUIRE(ordered.held() == 0);

  ReleaseOrder<std::string> unordered(false);
  unordered.finish(5, "e");
  auto r = unordered.release();
  REQUIRE(r);
  REQUIRE(r->first == 5);
  REQUIRE_FALSE(unordered.release());
}

TEST_CASE("ReleaseOrder: release_first goes past gaps, in seq order", "[run]") {
  ReleaseOrder<std::unique_ptr<int>> ordered(true);  // move-only values, as the engine's jobs
  ordered.finish(4, std::make_unique<int>(40));
  ordered.finish(2, std::make_unique<int>(20));
  REQUIRE_FALSE(ordered.release());  // 1 never finished
  auto a = ordered.release_first();
  REQUIRE(a);
  CHECK(a->first == 2);
  CHECK(*a->second == 20);
  CHECK(ordered.next_seq() == 3);  // 3 now comes next
  ordered.finish(3, std::make_unique<int>(30));
  auto b = ordered.release();  // in order again
  REQUIRE(b);
  CHECK(b->first == 3);
  auto c = ordered.release();
  REQUIRE(c);
  CHECK(c->first == 4);
  CHECK_FALSE(ordered.release_first());
}
