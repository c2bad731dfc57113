// Tests of core/plot: line charts and Gantt charts as SVG, checked with xmllint (well-formed XML,
// structure by XPath) and by the numbers in the document.
#include <catch2/catch.hpp>

#include "test_util.h"

#include <stdlib.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <regex>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "core/report/plot.h"

namespace plot = poolrun::core::plot;

namespace {

using poolrun::test::sh_output;

/// Writes `svg` to a temporary file and deletes it when done.
struct SvgFile {
  std::string path;
  explicit SvgFile(const std::string& svg) {
    char tmpl[] = "/tmp/poolrun-plot-test-XXXXXX";
    int fd = ::mkstemp(tmpl);
    REQUIRE(fd >= 0);
    ::close(fd);
    path = tmpl;
    std::ofstream(path, std::ios::binary) << svg;
  }
  ~SvgFile() { std::remove(path.c_str()); }
  /// xmllint's verdict: "" when the document is well-formed, else its messages.
  std::string lint() const { return sh_output("xmllint --noout '" + path + "' 2>&1"); }
  /// The string value of an XPath expression over the document (elements matched by local name).
  std::string xpath(const std::string& expr) const {
    std::string out = sh_output("xmllint --xpath '" + expr + "' '" + path + "' 2>/dev/null");
    while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
    return out;
  }
  int count(const std::string& expr) const { return std::stoi(xpath("count(" + expr + ")")); }
};

/// The numbers of attribute `attr` of every element named `elem` in `svg`, in document order.
std::vector<double> attr_values(const std::string& svg, const std::string& elem, const std::string& attr,
                                const std::string& class_filter = "") {
  std::vector<double> v;
  std::regex tag("<" + elem + "\\b[^>]*>");
  for (auto it = std::sregex_iterator(svg.begin(), svg.end(), tag); it != std::sregex_iterator(); ++it) {
    std::string t = it->str();
    if (!class_filter.empty() && t.find("class=\"" + class_filter) == std::string::npos) continue;
    std::smatch m;
    if (std::regex_search(t, m, std::regex("\\s" + attr + "=\"([^\"]*)\""))) v.push_back(std::stod(m[1]));
  }
  return v;
}

std::vector<std::string> polyline_points(const std::string& svg) {
  std::vector<std::string> v;
  std::regex re("<polyline points=\"([^\"]*)\"");
  for (auto it = std::sregex_iterator(svg.begin(), svg.end(), re); it != std::sregex_iterator(); ++it)
    v.push_back((*it)[1]);
  return v;
}

}  // namespace

