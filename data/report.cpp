#include "data/report.hpp"

#include <cstdio>
#include <sstream>
#include <stdexcept>

namespace trd {
namespace {

constexpr int kResamples = 1000;
constexpr const char* kNotApplicable = "n/a";

std::string interval_text(const Interval& d) {
  return fixed4(d.mean_difference) + " [" + fixed4(d.low) + ", " + fixed4(d.high) + "]";
}

std::string column_name(const ReportLine& line) {
  return line.upper_bound ? line.name + " (upper bound)" : line.name;
}

}  // namespace

std::string fixed4(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.4f", value);
  return text;
}

const std::optional<Evaluation>& ComparisonReport::evaluation(const std::string& name) const {
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (lines[i].name == name) return evaluations[i];
  }
  throw std::out_of_range("the report has no line '" + name + "'");
}

ComparisonReport compare_lines(std::vector<ReportLine> lines, const ReportSplit& split,
                               const std::vector<int>& ks,
                               const std::vector<std::pair<std::string, std::string>>& references,
                               uint64_t seed) {
  if (lines.empty() || !lines.front().lists) {
    throw std::invalid_argument("compare_lines: the first line (the subject) needs lists");
  }
  ComparisonReport report;
  report.ks = ks;
  for (const ReportLine& line : lines) {
    report.evaluations.push_back(
        line.lists ? std::optional<Evaluation>(
                         evaluate(*line.lists, *split.held_out, *split.seen, split.candidates, ks))
                   : std::nullopt);
  }
  report.lines = std::move(lines);
  const Evaluation& subject = *report.evaluations.front();
  for (const auto& [reference, key] : references) {
    ComparisonReport::Difference difference{reference, key, {}};
    if (const std::optional<Evaluation>& other = report.evaluation(reference)) {
      difference.intervals =
          paired_bootstrap_columns(subject.per_user, other->per_user, kResamples, seed);
    }
    report.differences.push_back(std::move(difference));
  }
  return report;
}

std::string report_markdown(const ComparisonReport& report, const std::string& heading) {
  const std::string& subject = report.lines.front().name;
  std::ostringstream md;
  md << heading << "\n| metric |";
  for (const ReportLine& line : report.lines) md << " " << column_name(line) << " |";
  for (const auto& difference : report.differences) {
    md << " " << subject << " - " << difference.reference << " [95% CI] |";
  }
  md << "\n| --- |";
  for (std::size_t i = 0; i < report.lines.size() + report.differences.size(); ++i) md << " ---: |";
  md << "\n";
  for (int m = 0; m < kNumMetrics; ++m) {
    for (std::size_t j = 0; j < report.ks.size(); ++j) {
      const Eigen::Index c = static_cast<Eigen::Index>(m * report.ks.size() + j);
      md << "| " << metric_key(m, report.ks[j]) << " |";
      for (const auto& evaluation : report.evaluations) {
        md << " " << (evaluation ? fixed4(evaluation->mean[c]) : kNotApplicable) << " |";
      }
      for (const auto& difference : report.differences) {
        md << " "
           << (difference.intervals.empty()
                   ? std::string(kNotApplicable)
                   : interval_text(difference.intervals[static_cast<std::size_t>(c)]))
           << " |";
      }
      md << "\n";
    }
  }
  md << "\nMean first-hit position:";
  for (std::size_t i = 0; i < report.lines.size(); ++i) {
    md << (i > 0 ? "," : "") << " " << report.lines[i].name << " "
       << (report.evaluations[i] ? fixed4(report.evaluations[i]->mean_first_hit) : kNotApplicable);
  }
  md << "\n";
  for (const ReportLine& line : report.lines) {
    if (!line.note.empty()) md << "\n" << line.name << ": " << line.note << "\n";
  }
  return md.str();
}

std::string report_csv(const ComparisonReport& report,
                       const std::vector<std::pair<std::string, std::string>>& extra_columns) {
  std::ostringstream csv;
  csv.precision(10);
  csv << "metric,k";
  for (const ReportLine& line : report.lines) csv << "," << line.name;
  for (std::size_t d = 0; d < report.differences.size(); ++d) {
    const std::string suffix = d == 0 ? "" : "_" + report.differences[d].reference;
    csv << ",difference" << suffix << ",low" << suffix << ",high" << suffix;
  }
  for (const auto& [name, value] : extra_columns) csv << "," << name;
  csv << "\n";
  for (int m = 0; m < kNumMetrics; ++m) {
    for (std::size_t j = 0; j < report.ks.size(); ++j) {
      const Eigen::Index c = static_cast<Eigen::Index>(m * report.ks.size() + j);
      csv << kMetricNames[m] << "," << report.ks[j];
      for (const auto& evaluation : report.evaluations) {
        csv << ",";
        if (evaluation) csv << evaluation->mean[c];
      }
      for (const auto& difference : report.differences) {
        if (difference.intervals.empty()) {
          csv << ",,,";
          continue;
        }
        const Interval& d = difference.intervals[static_cast<std::size_t>(c)];
        csv << "," << d.mean_difference << "," << d.low << "," << d.high;
      }
      for (const auto& [name, value] : extra_columns) csv << "," << value;
      csv << "\n";
    }
  }
  return csv.str();
}

std::string report_per_user_csv(const ComparisonReport& report, const RawIds& users) {
  std::ostringstream csv;
  csv.precision(10);
  csv << "user";
  for (const ReportLine& line : report.lines) {
    for (int m = 0; m < kNumMetrics; ++m) {
      for (int k : report.ks) csv << "," << line.name << ":" << metric_key(m, k);
    }
  }
  csv << "\n";
  const Evaluation& subject = *report.evaluations.front();
  const Eigen::Index columns = static_cast<Eigen::Index>(kNumMetrics * report.ks.size());
  for (std::size_t r = 0; r < subject.users.size(); ++r) {
    csv << users.to_string(subject.users[r]);
    for (const auto& evaluation : report.evaluations) {
      for (Eigen::Index c = 0; c < columns; ++c) {
        csv << ",";
        if (evaluation) csv << evaluation->per_user(static_cast<Eigen::Index>(r), c);
      }
    }
    csv << "\n";
  }
  return csv.str();
}

void add_report_json(const ComparisonReport& report, nlohmann::json& figures) {
  for (std::size_t i = 0; i < report.lines.size(); ++i) {
    const ReportLine& line = report.lines[i];
    const std::optional<Evaluation>& evaluation = report.evaluations[i];
    nlohmann::json& out = figures[line.name];
    out = nullptr;
    if (evaluation) {
      out["mean_first_hit"] = evaluation->mean_first_hit;
      for (int m = 0; m < kNumMetrics; ++m) {
        for (std::size_t j = 0; j < report.ks.size(); ++j) {
          out[metric_key(m, report.ks[j])] =
              evaluation->mean[static_cast<Eigen::Index>(m * report.ks.size() + j)];
        }
      }
      if (line.upper_bound) out["upper_bound"] = true;
      if (!line.note.empty()) out["note"] = line.note;
    }
    if (!evaluation) figures["not_applicable"][line.name] = line.note;
  }
  for (const auto& difference : report.differences) {
    nlohmann::json& out = figures[difference.json_key];
    out = nullptr;
    for (int m = 0; m < kNumMetrics && !difference.intervals.empty(); ++m) {
      for (std::size_t j = 0; j < report.ks.size(); ++j) {
        const Interval& d = difference.intervals[m * report.ks.size() + j];
        out[metric_key(m, report.ks[j])] = {
            {"difference", d.mean_difference}, {"low", d.low}, {"high", d.high}};
      }
    }
  }
}

}  // namespace trd
