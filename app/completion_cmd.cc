#include "app/completion_cmd.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string_view>

#include "app/batch_cmd.h"
#include "app/bench_cmd.h"
#include "app/messages.h"
#include "app/report_cmd.h"
#include "core/errors.h"
#include "core/run/start_method.h"

namespace poolrun::app {

namespace {

/// How an option takes its value, as the completion needs it.
enum class Kind { Flag, Value, File, Dir };

/// One option as the completion scripts see it, read from the CLI11 definition.
struct OptionSpec {
  std::vector<std::string> shorts;  ///< "-j", "-P"
  std::vector<std::string> longs;   ///< "--jobs"
  Kind kind = Kind::Flag;
  std::string type;                  ///< the value's name in --help: FILE, DIR, N, TEXT...
  std::string help;                  ///< the description in --help
  bool repeatable = false;           ///< may be given more than once (-a, -v)
  bool ends = false;                 ///< --help, --version: nothing else is read with them
  std::vector<std::string> choices;  ///< the only values the option accepts, when known

  std::vector<std::string> names() const {
    std::vector<std::string> n = shorts;
    n.insert(n.end(), longs.begin(), longs.end());
    return n;
  }
};

/// The values of --start-method, from the start methods poolrun has.
std::vector<std::string> start_methods() {
  std::vector<std::string> v;
  for (core::StartMethod m : {core::StartMethod::Spawn, core::StartMethod::Fork, core::StartMethod::Forkserver})
    v.emplace_back(core::start_method_name(m));
  return v;
}

/// The named (non-positional, not hidden) options of `app`, in --help order.
std::vector<OptionSpec> describe(const CLI::App& app) {
  std::vector<OptionSpec> out;
  for (const CLI::Option* o : app.get_options()) {
    if (o->get_positional() || !o->nonpositional() || o->get_group().empty()) continue;
    OptionSpec s;
    for (const auto& n : o->get_snames()) s.shorts.push_back("-" + n);
    for (const auto& n : o->get_lnames()) s.longs.push_back("--" + n);
    s.help = o->get_description();
    std::string type = o->get_type_name();
    s.type = type.substr(0, type.find(':'));  // validators append ":description"
    if (o->get_items_expected_max() == 0) s.kind = Kind::Flag;
    else if (s.type == "FILE") s.kind = Kind::File;
    else if (s.type == "DIR") s.kind = Kind::Dir;
    else s.kind = Kind::Value;
    if (s.type.empty()) s.type = s.kind == Kind::Flag ? "" : "VALUE";
    s.repeatable = o->get_expected_max() > 1 || o->get_multi_option_policy() == CLI::MultiOptionPolicy::TakeAll;
    s.ends = o == app.get_help_ptr() || o == app.get_version_ptr();
    for (const auto& n : s.longs) {
      if (n == "--start-method") s.choices = start_methods();
      if (n == "--completion") {
        s.choices = {"bash", "zsh"};
        s.ends = true;
      }
    }
    out.push_back(std::move(s));
  }
  return out;
}

std::string join(const std::vector<std::string>& v, std::string_view sep) {
  std::string s;
  for (const auto& x : v) {
    if (!s.empty()) s += sep;
    s += x;
  }
  return s;
}

std::string replace_all(std::string s, std::string_view from, std::string_view to) {
  for (std::size_t at = 0; (at = s.find(from, at)) != std::string::npos; at += to.size()) s.replace(at, from.size(), to);
  return s;
}

/// `text` inside a shell single-quoted string.
std::string sq_body(const std::string& text) { return replace_all(text, "'", "'\\''"); }

const char* kind_name(Kind k) {
  switch (k) {
    case Kind::Flag: return "flag";
    case Kind::Value: return "value";
    case Kind::File: return "file";
    case Kind::Dir: return "dir";
  }
  return "flag";
}

// ---------------------------------------------------------------------------------------------
// bash

/// The `case` arms that map each option of one command to its kind and its fixed values.
std::string bash_kind_arms(const std::vector<OptionSpec>& opts, const std::string& indent) {
  std::string s;
  for (Kind k : {Kind::Flag, Kind::Value, Kind::File, Kind::Dir}) {
    std::vector<std::string> names;
    for (const auto& o : opts)
      if (o.kind == k)
        for (const auto& n : o.names()) names.push_back(n);
    if (!names.empty()) s += indent + join(names, "|") + ") _poolrun_k='" + kind_name(k) + "' ;;\n";
  }
  return s + indent + "*) _poolrun_k='unknown' ;;\n";
}

std::string bash_choice_arms(const std::vector<OptionSpec>& opts, const std::string& indent) {
  std::string s;
  for (const auto& o : opts)
    if (!o.choices.empty()) s += indent + join(o.names(), "|") + ") _poolrun_v='" + sq_body(join(o.choices, " ")) + "' ;;\n";
  return s + indent + "*) _poolrun_v='' ;;\n";
}

std::string bash_option_list(const std::vector<OptionSpec>& opts) {
  std::vector<std::string> names;
  for (const auto& o : opts) {
    names.insert(names.end(), o.longs.begin(), o.longs.end());
    names.insert(names.end(), o.shorts.begin(), o.shorts.end());
  }
  return join(names, " ");
}

// The fixed part of the bash script. @KIND_MAIN@ and the like are replaced with generated text.
constexpr std::string_view kBashTemplate = R"BASH(# bash completion for poolrun                                        -*- shell-script -*-
# Generated by `poolrun --completion bash` (@VERSION@) from poolrun's command-line definition;
# do not edit: it is rebuilt with poolrun. Install it as
# $PREFIX/share/bash-completion/completions/poolrun, or source it from ~/.bashrc.

# The options of poolrun (main), `poolrun batch` (batch), `poolrun bench` (bench), `poolrun report
# timeline` (report_timeline) and `poolrun report chart` (report_chart).
@OPTION_LISTS@
# _poolrun_kind CMD OPTION: sets _poolrun_k to how OPTION of CMD (main, batch, bench,
# report_timeline, report_chart) takes a value: flag (it takes none), value, file, dir, or unknown.
_poolrun_kind() {
  case $1 in
@KIND_ARMS@  esac
}

# _poolrun_choices CMD OPTION: sets _poolrun_v to the values OPTION accepts (empty: any value).
_poolrun_choices() {
  case $1 in
@CHOICE_ARMS@  esac
}

# Sets words and cword: COMP_WORDS and COMP_CWORD, with the words bash split at a COMP_WORDBREAKS
# character (--json=FILE arrives as --json = FILE, a:b as a : b) joined again, as poolrun sees
# them; up to the cursor. Sets _poolrun_keep to the start of the current word that readline keeps
# (up to its last word-break character): replies must leave it out.
_poolrun_words() {
  words=() cword=0 _poolrun_keep=
  if [[ -z ${COMP_LINE+set} ]]; then
    words=("${COMP_WORDS[@]:0:COMP_CWORD+1}") cword=$COMP_CWORD
    return
  fi
  local line=${COMP_LINE:0:${COMP_POINT:-${#COMP_LINE}}} i p=0 w lead tok
  for ((i = 0; i < ${#COMP_WORDS[@]} && i <= COMP_CWORD; i++)); do
    w=${COMP_WORDS[i]}
    lead=${line:p}
    lead=${lead%%[![:space:]]*}
    p=$((p + ${#lead}))
    if ((i > 0 && ${#lead} == 0)) && [[ -n $w ]]; then
      words[${#words[@]}-1]+=$w
    else
      words+=("$w")
    fi
    p=$((p + ${#w}))
  done
  cword=$((${#words[@]} - 1))
  tok=${COMP_WORDS[COMP_CWORD]}
  [[ -z ${tok//[=:]/} ]] && tok=
  _poolrun_keep=${words[cword]:0:${#words[cword]}-${#tok}}
}

# _poolrun_add PREFIX: adds PREFIX+LINE for each line on stdin to COMPREPLY, without _poolrun_keep.
_poolrun_add() {
  local c
  while IFS= read -r c; do
    c=$1$c
    [[ $c == "$_poolrun_keep"* ]] && COMPREPLY+=("${c:${#_poolrun_keep}}")
  done
}

# _poolrun_value CMD OPTION VALUE [PREFIX]: completes VALUE as the value of OPTION; PREFIX is what
# precedes VALUE in the word (--json=, -a).
_poolrun_value() {
  _poolrun_kind "$1" "$2"
  case $_poolrun_k in
    file)
      compopt -o filenames 2>/dev/null
      _poolrun_add "${4-}" < <(compgen -f -- "$3") ;;
    dir)
      compopt -o filenames 2>/dev/null
      _poolrun_add "${4-}" < <(compgen -d -- "$3") ;;
    value)
      _poolrun_choices "$1" "$2"
      [[ -n $_poolrun_v ]] && _poolrun_add "${4-}" < <(compgen -W "$_poolrun_v" -- "$3") ;;
  esac
}

# _poolrun_option_word CMD WORD: completes WORD, which starts with '-', among CMD's options.
_poolrun_option_word() {
  local w=$2 k
  if [[ $w == --?*=* ]]; then
    _poolrun_value "$1" "${w%%=*}" "${w#*=}" "${w%%=*}="
    return
  fi
  if [[ $w != --* && ${#w} -gt 2 ]]; then
    # A cluster of short options: the value of the first one that takes a value is attached (-afile).
    for ((k = 1; k < ${#w}; k++)); do
      _poolrun_kind "$1" "-${w:k:1}"
      case $_poolrun_k in
        value | file | dir)
          if ((k < ${#w} - 1)); then
            _poolrun_value "$1" "-${w:k:1}" "${w:k+1}" "${w:0:k+1}"
            return
          fi
          break ;;
      esac
    done
  fi
  local list=_poolrun_options_$1
  _poolrun_add "" < <(compgen -W "${!list}" -- "$w")
}

_poolrun_files() {
  compopt -o filenames 2>/dev/null
  _poolrun_add "" < <(compgen -f -- "$1")
}

_poolrun() {
  local words cword _poolrun_keep _poolrun_k _poolrun_v
  COMPREPLY=()
  _poolrun_words
  local cur=${words[cword]} cmd=main first=1 i k w valueof='' start=-1 endopts=0 dash=-1
  if ((cword > 1)); then
    case ${words[1]} in
      batch | bench) cmd=${words[1]} first=2 ;;
      report)
        if ((cword == 2)); then
          _poolrun_add "" < <(compgen -W 'timeline chart --help' -- "$cur")
          return 0
        fi
        case ${words[2]} in
          timeline | chart) cmd=report_${words[2]} first=3 ;;
          *) return 0 ;;
        esac ;;
    esac
  fi
  # The words before the cursor. poolrun reads options up to the first other word (or --), which
  # starts the command; batch, bench and report read options and their file (or task) in any
  # order; after bench's -- come a command and its arguments.
  for ((i = first; i < cword; i++)); do
    w=${words[i]}
    if ((endopts)); then continue; fi
    if [[ $w == -- ]]; then
      endopts=1 dash=$i
      [[ $cmd == main ]] && { start=$((i + 1)); break; }
      continue
    fi
    if [[ $w != -?* ]]; then
      [[ $cmd == main ]] && { start=$i; break; }
      continue
    fi
    if [[ $w == --* ]]; then
      [[ $w == *=* ]] && continue
      _poolrun_kind $cmd "$w"
      case $_poolrun_k in value | file | dir) i=$((i + 1)); ((i == cword)) && valueof=$w ;; esac
      continue
    fi
    for ((k = 1; k < ${#w}; k++)); do
      _poolrun_kind $cmd "-${w:k:1}"
      case $_poolrun_k in
        value | file | dir)
          if ((k == ${#w} - 1)); then i=$((i + 1)); ((i == cword)) && valueof=-${w:k:1}; fi
          break ;;
      esac
    done
  done
  if [[ -n $valueof ]]; then
    _poolrun_value $cmd "$valueof" "$cur"
  elif [[ $cmd != main ]]; then
    if ((!endopts)) && [[ $cur == -* ]]; then
      _poolrun_option_word $cmd "$cur"
    elif [[ $cmd == bench ]] && ((dash >= 0 && dash == cword - 1)); then
      _poolrun_add "" < <(compgen -c -- "$cur")  # the command after --
    else
      _poolrun_files "$cur"  # the spec, the report, the chart, read:FILE, the command's files
    fi
  elif ((start < 0)) && [[ $cur == -* ]]; then
    _poolrun_option_word main "$cur"
  elif ((start < 0 || start == cword)); then
    # The command: any command, and the subcommands right after poolrun.
    ((cword == 1)) && _poolrun_add "" < <(compgen -W 'batch bench report' -- "$cur")
    if [[ $cur == */* ]]; then
      _poolrun_files "$cur"
    else
      _poolrun_add "" < <(compgen -c -- "$cur")
    fi
  else
    # The command's arguments, ::: items and :::: argfiles: file names.
    _poolrun_files "$cur"
  fi
  return 0
}

complete -F _poolrun poolrun
)BASH";

// ---------------------------------------------------------------------------------------------
// zsh

/// `text` as a description in an _arguments spec ("[...]"), inside a single-quoted zsh string.
std::string zsh_description(const std::string& text) {
  std::string s;
  for (char c : text) {
    if (c == '\\' || c == '[' || c == ']' || c == ':') s += '\\';
    s += c;
  }
  return sq_body(s);
}

/// `text` as a message (or, `in_list`, a value of a "(a b c)" action) in an _arguments spec,
/// inside a single-quoted zsh string.
std::string zsh_field(const std::string& text, bool in_list = false) {
  std::string s;
  for (char c : text) {
    if (c == '\\' || c == ':' || (in_list && (c == '(' || c == ')' || c == ' '))) s += '\\';
    s += c;
  }
  return sq_body(s);
}

/// One _arguments spec line (without the line continuation) per option.
std::vector<std::string> zsh_specs(const std::vector<OptionSpec>& opts) {
  std::vector<std::string> lines;
  for (const auto& o : opts) {
    std::vector<std::string> names;
    bool value = o.kind != Kind::Flag;
    for (const auto& n : o.shorts) names.push_back(value ? n + "+" : n);
    for (const auto& n : o.longs) names.push_back(value ? n + "=" : n);
    std::string line;
    if (o.ends) line += "'(- *)'";
    else if (!o.repeatable) line += "'(" + join(o.names(), " ") + ")'";
    if (o.repeatable) line += "'*'";
    line += names.size() == 1 ? names[0] : "{" + join(names, ",") + "}";
    line += "'[" + zsh_description(o.help) + "]";
    if (value) {
      line += ":" + zsh_field(o.type) + ":";
      if (!o.choices.empty()) {
        std::vector<std::string> c;
        for (const auto& x : o.choices) c.push_back(zsh_field(x, true));
        line += "(" + join(c, " ") + ")";
      } else if (o.kind == Kind::File) {
        line += "_files";
      } else if (o.kind == Kind::Dir) {
        line += "_files -/";
      } else {
        line += " ";  // a message only: nothing to offer
      }
    }
    line += "'";
    lines.push_back(line);
  }
  return lines;
}

std::string zsh_spec_block(const std::vector<OptionSpec>& opts, const std::string& indent) {
  std::string s;
  for (const auto& l : zsh_specs(opts)) s += indent + l + " \\\n";
  return s;
}

constexpr std::string_view kZshTemplate = R"ZSH(#compdef poolrun
# zsh completion for poolrun. Generated by `poolrun --completion zsh` (@VERSION@) from poolrun's
# command-line definition; do not edit: it is rebuilt with poolrun. Install it as
# $PREFIX/share/zsh/site-functions/_poolrun (a directory in $fpath).

_poolrun() {
  local curcontext=$curcontext state state_descr line ret=1 i marker
  typeset -A opt_args

  # poolrun batch [options] [SPEC]: options and the spec file in any order.
  if (( CURRENT > 2 )) && [[ ${words[2]} == batch ]]; then
    shift words
    (( CURRENT-- ))
    curcontext=${curcontext%:*:*}:poolrun-batch:
    _arguments -s -S : \
@SPECS_BATCH@      '1:spec file:_files' && ret=0
    return ret
  fi

  # poolrun bench [options] TASK | -- COMMAND...: options and the task in any order.
  if (( CURRENT > 2 )) && [[ ${words[2]} == bench ]]; then
    shift words
    (( CURRENT-- ))
    curcontext=${curcontext%:*:*}:poolrun-bench:
    _arguments -s -S : \
@SPECS_BENCH@      '1:task (cpu\:N, io\:DURATION, read\:FILE, mix\:N,DURATION, square\:DURATION):_files' \
      '*::command:_normal' && ret=0
    return ret
  fi

  # poolrun report timeline|chart [options] FILE.
  if (( CURRENT > 2 )) && [[ ${words[2]} == report ]]; then
    if (( CURRENT == 3 )); then
      _values subcommand 'timeline[a Gantt chart of a --json report]' 'chart[a line chart of a JSON description]' && ret=0
      return ret
    fi
    case ${words[3]} in
      timeline)
        shift 2 words
        (( CURRENT -= 2 ))
        curcontext=${curcontext%:*:*}:poolrun-report-timeline:
        _arguments -s -S : \
@SPECS_REPORT_TIMELINE@          '1:report:_files' && ret=0 ;;
      chart)
        shift 2 words
        (( CURRENT -= 2 ))
        curcontext=${curcontext%:*:*}:poolrun-report-chart:
        _arguments -s -S : \
@SPECS_REPORT_CHART@          '1:chart description:_files' && ret=0 ;;
    esac
    return ret
  fi

  # poolrun [options] command [args...] [::: items...] [:::: argfiles...]: options end at the
  # first other word, which starts the command.
  _arguments -s -S -A '-*' : \
@SPECS_MAIN@    '(-)1:command:->command' \
    '(-)*::argument:->argument' && ret=0

  case $state in
    command)
      if (( CURRENT == 2 )); then
        _alternative \
          'subcommands:subcommand:((batch\:"run named jobs with dependencies from a JSON spec" bench\:"time a workload at several worker counts" report\:"draw a report as an SVG chart"))' \
          'commands:command:_command_names -e' && ret=0
      else
        _command_names -e && ret=0
      fi
      ;;
    argument)
      # words holds the command and what follows it: after ::: come items, after :::: argfiles.
      marker=
      for (( i = CURRENT - 1; i > 1; i-- )); do
        case ${words[i]} in
          (:::|:::+|::::|::::+) marker=${words[i]}; break ;;
        esac
      done
      if [[ -n $marker ]]; then
        _files && ret=0
      else
        _normal && ret=0
      fi
      ;;
  esac
  return ret
}

_poolrun "$@"
)ZSH";

std::string fill(std::string_view tmpl, const std::vector<std::pair<std::string, std::string>>& values) {
  std::string s(tmpl);
  for (const auto& [key, value] : values) s = replace_all(s, key, value);
  return s;
}

}  // namespace

bool is_completion_request(const std::vector<std::string>& argv) {
  return argv.size() >= 2 && (argv[1] == "--completion" || argv[1].rfind("--completion=", 0) == 0);
}

std::string completion_script(const CLI::App& main_app, const std::string& shell) {
  // Every subcommand's options, from the same definitions its parser uses.
  CLI::App batch_app{"poolrun batch", "poolrun batch"};
  BatchOptions batch_opts;
  setup_batch(batch_app, batch_opts);
  CLI::App bench_app{"poolrun bench", "poolrun bench"};
  BenchOptions bench_opts;
  setup_bench(bench_app, bench_opts);
  CLI::App report_app{"poolrun report", "poolrun report"};
  ReportOptions report_opts;
  ReportCommands report = setup_report(report_app, report_opts);
  const std::vector<std::pair<std::string, std::vector<OptionSpec>>> commands = {
      {"main", describe(main_app)},
      {"batch", describe(batch_app)},
      {"bench", describe(bench_app)},
      {"report_timeline", describe(*report.timeline)},
      {"report_chart", describe(*report.chart)}};
  auto of = [&](const std::string& name) -> const std::vector<OptionSpec>& {
    for (const auto& [n, o] : commands)
      if (n == name) return o;
    return commands.front().second;
  };
  std::string version = std::string("poolrun ") + POOLRUN_VERSION;
  if (shell == "bash") {
    std::string lists, kinds, choices;
    for (const auto& [name, opts] : commands) {
      lists += "_poolrun_options_" + name + "='" + bash_option_list(opts) + "'\n";
      // main is the default arm: the option words of a line without a subcommand.
      std::string label = name == "main" ? "*" : name;
      kinds += "    " + label + ")\n      case $2 in\n" + bash_kind_arms(opts, "        ") + "      esac ;;\n";
      choices += "    " + label + ")\n      case $2 in\n" + bash_choice_arms(opts, "        ") + "      esac ;;\n";
    }
    // `case` takes the first arm that matches: the catch-all main arm goes last.
    auto main_last = [](const std::string& arms) {
      std::size_t end = arms.find("      esac ;;\n") + std::string("      esac ;;\n").size();
      return arms.substr(end) + arms.substr(0, end);
    };
    return fill(kBashTemplate, {{"@VERSION@", version},
                                {"@OPTION_LISTS@", lists},
                                {"@KIND_ARMS@", main_last(kinds)},
                                {"@CHOICE_ARMS@", main_last(choices)}});
  }
  if (shell == "zsh") {
    return fill(kZshTemplate, {{"@VERSION@", version},
                               {"@SPECS_MAIN@", zsh_spec_block(of("main"), "    ")},
                               {"@SPECS_BATCH@", zsh_spec_block(of("batch"), "      ")},
                               {"@SPECS_BENCH@", zsh_spec_block(of("bench"), "      ")},
                               {"@SPECS_REPORT_TIMELINE@", zsh_spec_block(of("report_timeline"), "          ")},
                               {"@SPECS_REPORT_CHART@", zsh_spec_block(of("report_chart"), "          ")}});
  }
  throw UsageError("--completion: expected bash or zsh, got '" + shell + "'");
}

int completion_main(const CLI::App& main_app, const std::vector<std::string>& argv) {
  std::string shell;
  std::size_t extra = 2;
  if (argv[1] == "--completion") {
    if (argv.size() < 3) {
      print_error("--completion needs a value: bash or zsh");
      return 255;
    }
    shell = argv[2];
    extra = 3;
  } else {
    shell = argv[1].substr(std::string("--completion=").size());
  }
  if (argv.size() > extra) {
    print_error("--completion takes one value (bash or zsh), got also '" + argv[extra] + "'");
    return 255;
  }
  try {
    std::string script = completion_script(main_app, shell);
    if (std::fwrite(script.data(), 1, script.size(), stdout) != script.size() || std::fflush(stdout) != 0) {
      print_error(std::string("--completion: cannot write the script: ") + std::strerror(errno));
      return 255;
    }
  } catch (const UsageError& e) {
    print_error(e.what());
    return 255;
  }
  return 0;
}

}  // namespace poolrun::app
