#include "app/pipe_options.h"

#include "core/errors.h"
#include "core/input/split.h"
#include "core/units.h"

namespace poolrun::app {

using poolrun::UsageError;

void add_pipe_options(OptionBinder& b, PipeOptions& o) {
  b.add_flag("--pipe,--spreadstdin", o.pipe, "Cut stdin into chunks of whole records; each chunk is one job's stdin");
  b.add_flag("--pipepart,--pipe-part", o.pipepart, "Like --pipe over the file given with -a, sent as byte ranges (no copying)");
  b.add_option("--block,--block-size", o.block, "With --pipe: chunk size in bytes, k/M/G suffixes (default 1M)")
      ->type_name("SIZE");
  b.add_option("-L", o.lines, "With --pipe: a record is N lines (e.g. 4 for FASTQ)")
      ->check(CLI::Range(1LL, 1000000000LL))
      ->type_name("N");
  b.add_option("--recend", o.recend, "With --pipe: records end with STR (C escapes; default \\n; '' for none)")
      ->type_name("STR");
  b.add_option("--recstart", o.recstart, "With --pipe: records start with STR (C escapes)")->type_name("STR");
  b.add_flag("--round-robin,--round", o.round_robin, "With --pipe: start the -j jobs once and give each chunk to whichever job can take it");
}

namespace {
std::string escapes(const std::string& opt, const std::string& v) {
  if (v.empty()) return v;
  try {
    return core::parse_delimiter(v);
  } catch (const UsageError& e) {
    throw UsageError(opt + ": " + e.what());
  }
}
}  // namespace

void apply_pipe_options(const PipeOptions& o, std::optional<long long> max_args, bool null,
                        const std::string& header, core::RunConfig& c) {
  using Mode = core::PipeConfig::Mode;
  core::PipeConfig& p = c.pipe;
  if (!o.enabled()) {
    if (o.round_robin) throw UsageError("--round-robin needs --pipe");
    if (!o.block.empty() || o.lines || o.recend || o.recstart)
      throw UsageError("--block, -L, --recend and --recstart need --pipe or --pipepart");
    return;
  }
  p.mode = o.pipepart ? Mode::Part : Mode::Stdin;
  p.round_robin = o.round_robin;
  if (!o.block.empty()) {
    try {
      p.chunk.block = core::parse_size(o.block);
    } catch (const UsageError& e) {
      throw UsageError(std::string("--block: ") + e.what());
    }
  }
  if (o.lines) p.chunk.lines_per_record = static_cast<std::size_t>(*o.lines);
  if (max_args) {
    if (*max_args < 1) throw UsageError("-N: with --pipe, the number of records per chunk must be at least 1");
    p.chunk.records = static_cast<std::size_t>(*max_args);
  }
  if (null) p.chunk.recend = std::string(1, '\0');
  if (o.recend) p.chunk.recend = escapes("--recend", *o.recend);
  if (o.recstart) {
    p.chunk.recstart = escapes("--recstart", *o.recstart);
    if (!o.recend) p.chunk.recend.clear();  // as GNU parallel: --recstart alone splits before it
  }
  if (!header.empty()) p.header = core::HeaderSpec::parse(header);
  if (p.round_robin && c.keep_order)
    throw UsageError("--round-robin cannot keep the output order (-k): a job takes many chunks");
  if (p.round_robin && p.mode == Mode::Part) throw UsageError("--round-robin works with --pipe, not --pipepart");
  if (c.dry_run) throw UsageError("--dry-run does not work with --pipe or --pipepart");
  if (c.xargs) throw UsageError("-X does not work with --pipe or --pipepart");
  if (c.retry_failed || c.resume != core::RunConfig::Resume::None)
    throw UsageError("--resume and --retry-failed do not work with --pipe or --pipepart");
  if (p.mode == Mode::Part) {
    if (max_args || o.lines) throw UsageError("-N and -L do not work with --pipepart (use --pipe)");
    if (c.sources.size() != 1 || c.sources[0].kind != core::InputSource::Kind::File || c.sources[0].path == "-")
      throw UsageError("--pipepart needs exactly one file, given with -a FILE");
    p.file = c.sources[0].path;
    c.sources.clear();
  } else if (!c.sources.empty()) {
    throw UsageError("--pipe reads stdin: ::: and :::: and -a do not go with it (use --pipepart -a FILE)");
  }
}

}  // namespace poolrun::app
