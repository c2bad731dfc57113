// Command templates with GNU parallel's replacement strings (see template.h).
#include "core/input/template.h"

#include <algorithm>
#include <limits>
#include <string_view>

#include "core/errors.h"
#include "core/input/quote.h"

namespace poolrun::core {

namespace {

using Part = CommandTemplate::Part;
using Kind = Part::Kind;
using Op = Part::Op;

bool is_blank(char c) { return c == ' ' || c == '\t'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

/// Appends literal text to `parts`, cut into Text and Blank runs.
void add_literal(std::vector<Part>& parts, std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    const bool blank = is_blank(text[i]);
    std::size_t j = i + 1;
    while (j < text.size() && is_blank(text[j]) == blank) ++j;
    const Kind kind = blank ? Kind::Blank : Kind::Text;
    if (!parts.empty() && parts.back().kind == kind) {
      parts.back().text.append(text.substr(i, j - i));
    } else {
      Part p;
      p.kind = kind;
      p.text = std::string(text.substr(i, j - i));
      parts.push_back(std::move(p));
    }
    i = j;
  }
}

/// The path operations of {.} {/} {//} {/.} (byte-wise, so UTF-8 is safe: '/' and '.' never
/// occur inside a multi-byte sequence).
std::string_view drop_ext(std::string_view v) {
  // GNU parallel: s:\.[^/.]*$::
  const std::size_t dot = v.rfind('.');
  if (dot == std::string_view::npos || v.find('/', dot) != std::string_view::npos) return v;
  return v.substr(0, dot);
}

std::string_view base_name(std::string_view v) {
  // GNU parallel: s:.*/::
  const std::size_t slash = v.rfind('/');
  return slash == std::string_view::npos ? v : v.substr(slash + 1);
}

std::string_view dir_name(std::string_view v) {
  // GNU parallel: File::Basename::dirname, which is POSIX dirname.
  std::size_t end = v.size();
  while (end > 0 && v[end - 1] == '/') --end;
  if (end == 0) return v.empty() ? std::string_view(".") : std::string_view("/");
  const std::size_t slash = v.rfind('/', end - 1);
  if (slash == std::string_view::npos) return ".";
  std::size_t dend = slash;  // strip the slashes before the last component
  while (dend > 0 && v[dend - 1] == '/') --dend;
  if (dend == 0) return "/";
  return v.substr(0, dend);
}

std::string_view apply(Op op, std::string_view v) {
  switch (op) {
    case Op::None: return v;
    case Op::NoExt: return drop_ext(v);
    case Op::Base: return base_name(v);
    case Op::Dir: return dir_name(v);
    case Op::BaseNoExt: return drop_ext(base_name(v));
  }
  return v;
}

/// A field recognised at some position of a word.
struct Match {
  std::size_t len = 0;  // 0: no match
  Part part;
};

void consider(Match& best, std::size_t len, Kind kind, Op op, long long pos = 0) {
  if (len <= best.len) return;  // longest wins; on a tie the earlier candidate
  best.len = len;
  best.part = Part{};
  best.part.kind = kind;
  best.part.op = op;
  best.part.pos = pos;
}

/// The op of a field suffix after "{n" or "{name": "." "/" "//" "/." (each followed by "}").
struct OpSuffix {
  std::string_view text;
  Op op;
};
constexpr OpSuffix kOpSuffixes[] = {
    {".}", Op::NoExt}, {"/}", Op::Base}, {"//}", Op::Dir}, {"/.}", Op::BaseNoExt}};

/// Finds the longest replacement string starting at word[i].
Match match_at(std::string_view word, std::size_t i, const TemplateOptions& opt) {
  Match best;
  const std::string_view rest = word.substr(i);
  if (rest.starts_with(opt.replace)) consider(best, opt.replace.size(), Kind::Value, Op::None);
  if (rest.empty() || rest[0] != '{') return best;

  static constexpr struct {
    std::string_view text;
    Kind kind;
    Op op;
  } kFixed[] = {{"{.}", Kind::Value, Op::NoExt},     {"{/}", Kind::Value, Op::Base},
                {"{//}", Kind::Value, Op::Dir},      {"{/.}", Kind::Value, Op::BaseNoExt},
                {"{#}", Kind::Seq, Op::None},        {"{%}", Kind::Slot, Op::None}};
  for (const auto& f : kFixed) {
    if (rest.starts_with(f.text)) consider(best, f.text.size(), f.kind, f.op);
  }

  // Positional: "{" ["-"] digits, then "}" (derived from -I: STR without its "{") or an op suffix.
  {
    std::size_t j = 1;
    const bool neg = j < rest.size() && rest[j] == '-';
    if (neg) ++j;
    const std::size_t dstart = j;
    unsigned long long n = 0;
    bool overflow = false;
    while (j < rest.size() && is_digit(rest[j])) {
      const unsigned d = static_cast<unsigned>(rest[j] - '0');
      if (n > (static_cast<unsigned long long>(std::numeric_limits<long long>::max()) - d) / 10) {
        overflow = true;
      } else {
        n = n * 10 + d;
      }
      ++j;
    }
    if (j > dstart && (n != 0 || overflow)) {
      const long long mag =
          overflow ? std::numeric_limits<long long>::max() : static_cast<long long>(n);
      const long long pos = neg ? -mag : mag;
      const std::string_view after = rest.substr(j);
      if (opt.replace.size() >= 2 && opt.replace[0] == '{') {
        const std::string_view plain = std::string_view(opt.replace).substr(1);
        if (after.starts_with(plain)) consider(best, j + plain.size(), Kind::Position, Op::None, pos);
      }
      for (const auto& s : kOpSuffixes) {
        if (after.starts_with(s.text)) consider(best, j + s.text.size(), Kind::Position, s.op, pos);
      }
    }
  }

  // --header names: {name} {name.} {name/} {name//} {name/.}
  if (!opt.names.empty()) {
    const std::size_t close = rest.find('}', 1);
    if (close != std::string_view::npos) {
      const std::string_view inner = rest.substr(1, close - 1);
      auto try_name = [&](std::string_view name, Op op) {
        if (name.empty()) return;
        const auto it = opt.names.find(std::string(name));
        if (it == opt.names.end() || it->second == 0) return;
        consider(best, close + 1, Kind::Position, op,
                 static_cast<long long>(std::min<std::size_t>(
                     it->second, static_cast<std::size_t>(std::numeric_limits<long long>::max()))));
      };
      try_name(inner, Op::None);
      for (const auto& s : kOpSuffixes) {
        const std::string_view op_text = s.text.substr(0, s.text.size() - 1);  // without "}"
        if (inner.size() > op_text.size() && inner.ends_with(op_text)) {
          try_name(inner.substr(0, inner.size() - op_text.size()), s.op);
        }
      }
    }
  }
  return best;
}

bool is_field(Kind k) { return k != Kind::Text && k != Kind::Blank; }

/// Flat list of all values of a job (GNU parallel: one empty value when there is none).
std::vector<std::string_view> flat_values(const JobInput& in) {
  std::vector<std::string_view> vals;
  for (const auto& r : in.records) {
    for (const auto& v : r) vals.emplace_back(v);
  }
  if (vals.empty()) vals.emplace_back();
  return vals;
}

struct ShellSink {
  bool raw;
  std::string out;
  void lit(std::string_view t) { out.append(t); }
  void val(std::string_view v) {
    if (raw) {
      out.append(v);
    } else {
      out.append(shell_quote(v));
    }
  }
  void sep() { out.push_back(' '); }
};

/// Builds the words /bin/sh makes of the line ShellSink builds, when the literal text has no shell
/// syntax: blanks in literal text split words, a quoted value always makes (part of) a word, even
/// when empty.
struct ArgvSink {
  std::vector<std::string> argv;
  std::string cur;
  bool has = false;
  void flush() {
    if (has) argv.push_back(std::move(cur));
    cur.clear();
    has = false;
  }
  void lit(std::string_view t) {
    for (char c : t) {
      if (is_blank(c)) {
        flush();
      } else {
        cur.push_back(c);
        has = true;
      }
    }
  }
  void val(std::string_view v) {
    cur.append(v);
    has = true;
  }
  void sep() { flush(); }
};

constexpr std::size_t kPtr = 8;          // bytes of one argv pointer
constexpr std::size_t kNumberBytes = 20;  // digits of the largest std::size_t

}  // namespace

CommandTemplate CommandTemplate::parse(const std::vector<std::string>& words,
                                       const TemplateOptions& opt) {
  if (opt.replace.empty()) throw UsageError("the replacement string of -I must not be empty");
  CommandTemplate t;
  t.context_ = opt.context_replace;
  if (words.empty()) {
    if (opt.replace != "{}") {
      throw UsageError("-I " + opt.replace + " needs a command that uses it");
    }
    // No command: each record is the command line itself (values joined by spaces, not quoted).
    Part p;
    p.kind = Kind::Value;
    t.parts_.push_back(std::move(p));
    t.raw_ = true;
  } else {
    for (std::size_t w = 0; w < words.size(); ++w) {
      if (w > 0) add_literal(t.parts_, " ");
      const std::string_view word = words[w];
      std::size_t lit_start = 0, i = 0;
      while (i < word.size()) {
        Match m = match_at(word, i, opt);
        if (m.len == 0) {
          ++i;
          continue;
        }
        add_literal(t.parts_, word.substr(lit_start, i - lit_start));
        if (m.part.kind == Kind::Seq || m.part.kind == Kind::Slot) t.uses_slot_ = true;
        t.parts_.push_back(std::move(m.part));
        t.has_repl_ = true;
        i += m.len;
        lit_start = i;
      }
      add_literal(t.parts_, word.substr(lit_start));
    }
    if (!t.has_repl_) {
      add_literal(t.parts_, " ");
      Part p;
      p.kind = Kind::Value;
      t.parts_.push_back(std::move(p));
    }
    // GNU parallel does not quote values when a field is in the first word: /^[^ \t\n=]*{field}/.
    for (const Part& p : t.parts_) {
      if (is_field(p.kind)) {
        t.raw_ = true;
        break;
      }
      if (p.text.find_first_of(" \t\n=") != std::string::npos) break;
    }
  }

  // Context groups: runs of non-blank parts; each Blank part is a group of its own.
  for (std::size_t i = 0; i < t.parts_.size();) {
    Group g;
    g.begin = i;
    if (t.parts_[i].kind == Kind::Blank) {
      g.end = i + 1;
    } else {
      std::size_t j = i;
      while (j < t.parts_.size() && t.parts_[j].kind != Kind::Blank) {
        if (t.parts_[j].kind == Kind::Value) g.repeat = true;
        ++j;
      }
      g.end = j;
    }
    i = g.end;
    t.groups_.push_back(g);
  }

  // Direct exec: no shell syntax in the literal text (fields stand in as a plain "x"), and a
  // first word that is literal, not empty and not a shell builtin or keyword.
  if (!t.raw_) {
    std::string literal;
    for (const Part& p : t.parts_) literal += is_field(p.kind) ? std::string_view("x") : p.text;
    std::string first;
    bool first_literal = true;
    std::size_t i = 0;
    while (i < t.parts_.size() && t.parts_[i].kind == Kind::Blank) ++i;
    for (; i < t.parts_.size() && t.parts_[i].kind != Kind::Blank; ++i) {
      if (t.parts_[i].kind != Kind::Text) first_literal = false;
      first += t.parts_[i].text;
    }
    t.direct_ = first_literal && !first.empty() && !has_shell_syntax(literal) &&
                !is_shell_builtin(first);
  }
  return t;
}

template <class Sink>
void CommandTemplate::emit(const JobInput& in, Sink& sink) const {
  const std::vector<std::string_view> vals = flat_values(in);
  const auto n = static_cast<long long>(vals.size());
  // Emits one part; `only` is the value a Value field stands for in a -X repetition (else null).
  auto part = [&](const Part& p, const std::string_view* only) {
    switch (p.kind) {
      case Kind::Text:
      case Kind::Blank:
        sink.lit(p.text);
        break;
      case Kind::Seq:
        sink.lit(std::to_string(in.seq));
        break;
      case Kind::Slot:
        sink.lit(std::to_string(in.slot));
        break;
      case Kind::Position: {
        const long long idx = p.pos > 0 ? p.pos - 1 : n + p.pos;
        if (idx >= 0 && idx < n) sink.val(apply(p.op, vals[static_cast<std::size_t>(idx)]));
        break;  // past the end: nothing at all (GNU parallel)
      }
      case Kind::Value:
        if (only) {
          sink.val(apply(p.op, *only));
        } else {
          for (std::size_t k = 0; k < vals.size(); ++k) {
            if (k > 0) sink.sep();
            sink.val(apply(p.op, vals[k]));
          }
        }
        break;
    }
  };
  for (const Group& g : groups_) {
    if (context_ && g.repeat) {
      for (std::size_t k = 0; k < vals.size(); ++k) {
        if (k > 0) sink.sep();
        for (std::size_t i = g.begin; i < g.end; ++i) part(parts_[i], &vals[k]);
      }
    } else {
      for (std::size_t i = g.begin; i < g.end; ++i) part(parts_[i], nullptr);
    }
  }
}

std::string CommandTemplate::render_shell(const JobInput& in) const {
  ShellSink sink{raw_, {}};
  emit(in, sink);
  return std::move(sink.out);
}

std::string CommandTemplate::render_raw(const JobInput& in) const {
  ShellSink sink{true, {}};
  emit(in, sink);
  return std::move(sink.out);
}

bool CommandTemplate::direct_exec_possible() const { return direct_; }

std::vector<std::string> CommandTemplate::render_argv(const JobInput& in) const {
  ArgvSink sink;
  emit(in, sink);
  sink.flush();
  return std::move(sink.argv);
}

bool CommandTemplate::has_replacements() const { return has_repl_; }

bool CommandTemplate::uses_slot() const { return uses_slot_; }

std::size_t CommandTemplate::record_cost(const Record& r) const {
  if (r.empty()) return 0;
  // Per value: its quoted length (never shorter than the value or than {.} {/} {//} {/.} of it,
  // but for {//} of "" which is "." — hence +1), a separator, a NUL and an argv pointer.
  std::size_t sum_q = 0, max_q = 0;
  for (const auto& v : r) {
    const std::size_t q = shell_quote(v).size() + 1;
    sum_q += q;
    max_q = std::max(max_q, q);
  }
  const std::size_t per_word = 1 + 1 + kPtr;  // separator, NUL, pointer
  std::size_t cost = 0;
  for (const Group& g : groups_) {
    if (context_ && g.repeat) {
      // Each value repeats the whole group. Positional fields inside it keep one value for the
      // whole job; it is bounded here by the longest value of this record.
      std::size_t fixed = 0, value_fields = 0;
      for (std::size_t i = g.begin; i < g.end; ++i) {
        const Part& p = parts_[i];
        switch (p.kind) {
          case Kind::Text: fixed += p.text.size(); break;
          case Kind::Seq:
          case Kind::Slot: fixed += kNumberBytes; break;
          case Kind::Position: fixed += max_q; break;
          case Kind::Value: ++value_fields; break;
          case Kind::Blank: break;
        }
      }
      cost += r.size() * (fixed + per_word) + value_fields * sum_q;
    } else {
      for (std::size_t i = g.begin; i < g.end; ++i) {
        const Part& p = parts_[i];
        if (p.kind == Kind::Value) {
          cost += sum_q + r.size() * per_word;
        } else if (p.kind == Kind::Position) {
          // One more record may fill a position that was past the end.
          cost += max_q + per_word;
        }
      }
    }
  }
  return cost;
}

std::size_t CommandTemplate::base_cost() const {
  // sh -c LINE: "/bin/sh", "-c", the line, their NULs and pointers (and the NULL pointer).
  constexpr std::size_t kShell = 64;
  std::size_t cost = kShell + 1;  // + the line's NUL
  for (const Part& p : parts_) {
    switch (p.kind) {
      case Kind::Text:
      case Kind::Blank: cost += p.text.size(); break;
      case Kind::Seq:
      case Kind::Slot: cost += kNumberBytes; break;
      case Kind::Value:
      case Kind::Position: cost += 2; break;  // '' for the empty value of a job without records
    }
  }
  // Direct exec: one NUL and one pointer per word.
  std::size_t words = 0;
  for (const Group& g : groups_) {
    if (parts_[g.begin].kind != Kind::Blank) ++words;
  }
  cost += words * (1 + kPtr);
  return cost;
}

}  // namespace poolrun::core
