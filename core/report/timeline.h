// A run's timeline: the jobs of a `poolrun --json` report (docs/reports.md) as a Gantt chart, one
// lane per job slot.
#pragma once
#include <cstddef>
#include <string>
#include <string_view>

#include "core/report/plot.h"

namespace poolrun::core {

/// What a report's jobs say about the use of the job slots. Times in seconds.
struct TimelineStats {
  std::size_t jobs = 0;     ///< job records drawn (those with a slot >= 1)
  std::size_t failed = 0;   ///< of which failed (status "failed": exit status not 0, signal, timeout, no start)
  std::size_t skipped = 0;  ///< records without a slot (skipped batch jobs), not drawn
  std::size_t slots = 0;    ///< lanes: the highest slot number used (slots never used are not drawn)
  std::size_t slots_asked = 0;  ///< config.jobs of the report (-j after resolving)
  double wall = 0;          ///< from the first job's start to the last job's end
  double busy = 0;          ///< sum of the jobs' end - start
  double utilisation = 0;   ///< busy / (slots * wall), 0..1; 0 when wall is 0
};

/// A report's timeline: the chart and the figures of its summary line.
struct Timeline {
  plot::Gantt gantt;
  TimelineStats stats;
};

/// Builds the timeline of `json_text`, the text of a `poolrun --json` report (or `poolrun batch
/// --json`). `name` names the input in errors (a file name, "<stdin>"). The x axis is seconds since
/// the earliest job start; lane i is job slot i + 1 ("slot 1" at the top); each job is one bar from
/// its start to its end (Unix times in the report), coloured by how it ended (signal > 0: killed;
/// else status "failed": failed), with a tooltip giving seq (and name), slot, command (cut at 300
/// bytes), start offset, duration and the exit status or signal. The summary line gives jobs, failed,
/// slots, wall and utilisation. Throws InputError "NAME: ..." when the text is not JSON, is a --jsonl
/// file, is not a run report (no "tool": "poolrun"; a --map report, a bench report, a chart
/// description...: the message says what it is and what is expected), or a job record lacks or mistypes seq, slot,
/// start, end, exit_code, signal, status or command (naming the record, e.g. "jobs[3]").
Timeline timeline_from_report(std::string_view json_text, const std::string& name);

}  // namespace poolrun::core
