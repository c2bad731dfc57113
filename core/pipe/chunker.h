// Cutting a byte stream into chunks of whole records, for --pipe and --pipepart (GNU parallel's
// "SPREADING BLOCKS OF DATA"): a record ends with --recend and/or starts with --recstart, a chunk
// is a run of whole records about --block bytes long (or exactly -N records), and a header may be
// repeated at the top of every chunk. Pure logic over bytes: no I/O here.
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace poolrun::core {

/// How records and chunks are delimited. Semantics as GNU parallel 20221122's --pipe:
///  - a split position is an index p (0 < p) where the `recend` bytes end and the `recstart` bytes
///    begin (both must match when both are given); with both empty every byte is a record;
///  - `lines_per_record` (-L n) groups n such units into one record (e.g. -L 4 for FASTQ);
///  - `records` (-N n) > 0: every chunk holds exactly n records (the last may hold fewer), whatever
///    its size; 0: a chunk is the longest run of whole records of at most `block` bytes, or a
///    single record when one record is longer than `block`.
struct ChunkOptions {
  std::string recend = "\n";
  std::string recstart;
  std::size_t lines_per_record = 1;  ///< -L; 0 counts as 1
  std::uint64_t block = 1u << 20;    ///< --block, bytes (>= 1)
  std::size_t records = 0;           ///< -N; 0: cut by block size
};

/// --header for --pipe: the first `lines` lines ("\n"-terminated), or the text a regular
/// expression (ECMAScript) matches at the very start of the input (within its first 64 KiB).
struct HeaderSpec {
  std::size_t lines = 0;
  std::string regex;  ///< non-empty: match this instead of counting lines
  bool empty() const { return lines == 0 && regex.empty(); }
  /// Parses GNU parallel's --header argument as --pipe reads it: ":" is one line, a number N is N
  /// lines, anything else a regular expression. Throws UsageError for a bad regular expression.
  static HeaderSpec parse(const std::string& spec);
};

/// Finds split positions and chunk boundaries in buffered input. Stateless between calls: each
/// call looks at the bytes it is given, which start at a record start (a chunk boundary).
class RecordCutter {
 public:
  static constexpr std::size_t npos = std::string_view::npos;

  /// Takes the record and chunk options (a zero block counts as 1 byte). Never throws.
  explicit RecordCutter(ChunkOptions opt);

  /// The first split position p > `from` in `data` (a split needs its recend and recstart bytes
  /// inside `data`), or npos. With -L, counts single units (lines), not records.
  std::size_t next_split(std::string_view data, std::size_t from) const;

  /// The length of the first chunk of `data` (which starts at a record start), or 0 when it
  /// cannot be known yet: more bytes are needed (only when !eof; at eof every remaining byte
  /// belongs to some chunk, the last record passed as it is without its terminator). 0 also for
  /// empty data.
  std::size_t cut(std::string_view data, bool eof) const;

  /// The number of records in a chunk produced by cut() (its last record may lack a terminator).
  std::size_t count_records(std::string_view chunk) const;

  /// For --pipepart, as GNU parallel 20221122 cuts a file (find_split_positions: a chunk ends
  /// at the first split found from --block bytes past its start): the split that a cut aimed at
  /// byte `target` of `data` gives — the end of the recend of the first recend+recstart match
  /// that starts at or after `target` (with both empty: `target` itself) — or npos when `data`
  /// holds no such match (read a larger window, or the file's end is the boundary). A record
  /// boundary exactly at `target` is not taken when there is a recend: its match starts before
  /// `target`. So a chunk is never empty and never ends inside a record.
  std::size_t part_split(std::string_view data, std::size_t target) const;

  /// The options in force.
  const ChunkOptions& options() const { return opt_; }

 private:
  std::size_t cut_by_records(std::string_view data, bool eof) const;
  std::size_t cut_by_block(std::string_view data, bool eof) const;

  ChunkOptions opt_;
  std::string pattern_;  // recend + recstart
  std::size_t unit_ = 1;
};

/// The length of the header at the start of `data`, or nullopt when more bytes are needed (only
/// when !eof). Returns 0 when the header spec is empty or a regular expression does not match.
std::optional<std::size_t> header_length(const HeaderSpec& spec, std::string_view data, bool eof);

}  // namespace poolrun::core
