#ifndef PERSEPHONEE_BASE_VERSION_H_
#define PERSEPHONEE_BASE_VERSION_H_

/// The persephonee release, printed by `persephonee --version`.
#define PERSEPHONEE_VERSION "0.1.0"

#endif  // PERSEPHONEE_BASE_VERSION_H_
