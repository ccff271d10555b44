#pragma once

// The comparison report every student command prints (trd eval --agent,
// trd run, later the Python package): a subject's lists against reference
// lines on one split, with paired bootstrap intervals, written as Markdown,
// CSV, per-user CSV and JSON. It takes the lists each line produced, so it
// needs no agent and no LibTorch.

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "data/dataset.hpp"
#include "data/knowledge.hpp"
#include "data/metrics.hpp"
#include "data/user_items.hpp"

namespace trd {

/// One line of the report.
struct ReportLine {
  std::string name;  ///< JSON key and column name: "student", "teacher", "history_rerank", ...
  /// The lists it produced ([n_users, L]); nullopt: not applicable here.
  std::optional<RowMatrixXi> lists;
  /// Why it is not applicable, or what it is when it is no method (an upper
  /// bound that reads the labels); shown under the table and in the JSON.
  std::string note;
  bool upper_bound = false;  ///< reads held-out labels: a bound, never a method
};

/// The split the lines are judged on.
struct ReportSplit {
  const UserItems* held_out = nullptr;
  const UserItems* seen = nullptr;
  const UserItems* candidates = nullptr;  ///< null: full ranking
};

/// lines[0] (the subject) minus each line named in `references`, with 95%
/// paired bootstrap intervals per metric; a missing or not applicable
/// reference has no intervals.
struct ComparisonReport {
  std::vector<int> ks;
  std::vector<ReportLine> lines;
  std::vector<std::optional<Evaluation>> evaluations;  ///< per line; nullopt: not applicable
  struct Difference {
    std::string reference;           ///< the line subtracted
    std::string json_key;            ///< "difference", "difference_history_rerank"
    std::vector<Interval> intervals;  ///< per metric column; empty when the reference is n/a
  };
  std::vector<Difference> differences;

  const std::optional<Evaluation>& evaluation(const std::string& name) const;
};

/// Scores every line on `split` at `ks` and bootstraps lines[0] minus each
/// reference (1000 resamples from `seed`). `references` pairs a line name
/// with its JSON key ("teacher" -> "difference"). InputError from evaluate()
/// for bad cutoffs or an empty split.
ComparisonReport compare_lines(std::vector<ReportLine> lines, const ReportSplit& split,
                               const std::vector<int>& ks,
                               const std::vector<std::pair<std::string, std::string>>& references,
                               uint64_t seed);

/// The Markdown table: one row per metric, one column per line, then each
/// difference with its interval; notes (upper bounds, lines not applicable)
/// follow the table. `heading` goes first, as given.
std::string report_markdown(const ComparisonReport& report, const std::string& heading);

/// metric,k, one column per line, then difference,low,high per reference
/// (suffixed _<reference> after the first), and `extra_columns` on every row.
std::string report_csv(const ComparisonReport& report,
                       const std::vector<std::pair<std::string, std::string>>& extra_columns);

/// One row per evaluated user (raw id): <line>:<metric>@<k> for every line;
/// empty cells for a line that is not applicable. Seeds can be pooled user
/// by user from it.
std::string report_per_user_csv(const ComparisonReport& report, const RawIds& users);

/// Each line under its name (metrics keyed like "ndcg@5", mean_first_hit,
/// note, upper_bound; null when not applicable) and each difference under
/// its key ({metric: {difference, low, high}}), merged into `figures`.
void add_report_json(const ComparisonReport& report, nlohmann::json& figures);

/// `value` with four decimals, as the reports print figures.
std::string fixed4(double value);

}  // namespace trd
