// Per-user image transforms: how one person's camera differs from the one the data set was shot
// with. Deterministic, and bit-identical on every CPU.
//
// An image is `h` rows of `w` uint8 grey levels, row-major, 0 = background (Fashion-MNIST's
// convention). Apply() runs these stages in double precision and rounds once, at the end:
//
//   1. geometry: rotation by `rotation_degrees` about the image centre ((w-1)/2, (h-1)/2),
//      counter-clockwise as displayed (rows grow downwards), then a shift by (shift_x, shift_y)
//      pixels (right, down; fractions allowed). Each output pixel maps back to a source point
//      that is sampled bilinearly; source pixels outside the image read as 0.
//   2. blur: a separable Gaussian of standard deviation `blur_sigma` pixels (0 = none), radius
//      ceil(3 sigma), weights normalised to sum 1; pixels outside the image read as 0.
//   3. contrast: v = mean + contrast * (v - mean), about the mean of the image after stage 2
//      (so a contrast change alone keeps the image's mean; the background moves with it).
//   4. brightness: v += brightness (grey levels), then v is clamped to [0, 255].
//   5. gamma: v = 255 * (v / 255)^gamma.
//   6. noise: v += noise_std * z, z standard normal, one per pixel in row-major order, drawn
//      from an Rng seeded with `noise_seed` (so an image's noise depends only on that seed).
//   7. v is clamped to [0, 255] and rounded half up to uint8.
// A stage whose parameter is neutral (0 degrees and 0 shift, sigma 0, contrast 1, gamma 1,
// noise 0) is skipped, so the identity transform returns its input exactly. Rotation by a
// multiple of 90 degrees of a square image, and a shift by whole pixels, move pixel centres onto
// pixel centres and are therefore exact permutations (with 0 filled in).
//
// Portability: results must not depend on the C library or the CPU. So nothing here calls
// libm's transcendental functions (their last bits differ between implementations) or
// std::normal_distribution (its algorithm differs between standard libraries): the Rng is
// splitmix64, normal deviates come from Marsaglia's polar method, and log, exp and sin/cos are
// computed below from +, -, *, /, sqrt, floor and ldexp/frexp, which IEEE 754 defines exactly.
// The library is built with -ffp-contract=off so the compiler does not fuse a*b+c into one
// rounding on CPUs that have FMA (aarch64) and not on others.
#ifndef PERSEPHONEE_TRAINING_IMAGE_TRANSFORM_H_
#define PERSEPHONEE_TRAINING_IMAGE_TRANSFORM_H_

#include <cstdint>
#include <string>

#include "base/status.h"

namespace persephonee {

/// A deterministic pseudo-random number generator: splitmix64 (Steele, Lea, Flood 2014). Its
/// output depends only on the seed and the sequence of calls, on every platform.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}

  /// 64 uniformly random bits.
  uint64_t Next();
  /// A uniform double in [0, 1), a multiple of 2^-53.
  double Uniform();
  /// A uniform double in [lo, hi).
  double Uniform(double lo, double hi);
  /// A uniform integer in [0, n), without modulo bias; `n` must be > 0 (returns 0 if it is 0).
  uint64_t Below(uint64_t n);
  /// A standard normal deviate (Marsaglia's polar method; the second value of each pair is
  /// kept for the next call).
  double Normal();
  /// An exponential deviate with mean 1.
  double Exponential();

 private:
  uint64_t state_;
  bool has_spare_ = false;
  double spare_ = 0.0;
};

/// Mixes two 64-bit values into a seed (splitmix64's finaliser over both); used to derive
/// independent streams, e.g. the noise seed of image `index` of user `seed`.
uint64_t MixSeed(uint64_t a, uint64_t b);

/// Natural logarithm of `x` > 0, to within ~2 ulp, identical on every platform. Returns -inf
/// for 0 and NaN for negative or NaN input.
double PortableLog(double x);
/// e^x to within ~2 ulp, identical on every platform (0 below -745, +inf above 709.7).
double PortableExp(double x);
/// sin and cos of an angle in degrees, identical on every platform; exact (0, +-1) at multiples
/// of 90 degrees.
void PortableSinCosDegrees(double degrees, double* sine, double* cosine);

/// Everything that makes one user's pictures look the way they do. The default is the identity.
struct PersonalTransform {
  double brightness = 0.0;        ///< Grey levels added (stage 4); any finite value.
  double contrast = 1.0;          ///< Scale about the image mean (stage 3); finite, >= 0.
  double gamma = 1.0;             ///< Exponent on v/255 (stage 5); finite, > 0.
  double rotation_degrees = 0.0;  ///< Counter-clockwise as displayed (stage 1); finite.
  double shift_x = 0.0;           ///< Pixels to the right (stage 1); finite.
  double shift_y = 0.0;           ///< Pixels down (stage 1); finite.
  double blur_sigma = 0.0;        ///< Gaussian standard deviation in pixels (stage 2); [0, 10].
  double noise_std = 0.0;         ///< Noise standard deviation in grey levels (stage 6); >= 0.

  /// True if every stage is neutral (Apply then copies its input).
  bool IsIdentity() const;
  /// "rotation=... shift=(x,y) blur=... contrast=... brightness=... gamma=... noise=...".
  std::string ToString() const;
};

/// Checks that every parameter of `t` is in its documented range; kInvalidArgument naming the
/// parameter otherwise.
Status ValidateTransform(const PersonalTransform& t);

/// Transforms the `h` x `w` image at `in` into `out` (both h*w bytes, row-major; they may be the
/// same buffer) as described at the top of this file. `noise_seed` seeds stage 6; derive it
/// with MixSeed from the user's seed and the image's index so every image has its own noise
/// and the same image always gets the same noise. Fails with kInvalidArgument on a bad
/// parameter, a non-positive or oversized (> 4096) dimension or a null pointer.
Status Apply(const PersonalTransform& t, const uint8_t* in, uint8_t* out, int h, int w,
             uint64_t noise_seed);

}  // namespace persephonee

#endif  // PERSEPHONEE_TRAINING_IMAGE_TRANSFORM_H_
