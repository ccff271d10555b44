#include "teachers/teacher.hpp"

#include <algorithm>
#include <numeric>
#include <stdexcept>

#include "data/error.hpp"
#include "data/ranking.hpp"

namespace trd {

TrainingSet training_set(const Dataset& dataset, Split stage) {
  TrainingSet data;
  data.n_users = dataset.n_users();
  data.n_items = dataset.n_items();
  std::vector<const InteractionTable*> before;
  for (int s = 0; s < stage; ++s) before.push_back(&dataset.splits[s]);
  std::size_t rows = 0;
  for (const InteractionTable* table : before) rows += table->size();
  data.interactions.reserve(rows);
  for (const InteractionTable* table : before) {
    for (std::size_t row = 0; row < table->size(); ++row) data.interactions.append_row(*table, row);
  }
  data.seen = UserItems(before, data.n_users);
  return data;
}

void dot_product_scores(const RowMatrixXf& user_table, const RowMatrixXf& item_table,
                        const std::vector<int32_t>& users, RowMatrixXf& out) {
  RowMatrixXf batch(static_cast<Eigen::Index>(users.size()), user_table.cols());
  for (std::size_t row = 0; row < users.size(); ++row) {
    if (users[row] < 0 || users[row] >= user_table.rows()) {
      throw std::out_of_range("user " + std::to_string(users[row]) + " is outside the fitted [0, " +
                              std::to_string(user_table.rows()) + ")");
    }
    batch.row(static_cast<Eigen::Index>(row)) = user_table.row(users[row]);
  }
  out.resize(batch.rows(), item_table.rows());
  out.noalias() = batch * item_table.transpose();
}

Knowledge distill(const Teacher& teacher, const std::string& teacher_name, const Dataset& dataset,
                  Split stage, const TrainingSet& data, int list_length,
                  const UserItems* candidates) {
  if (list_length < 1) {
    throw InputError("--list-length " + std::to_string(list_length) + ": must be at least 1");
  }
  Knowledge knowledge;
  knowledge.teacher = teacher_name;
  knowledge.dataset = dataset.provenance.name;
  knowledge.dataset_fingerprint = dataset_fingerprint(dataset);
  knowledge.stage = kSplitNames[stage];
  knowledge.n_users = data.n_users;
  knowledge.n_items = data.n_items;
  knowledge.ranking_items.resize(data.n_users, list_length);
  knowledge.ranking_scores.resize(data.n_users, list_length);
  // About 16 MB of scores per batch, whatever the catalogue size.
  const int32_t batch = std::max<int32_t>(1, (1 << 22) / std::max<int32_t>(1, data.n_items));
  RowMatrixXf scores;
  std::vector<int32_t> users;
  for (int32_t first = 0; first < data.n_users; first += batch) {
    users.resize(static_cast<std::size_t>(std::min(batch, data.n_users - first)));
    std::iota(users.begin(), users.end(), first);
    teacher.score(users, scores);
    top_items(scores, users, data.seen, candidates, first, knowledge.ranking_items,
              knowledge.ranking_scores);
  }
  teacher.export_state(knowledge);
  return knowledge;
}

}  // namespace trd