TEST_CASE("xml_escape escapes markup and replaces what XML cannot hold", "[plot]") {
  CHECK(plot::xml_escape("a<b>&\"c\"'d'") == "a&lt;b&gt;&amp;&quot;c&quot;&apos;d&apos;");
  CHECK(plot::xml_escape("tab\tnl\n") == "tab\tnl\n");
  CHECK(plot::xml_escape(std::string("nul\0x", 5)) == "nul\xEF\xBF\xBDx");
  CHECK(plot::xml_escape("\x1b[0m") == "\xEF\xBF\xBD[0m");
  CHECK(plot::xml_escape("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80") == "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80");
  CHECK(plot::xml_escape("bad \xFF end") == "bad \xEF\xBF\xBD end");
  CHECK(plot::xml_escape("cut \xE2\x82") == "cut \xEF\xBF\xBD\xEF\xBF\xBD");
  CHECK(plot::xml_escape("overlong \xC0\xAF") == "overlong \xEF\xBF\xBD\xEF\xBF\xBD");
  CHECK(plot::xml_escape("surrogate \xED\xA0\x80") == "surrogate \xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
}

TEST_CASE("nice_ticks covers the range with round, equal steps", "[plot]") {
  auto t = plot::nice_ticks(0, 10);
  CHECK(t.front() == 0);
  CHECK(t.back() == 10);
  CHECK(t.size() >= 4);
  t = plot::nice_ticks(0.13, 0.87);
  CHECK(t.front() <= 0.13);
  CHECK(t.back() >= 0.87);
  for (std::size_t i = 2; i < t.size(); ++i) CHECK(std::abs((t[i] - t[i - 1]) - (t[1] - t[0])) < 1e-12);
  t = plot::nice_ticks(5, 5);  // zero width: widened around the value
  CHECK(t.front() < 5);
  CHECK(t.back() > 5);
  t = plot::nice_ticks(0, 0);
  CHECK(t.front() < 0);
  CHECK(t.back() > 0);
  t = plot::nice_ticks(NAN, INFINITY);
  CHECK(t.size() >= 2);
  t = plot::nice_ticks(-3, 1e6);
  CHECK(t.front() <= -3);
  CHECK(t.back() >= 1e6);
  CHECK(t.size() <= 12);
}

TEST_CASE("a line chart is a standalone SVG with axes, a legend and one line per series", "[plot]") {
  plot::LineChart c;
  c.title = "Speed-up <by> workers & \"friends\"";
  c.x_label = "workers";
  c.y_label = "speed-up";
  c.ideal_line = true;
  c.series.push_back({"poolrun", {{1, 1}, {2, 1.9}, {4, 3.6}, {8, 6.5}}});
  c.series.push_back({"xargs -P", {{1, 1}, {2, 1.8}, {4, 3.1}, {8, 5.0}}});
  c.series.push_back({"GNU parallel", {{1, 0.5}, {2, 0.9}, {4, 1.5}, {8, 2.0}}});
  std::string svg = plot::render_line_chart_svg(c);
  SvgFile f(svg);
  REQUIRE(f.lint() == "");
  CHECK(svg.find("<script") == std::string::npos);
  CHECK(svg.find("@import") == std::string::npos);
  CHECK(svg.find("href") == std::string::npos);
  CHECK(f.xpath("string(/*/@width)") != "");
  CHECK(f.xpath("string(/*/@viewBox)").rfind("0 0 ", 0) == 0);
  CHECK(f.xpath("namespace-uri(/*)") == "http://www.w3.org/2000/svg");
  CHECK(f.count("//*[local-name()=\"polyline\"]") == 3);
  CHECK(f.count("//*[@class=\"ideal\"]") == 1);
  CHECK(f.count("//*[@class=\"series\"]/*[local-name()!=\"polyline\" and local-name()!=\"title\"]") == 12);
  CHECK(f.xpath("string(//*[local-name()=\"text\"][1])") == c.title);  // escaped, read back intact
  CHECK(f.count("//*[@class=\"legend\"]/*[local-name()=\"text\"]") == 4);  // 3 series + ideal
  for (const char* label : {"poolrun", "xargs -P", "GNU parallel", "workers", "speed-up"})
    CHECK(f.count(std::string("//*[local-name()=\"text\" and .=\"") + label + "\"]") >= 1);
  // Distinct colours per series.
  std::regex fill("class=\"series\" fill=\"(#[0-9A-Fa-f]{6})\"");
  std::vector<std::string> colours;
  for (auto it = std::sregex_iterator(svg.begin(), svg.end(), fill); it != std::sregex_iterator(); ++it)
    colours.push_back((*it)[1]);
  REQUIRE(colours.size() == 3);
  CHECK(colours[0] != colours[1]);
  CHECK(colours[1] != colours[2]);
  CHECK(colours[0] != colours[2]);
  // x grows to the right and y upwards (smaller pixel y) along the first series.
  auto pts = polyline_points(svg);
  std::regex pair("([-0-9.]+),([-0-9.]+)");
  std::vector<double> px, py;
  for (auto it = std::sregex_iterator(pts[0].begin(), pts[0].end(), pair); it != std::sregex_iterator(); ++it) {
    px.push_back(std::stod((*it)[1]));
    py.push_back(std::stod((*it)[2]));
  }
  REQUIRE(px.size() == 4);
  for (std::size_t i = 1; i < px.size(); ++i) {
    CHECK(px[i] > px[i - 1]);
    CHECK(py[i] < py[i - 1]);
  }
  // Every point lies inside the viewBox.
  double w = std::stod(f.xpath("string(/*/@width)")), h = std::stod(f.xpath("string(/*/@height)"));
  for (std::size_t i = 0; i < px.size(); ++i) {
    CHECK((px[i] > 0 && px[i] < w));
    CHECK((py[i] > 0 && py[i] < h));
  }
}

TEST_CASE("line charts of degenerate data still render sensibly", "[plot]") {
  SECTION("no series at all") {
    plot::LineChart c;
    std::string svg = plot::render_line_chart_svg(c);
    SvgFile f(svg);
    CHECK(f.lint() == "");
    CHECK(f.count("//*[local-name()=\"polyline\"]") == 0);
    CHECK(f.count("//*[@class=\"ticks\"]/*") >= 4);
  }
  SECTION("one point") {
    plot::LineChart c{"one", "x", "y", {{"only", {{3, 7}}}}};
    std::string svg = plot::render_line_chart_svg(c);
    SvgFile f(svg);
    CHECK(f.lint() == "");
    auto cx = attr_values(svg, "circle", "cx");
    REQUIRE(cx.size() == 2);  // the point and its legend marker
    CHECK(std::isfinite(cx[0]));
    // Ticks around 3 and 7, not all the same label.
    CHECK(f.xpath("string(//*[@class=\"ticks\"]/*[1])") != f.xpath("string(//*[@class=\"ticks\"]/*[2])"));
    CHECK(svg.find("nan") == std::string::npos);
    CHECK(svg.find("inf") == std::string::npos);
  }
  SECTION("all values equal, with NaN and infinite points left out") {
    plot::LineChart c{"flat", "x", "y", {{"flat", {{1, 2}, {2, 2}, {NAN, 2}, {3, INFINITY}, {3, 2}}}}};
    std::string svg = plot::render_line_chart_svg(c);
    SvgFile f(svg);
    CHECK(f.lint() == "");
    auto pts = polyline_points(svg);
    REQUIRE(pts.size() == 1);
    CHECK(std::count(pts[0].begin(), pts[0].end(), ',') == 3);
    CHECK(svg.find("nan") == std::string::npos);
    CHECK(svg.find("inf") == std::string::npos);
  }
  SECTION("extreme values") {
    plot::LineChart c{"huge", "x", "y", {{"s", {{-1.7e308, 1e-320}, {1.7e308, -1.7e308}, {0, 5e-324}}}}};
    std::string svg = plot::render_line_chart_svg(c);
    SvgFile f(svg);
    CHECK(f.lint() == "");
    CHECK(f.count("//*[local-name()=\"polyline\"]") == 1);
    CHECK(svg.find("nan") == std::string::npos);
    auto t = plot::nice_ticks(-1.7e308, 1.7e308);
    CHECK(t.size() >= 2);
    for (double v : t) CHECK(std::isfinite(v));
  }
  SECTION("hostile labels and many series") {
    plot::LineChart c{"t\x01<", "x]]>", "y&", {}};
    for (int i = 0; i < 20; ++i) c.series.push_back({fmt::format("s\xFF<{}>", i), {{0, double(i)}, {1, 1e9}}});
    std::string svg = plot::render_line_chart_svg(c);
    SvgFile f(svg);
    CHECK(f.lint() == "");
    CHECK(f.count("//*[local-name()=\"polyline\"]") == 20);
    CHECK(f.count("//*[@class=\"legend\"]/*[local-name()=\"text\"]") == 20);
  }
}

TEST_CASE("a Gantt chart has one lane per row and one bar per job, placed by time", "[plot]") {
  plot::Gantt g;
  g.title = "run <1>";
  g.summary = "3 jobs & more";
  g.rows = {"slot 1", "slot 2"};
  g.bars = {{0, 0.0, 1.0, plot::BarStatus::succeeded, "#1 a"},
            {1, 0.2, 3.0, plot::BarStatus::failed, "#2 <b> & \"c\""},
            {0, 1.5, 2.0, plot::BarStatus::killed, "#3\nkilled"},
            {7, 0.0, 1.0, plot::BarStatus::succeeded, "row out of range: left out"}};
  g.x_end = 4;
  std::string svg = plot::render_gantt_svg(g);
  SvgFile f(svg);
  REQUIRE(f.lint() == "");
  CHECK(f.count("//*[@class=\"lanes\"]/*") == 2);
  CHECK(f.count("//*[starts-with(@class,\"bar \")]") == 3);
  CHECK(f.count("//*[@class=\"bar failed\"]") == 1);
  CHECK(f.count("//*[@class=\"bar killed\"]") == 1);
  CHECK(f.xpath("string(//*[@class=\"bar failed\"]/*)") == "#2 <b> & \"c\"");
  CHECK(f.xpath("string(//*[@class=\"summary\"])") == "3 jobs & more");
  CHECK(f.count("//*[@class=\"rows\"]/*") == 2);
  // Bars by time: the later start is further right, the longer job wider, lanes top to bottom.
  auto x = attr_values(svg, "rect", "x", "bar"), y = attr_values(svg, "rect", "y", "bar"),
       w = attr_values(svg, "rect", "width", "bar");
  REQUIRE(x.size() == 3);  // document order: succeeded, failed, killed
  CHECK(x[0] < x[1]);
  CHECK(x[1] < x[2]);
  CHECK(w[1] > w[0]);
  CHECK(y[1] > y[0]);
  CHECK(y[2] == y[0]);
  CHECK(std::abs(w[0] / (w[1]) - 1.0 / 2.8) < 0.01);  // widths proportional to durations
  // The end line sits at x_end, right of every bar.
  auto end = attr_values(svg, "line", "x1", "end");
  REQUIRE(end.size() == 1);
  CHECK(end[0] > x[1] + w[1]);
}

TEST_CASE("Gantt charts of degenerate and large inputs", "[plot]") {
  SECTION("no rows, no bars") {
    plot::Gantt g;
    SvgFile f(plot::render_gantt_svg(g));
    CHECK(f.lint() == "");
    CHECK(f.count("//*[starts-with(@class,\"bar \")]") == 0);
  }
  SECTION("zero-length and reversed bars stay visible") {
    plot::Gantt g;
    g.rows = {"only"};
    g.bars = {{0, 0, 0, plot::BarStatus::succeeded, ""}, {0, 2, 1, plot::BarStatus::failed, "rev"}};
    std::string svg = plot::render_gantt_svg(g);
    SvgFile f(svg);
    CHECK(f.lint() == "");
    for (double w : attr_values(svg, "rect", "width", "bar")) CHECK(w >= 0.5);
    CHECK(svg.find("nan") == std::string::npos);
  }
  SECTION("10 000 bars on 100 lanes: compact, well-formed, labels thinned") {
    plot::Gantt g;
    for (int r = 0; r < 100; ++r) g.rows.push_back(fmt::format("slot {}", r + 1));
    for (int i = 0; i < 10000; ++i)
      g.bars.push_back({static_cast<std::size_t>(i % 100), i / 100 * 0.01, i / 100 * 0.01 + 0.009,
                        i % 97 ? plot::BarStatus::succeeded : plot::BarStatus::failed,
                        fmt::format("#{} on slot {}: sleep 0.01", i + 1, i % 100 + 1)});
    std::string svg = plot::render_gantt_svg(g);
    CHECK(svg.size() < 2'500'000);
    SvgFile f(svg);
    CHECK(f.lint() == "");
    CHECK(f.count("//*[starts-with(@class,\"bar \")]") == 10000);
    CHECK(f.count("//*[@class=\"lanes\"]/*") == 100);
    int labels = f.count("//*[@class=\"rows\"]/*");
    CHECK(labels > 10);
    CHECK(labels < 100);
    CHECK(std::stod(f.xpath("string(/*/@height)")) < 1000);
  }
}
