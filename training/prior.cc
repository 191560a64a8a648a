#include "training/prior.h"

#include <algorithm>
#include <cmath>

namespace persephonee {
namespace {

size_t Argmax(const double* row, int classes) {
  return static_cast<size_t>(std::max_element(row, row + classes) - row);
}

}  // namespace

TeacherCorrection IdentityTeacher(int classes) {
  TeacherCorrection t;
  t.classes = classes;
  const size_t c = static_cast<size_t>(classes);
  t.prior.assign(c, 1.0 / static_cast<double>(c));
  t.logit_shift.assign(c, 0.0f);
  t.confusion.assign(c * c, 0.0f);
  for (size_t j = 0; j < c; ++j) t.confusion[j * c + j] = 1.0f;
  return t;
}

void SoftmaxRows(const float* logits, size_t count, int classes, std::vector<double>* probs) {
  const size_t c = static_cast<size_t>(classes);
  probs->resize(count * c);
  for (size_t i = 0; i < count; ++i) {
    const float* x = logits + i * c;
    double* p = probs->data() + i * c;
    const double m = *std::max_element(x, x + c);
    double sum = 0;
    for (size_t j = 0; j < c; ++j) sum += p[j] = std::exp(static_cast<double>(x[j]) - m);
    for (size_t j = 0; j < c; ++j) p[j] /= sum;
  }
}

StatusOr<TeacherCorrection> EstimateTeacher(const std::vector<float>& logits, int classes,
                                            const std::vector<int32_t>& labels,
                                            const std::vector<double>& training_prior,
                                            const PriorOptions& options) {
  ENSURE(classes >= 1, "prior: classes must be at least 1, got ", classes);
  const size_t c = static_cast<size_t>(classes);
  ENSURE(logits.size() % c == 0, "prior: ", logits.size(), " logits for ", classes, " classes");
  const size_t n = logits.size() / c;
  ENSURE(labels.size() == n, "prior: ", labels.size(), " labels for ", n, " samples");
  ENSURE(training_prior.empty() || training_prior.size() == c, "prior: the training prior has ",
         training_prior.size(), " classes, expected ", classes);
  ENSURE(options.shrinkage >= 0 && options.confusion_smoothing >= 0,
         "prior: shrinkage and smoothing must be non-negative");
  for (size_t i = 0; i < logits.size(); ++i) {
    ENSURE(std::isfinite(logits[i]), "prior: logit ", i % c, " of sample ", i / c,
           " is not finite");
  }
  for (size_t i = 0; i < n; ++i) {
    ENSURE(labels[i] >= -1 && labels[i] < classes, "prior: label ", labels[i], " of sample ", i,
           " is not a class (0..", classes - 1, ") nor -1");
  }
  std::vector<double> pt(c, 1.0 / static_cast<double>(c));
  if (!training_prior.empty()) {
    double sum = 0;
    for (double v : training_prior) {
      ENSURE(v > 0 && std::isfinite(v), "prior: the training prior must be positive");
      sum += v;
    }
    for (size_t j = 0; j < c; ++j) pt[j] = training_prior[j] / sum;
  }

  TeacherCorrection t;
  t.classes = classes;
  std::vector<double> p;
  SoftmaxRows(logits.data(), n, classes, &p);

  // EM with the labelled posteriors fixed.
  std::vector<double> prior = pt, next(c), w(c);
  const double a = options.shrinkage * static_cast<double>(n);
  for (int it = 0; it < options.max_iterations && n > 0; ++it) {
    std::fill(next.begin(), next.end(), 0.0);
    for (size_t i = 0; i < n; ++i) {
      if (labels[i] >= 0) {
        next[static_cast<size_t>(labels[i])] += 1.0;
        continue;
      }
      double sum = 0;
      for (size_t j = 0; j < c; ++j) sum += w[j] = prior[j] / pt[j] * p[i * c + j];
      if (sum <= 0) continue;
      for (size_t j = 0; j < c; ++j) next[j] += w[j] / sum;
    }
    double move = 0;
    for (size_t j = 0; j < c; ++j) {
      const double v = (next[j] + a * pt[j]) / (static_cast<double>(n) + a);
      move = std::max(move, std::abs(v - prior[j]));
      prior[j] = v;
    }
    t.em_iterations = it + 1;
    if (move < options.tolerance) break;
  }
  t.prior = prior;
  t.logit_shift.resize(c);
  for (size_t j = 0; j < c; ++j) {
    t.logit_shift[j] = static_cast<float>(std::log(std::max(prior[j], 1e-12)) - std::log(pt[j]));
  }

  // The prior-corrected teacher's answers on the labelled samples.
  std::vector<float> shifted(logits);
  for (size_t i = 0; i < n; ++i) {
    for (size_t j = 0; j < c; ++j) shifted[i * c + j] += t.logit_shift[j];
  }
  SoftmaxRows(shifted.data(), n, classes, &p);
  std::vector<double> counts(c * c, 0.0);
  std::vector<size_t> said(n);
  std::vector<char> user_class(c, 0);
  int64_t right = 0;
  for (size_t i = 0; i < n; ++i) {
    said[i] = Argmax(p.data() + i * c, classes);
    if (labels[i] < 0) continue;
    ++t.labelled;
    user_class[static_cast<size_t>(labels[i])] = 1;
    counts[said[i] * c + static_cast<size_t>(labels[i])] += 1.0;
    right += said[i] == static_cast<size_t>(labels[i]) ? 1 : 0;
  }
  t.confusion.assign(c * c, 0.0f);
  for (size_t j = 0; j < c; ++j) t.confusion[j * c + j] = 1.0f;
  if (t.labelled == 0) return t;
  t.teacher_accuracy = static_cast<double>(right) / static_cast<double>(t.labelled);
  size_t seen_classes = 0;
  for (char u : user_class) seen_classes += u ? 1 : 0;
  const double chance = 1.0 / static_cast<double>(std::max<size_t>(seen_classes, 1));
  auto rescale = [&](double acc) {
    return seen_classes <= 1 ? (acc >= 1.0 ? 1.0 : 0.0)
                             : std::min(1.0, std::max(0.0, (acc - chance) / (1.0 - chance)));
  };
  if (t.labelled < options.min_labels_for_confusion) {
    t.corrected_accuracy = t.teacher_accuracy;
    t.trust = rescale(t.teacher_accuracy);
    return t;
  }

  // Leave-one-out accuracy of q = p M, each labelled sample's own count taken out of M.
  const double s = options.confusion_smoothing;
  std::vector<double> row_sum(c, 0.0);
  for (size_t i = 0; i < c; ++i) {
    for (size_t j = 0; j < c; ++j) row_sum[i] += counts[i * c + j];
  }
  auto m_entry = [&](size_t i, size_t j, size_t skip_row, size_t skip_col) {
    double num = counts[i * c + j] + (i == j ? s : 0.0);
    double den = row_sum[i] + s;
    if (i == skip_row) {
      den -= 1.0;
      if (j == skip_col) num -= 1.0;
    }
    return den > 0 ? num / den : (i == j ? 1.0 : 0.0);
  };
  int64_t loo_right = 0;
  std::vector<double> q(c);
  for (size_t n_i = 0; n_i < n; ++n_i) {
    if (labels[n_i] < 0) continue;
    const size_t y = static_cast<size_t>(labels[n_i]);
    std::fill(q.begin(), q.end(), 0.0);
    for (size_t i = 0; i < c; ++i) {
      const double pi = p[n_i * c + i];
      if (pi < 1e-9) continue;
      for (size_t j = 0; j < c; ++j) q[j] += pi * m_entry(i, j, said[n_i], y);
    }
    loo_right += Argmax(q.data(), classes) == y ? 1 : 0;
  }
  t.corrected_accuracy = static_cast<double>(loo_right) / static_cast<double>(t.labelled);
  for (size_t i = 0; i < c; ++i) {
    for (size_t j = 0; j < c; ++j) {
      t.confusion[i * c + j] = static_cast<float>(m_entry(i, j, c, c));
    }
  }
  t.confusion_measured = true;
  t.trust = rescale(t.corrected_accuracy);
  return t;
}

void CorrectTeacherLogits(const TeacherCorrection& t, const float* logits, size_t count,
                          float* out) {
  const size_t c = static_cast<size_t>(t.classes);
  std::vector<float> shifted(count * c);
  for (size_t i = 0; i < count; ++i) {
    for (size_t j = 0; j < c; ++j) shifted[i * c + j] = logits[i * c + j] + t.logit_shift[j];
  }
  if (!t.confusion_measured) {  // log softmax of the shifted logits is all there is to it
    std::copy(shifted.begin(), shifted.end(), out);
    return;
  }
  std::vector<double> p;
  SoftmaxRows(shifted.data(), count, t.classes, &p);
  std::vector<double> q(c);
  for (size_t n = 0; n < count; ++n) {
    std::fill(q.begin(), q.end(), 0.0);
    for (size_t i = 0; i < c; ++i) {
      const double pi = p[n * c + i];
      if (pi == 0.0) continue;
      const float* row = t.confusion.data() + i * c;
      for (size_t j = 0; j < c; ++j) q[j] += pi * row[j];
    }
    for (size_t j = 0; j < c; ++j) {
      out[n * c + j] = static_cast<float>(std::log(std::max(q[j], 1e-12)));
    }
  }
}

}  // namespace persephonee
